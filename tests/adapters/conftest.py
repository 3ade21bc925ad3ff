"""Fixtures of the adapter tests: an HTTP client and an in-memory outbox.

The vendor servers and `live_settings` come from the tests.vendors.plugin pytest plugin.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from functools import cache

import httpx
import pytest

from activities.adapters.base import OutboxMessage


class MemoryOutbox:
    """Test double of the OutboxSink protocol: keeps what adapters would have sent."""

    def __init__(self) -> None:
        self.messages: list[OutboxMessage] = []

    async def write(self, message: OutboxMessage) -> None:
        self.messages.append(message)

    def only(self) -> OutboxMessage:
        """The single message written; fails if there is not exactly one."""
        assert len(self.messages) == 1, self.messages
        return self.messages[0]


@pytest.fixture
def outbox() -> MemoryOutbox:
    return MemoryOutbox()


@cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs ~70 ms: do it once, not for every test's client.
    return ssl.create_default_context()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: never pick up proxy settings; every test talks to 127.0.0.1 only.
    async with httpx.AsyncClient(timeout=5.0, trust_env=False, verify=_tls()) as client:
        yield client
