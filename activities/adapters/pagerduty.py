"""PagerDuty Events API v2 adapter: trigger, acknowledge and resolve alerts.

Wire format: vendor-apis.md section 1.1. `POST {PAGERDUTY_EVENTS_URL}/v2/enqueue` with the
integration key in the body (`routing_key`); no auth header. The `dedup_key` makes triggers
idempotent while the alert is open, so callers derive it deterministically (e.g. from the
escalation id); keys longer than 255 characters are shortened with a stable hash.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, Literal

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxMessage,
    OutboxSink,
    PermanentVendorError,
    send_request,
)
from escalation.settings import Settings

VENDOR: Final = "pagerduty"
MAX_SUMMARY: Final = 1024
MAX_DEDUP_KEY: Final = 255
REDACTED: Final = "<redacted>"

Severity = Literal["critical", "error", "warning", "info"]
EventAction = Literal["trigger", "acknowledge", "resolve"]


def normalize_dedup_key(dedup_key: str) -> str:
    """Return `dedup_key` unchanged when it fits PagerDuty's 255-character limit, else a
    deterministic shortening: a readable prefix plus the SHA-256 of the whole key."""
    if len(dedup_key) <= MAX_DEDUP_KEY:
        return dedup_key
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()
    return f"{dedup_key[: MAX_DEDUP_KEY - len(digest) - 1]}~{digest}"


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class PagerDutyAdapter:
    """Sends Events API v2 events. Live when PAGERDUTY_ROUTING_KEY is set; a per-call
    `routing_key` (e.g. a team's key from the policy) overrides the default key."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when events are really sent, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def trigger(
        self,
        *,
        dedup_key: str,
        summary: str,
        source: str,
        severity: Severity,
        custom_details: dict[str, Any],
        routing_key: str | None = None,
        links: list[dict[str, str]] | None = None,
    ) -> DeliveryReceipt:
        """Open (or, while it is open, de-duplicate into) the alert for `dedup_key`."""
        payload: dict[str, Any] = {
            "summary": truncate(summary.strip() or "(no summary)", MAX_SUMMARY),
            "source": source.strip() or "escalation-routing",
            "severity": severity,
            "custom_details": custom_details,
        }
        body: dict[str, Any] = {"event_action": "trigger", "payload": payload}
        if links:
            body["links"] = [
                {k: v for k, v in link.items() if k in ("href", "text")}
                for link in links
                if link.get("href")
            ]
        return await self._event("trigger", dedup_key, routing_key, body)

    async def acknowledge(
        self, *, dedup_key: str, routing_key: str | None = None
    ) -> DeliveryReceipt:
        """Acknowledge the open alert for `dedup_key` (PagerDuty drops it if none is open)."""
        return await self._event("acknowledge", dedup_key, routing_key, {})

    async def resolve(self, *, dedup_key: str, routing_key: str | None = None) -> DeliveryReceipt:
        """Resolve the open alert for `dedup_key` (PagerDuty drops it if none is open)."""
        return await self._event("resolve", dedup_key, routing_key, {})

    async def _event(
        self,
        action: EventAction,
        dedup_key: str,
        routing_key: str | None,
        extra: dict[str, Any],
    ) -> DeliveryReceipt:
        if not dedup_key:
            raise PermanentVendorError(VENDOR, f"{action}: dedup_key must not be empty")
        key = normalize_dedup_key(dedup_key)
        effective_key = routing_key or self._settings.pagerduty_routing_key
        body: dict[str, Any] = {
            "routing_key": effective_key or "",
            "event_action": action,
            "dedup_key": key,
            **extra,
        }
        if not self.live:
            # The routing key is a credential: never persist it in the outbox.
            shown = {**body, "routing_key": REDACTED if effective_key else ""}
            await self._outbox.write(
                OutboxMessage(
                    vendor=VENDOR,
                    operation=action,
                    idempotency_key=f"{action}:{key}",
                    payload=shown,
                )
            )
            return DeliveryReceipt(
                vendor=VENDOR,
                operation=action,
                delivered=False,
                external_id=key,
                detail={"outbox": True},
            )
        url = f"{self._settings.pagerduty_events_url.rstrip('/')}/v2/enqueue"
        response = await send_request(
            VENDOR,
            self._client,
            "POST",
            url,
            json=body,
            headers={"Accept": "application/json"},
        )
        data = _json_object(response)
        returned = data.get("dedup_key")
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=action,
            delivered=True,
            external_id=returned if isinstance(returned, str) and returned else key,
            detail={
                "status": data.get("status"),
                "message": data.get("message"),
                "http_status": response.status_code,
            },
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
