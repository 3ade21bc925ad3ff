"""`escalation api`'s HTTP stack (api/server.py): httptools + uvloop when importable, each
falling back on its own to h11 / asyncio, and the choice logged at start."""

from __future__ import annotations

import sys

import pytest
import uvicorn
from fastapi import FastAPI
from structlog.testing import capture_logs

from api.server import http_stack, uvicorn_stack


def test_httptools_and_uvloop_when_installed() -> None:
    # Both are dependencies (pyproject.toml), so an installed checkout gets the fast stack.
    assert http_stack() == {"http": "httptools", "loop": "uvloop"}


@pytest.mark.parametrize(
    ("hidden", "expected"),
    [
        ("httptools", {"http": "h11", "loop": "uvloop"}),
        ("uvloop", {"http": "httptools", "loop": "asyncio"}),
    ],
)
def test_each_falls_back_on_its_own(
    monkeypatch: pytest.MonkeyPatch, hidden: str, expected: dict[str, str]
) -> None:
    monkeypatch.setitem(sys.modules, hidden, None)  # `import hidden` raises ImportError
    assert http_stack() == expected


def test_uvicorn_takes_the_stack() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = uvicorn.Config(FastAPI(), **http_stack())
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_the_start_up_line_names_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with capture_logs() as logs:
        stack = uvicorn_stack("127.0.0.1", 8000)
    assert stack == {"http": "httptools", "loop": "asyncio"}
    assert logs == [
        {
            "event": "api_http_stack",
            "log_level": "info",
            "host": "127.0.0.1",
            "port": 8000,
            "http": "httptools",
            "loop": "asyncio",
        }
    ]
