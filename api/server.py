"""How `escalation api` serves the app: uvicorn with the httptools parser and the uvloop event
loop when both are importable (dependencies; uvloop is not built for Windows), else uvicorn's
pure-Python h11 parser and the standard asyncio loop. The worker does not use this: only the
API process serves HTTP.

The choice is logged once at start (`api_http_stack`), so a deployment that lost a compiled
wheel says so instead of just answering slower.
"""

from __future__ import annotations

import importlib
from typing import Literal, TypedDict

import structlog

log = structlog.get_logger("escalation.api.server")

HttpParser = Literal["httptools", "h11"]
EventLoop = Literal["uvloop", "asyncio"]


class UvicornStack(TypedDict):
    """The `uvicorn.run`/`uvicorn.Config` keyword arguments that pick the HTTP stack."""

    http: HttpParser
    loop: EventLoop


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def http_stack() -> UvicornStack:
    """httptools + uvloop where importable, each falling back on its own (h11, asyncio)."""
    return UvicornStack(
        http="httptools" if _importable("httptools") else "h11",
        loop="uvloop" if _importable("uvloop") else "asyncio",
    )


def uvicorn_stack(host: str, port: int) -> UvicornStack:
    """`http_stack()`, logged as the API's start-up line; pass it on to `uvicorn.run`."""
    stack = http_stack()
    log.info("api_http_stack", host=host, port=port, http=stack["http"], loop=stack["loop"])
    return stack
