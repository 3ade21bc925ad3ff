"""A small in-process TTL cache, handed to the adapters that read (the CRM lookups).

Created by whoever builds the adapters (`build_adapters`, a test) and passed in: there is no
module-level cache, so tests and processes never share entries by accident. Thread-safe
enough for one event loop (no awaits inside), bounded by `max_entries` (oldest entry evicted
first), with an injectable clock for tests.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Key -> value for `ttl_seconds` after it was stored (0 disables caching)."""

    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        """The value stored under `key` if it has not expired, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    def set(self, key: str, value: V, *, ttl_seconds: float | None = None) -> None:
        """Store `value` for `ttl_seconds` (default: the cache's TTL)."""
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        if ttl <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + ttl, value)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
