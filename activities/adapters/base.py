"""What every vendor adapter shares: error classification, receipts and the outbox sink.

Rules (DESIGN.md section 5): 429 and 5xx (and network errors) are retryable, honouring
Retry-After; every other 4xx is permanent, so the caller records it and falls back. Adapters
never retry by themselves: Temporal's activity retry policy does, so retries survive restarts.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, Field


class VendorError(Exception):
    """A vendor call failed. `status` is the HTTP status, or None for network errors."""

    def __init__(self, vendor: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor
        self.status = status
        self.message = message


class RetryableVendorError(VendorError):
    """429, 5xx or a network failure: try again, no sooner than `retry_after` seconds."""

    def __init__(
        self,
        vendor: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(vendor, message, status)
        self.retry_after = retry_after


class PermanentVendorError(VendorError):
    """Any other 4xx (or a vendor-level refusal such as Slack's ok=false): do not retry."""


class DeliveryReceipt(BaseModel):
    """What an adapter call produced. `delivered` is False when it went to the outbox."""

    vendor: str
    operation: str
    delivered: bool
    external_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class OutboxMessage(BaseModel):
    """A message an adapter would have sent, had it credentials."""

    vendor: str
    operation: str
    idempotency_key: str
    payload: dict[str, Any]


class OutboxSink(Protocol):
    """Where adapters without credentials put what they would have sent."""

    async def write(self, message: OutboxMessage) -> None: ...


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def raise_for_vendor_status(vendor: str, response: httpx.Response) -> None:
    """Classify an HTTP response: return on 2xx, raise the right VendorError otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return
    body = response.text[:500]
    if status == 429 or status == 420 or status >= 500:
        raise RetryableVendorError(
            vendor,
            f"HTTP {status}: {body}",
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    raise PermanentVendorError(vendor, f"HTTP {status}: {body}", status=status)


async def send_request(
    vendor: str, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send one request, turning network failures into retryable errors and classifying
    the status. Returns the (2xx) response."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        raise RetryableVendorError(vendor, f"network error: {exc!r}") from exc
    raise_for_vendor_status(vendor, response)
    return response
