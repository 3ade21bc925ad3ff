"""Structured logs: one JSON object per line (or a console rendering for `escalation dev`).

Every process configures logging once, from the CLI command that starts it. structlog and the
standard library (uvicorn, temporalio, SQLAlchemy) go through the same processors, so every
line is JSON, carries the context bound with structlog contextvars (in activities: workflow
id, ticket id, step; see activities/metrics.py) and passes the personal-data filter: ticket
text and personal data never reach a log. Values under the keys in `REDACTED_KEYS` are replaced
with "[redacted]" wherever a caller puts them, including a nested dict.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

# Keys that hold ticket text or personal data in our models and vendor payloads.
REDACTED_KEYS = frozenset(
    {
        "subject",
        "reason",
        "body",
        "text",
        "note",
        "resolution",
        "description",
        "summary",
        "message_text",
        "customer",
        "customer_name",
        "customer_email",
        "email",
        "emails",
        "phone",
        "to",
        "rcpt_tos",
        "name",
        "headline",
        "twiml",
        "password",
        "token",
        "secret",
        "authorization",
        "api_key",
        "routing_key",
    }
)
REDACTED = "[redacted]"


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return value
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if str(k).lower() in REDACTED_KEYS else _scrub(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    return value


def redact_personal_data(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """structlog processor: replace the values of personal-data keys, at any depth."""
    del logger, method_name
    for key in list(event_dict):
        if key == "event":
            continue
        if key.lower() in REDACTED_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def _drop_color_message(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    # uvicorn duplicates every access line with ANSI colours under `color_message`.
    del logger, method_name
    event_dict.pop("color_message", None)
    return event_dict


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_color_message,
        redact_personal_data,
    ]


def configure_logging(
    *, fmt: str = "json", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Route structlog and the standard library to one handler on `stream` (stderr)."""
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    pre_chain = shared_processors()
    structlog.configure(
        processors=[
            *pre_chain,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *pre_chain],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks as data, without frame locals: locals hold ticket text.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
            if fmt == "json"
            else structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Let uvicorn's loggers propagate to the root handler instead of their own.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
