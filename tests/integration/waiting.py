"""Polling helper for tests that watch real servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], T], within: float = 30.0) -> T:
    """Poll until `probe()` returns something truthy, and return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (value := probe()):
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.05)
    return value
