"""Small helpers shared by the issue-8 adapters (the first seven keep their own copies)."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxMessage,
    OutboxSink,
    RetryableVendorError,
    raise_for_vendor_status,
)


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def json_body(response: httpx.Response) -> Any:
    """The parsed JSON body, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON body when it is an object, else {}."""
    data = json_body(response)
    return data if isinstance(data, dict) else {}


def text_to_html(text: str) -> str:
    """Plain text as safe HTML: escaped, blank lines make paragraphs, newlines `<br>`.
    For help desks whose note bodies are HTML (Freshdesk, Intercom)."""
    paragraphs = [
        "<p>" + "<br>".join(html.escape(line) for line in chunk.split("\n")) + "</p>"
        for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
        if chunk.strip()
    ]
    return "".join(paragraphs) or "<p></p>"


async def to_outbox(
    outbox: OutboxSink,
    *,
    vendor: str,
    operation: str,
    idempotency_key: str,
    payload: dict[str, Any],
    external_id: str | None = None,
) -> DeliveryReceipt:
    """Write what would have been sent to the outbox; the receipt says `delivered=False`."""
    await outbox.write(
        OutboxMessage(
            vendor=vendor, operation=operation, idempotency_key=idempotency_key, payload=payload
        )
    )
    return DeliveryReceipt(
        vendor=vendor,
        operation=operation,
        delivered=False,
        external_id=external_id,
        detail={"outbox": True},
    )


def seconds_until_epoch(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from now until an epoch-seconds header value such as `X-RateLimit-Reset`
    (None when absent or unparsable; 0 when already past)."""
    if not value:
        return None
    try:
        reset = float(value.strip())
    except ValueError:
        return None
    current = time.time() if now is None else now
    return max(0.0, reset - current)


async def send_request_with_reset(
    vendor: str,
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    reset_header: str,
    **kwargs: Any,
) -> httpx.Response:
    """`send_request`, except that a retryable answer without Retry-After takes its delay
    from the epoch-seconds `reset_header` (Intercom's and GitHub's `X-RateLimit-Reset`)."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        raise RetryableVendorError(vendor, f"network error: {exc!r}") from exc
    try:
        raise_for_vendor_status(vendor, response)
    except RetryableVendorError as exc:
        if exc.retry_after is None:
            exc.retry_after = seconds_until_epoch(response.headers.get(reset_header))
        raise
    return response
