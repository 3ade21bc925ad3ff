"""Opsgenie Alert API v2 adapter (legacy: Atlassian is retiring Opsgenie).

Wire format: vendor-apis.md section 2. `Authorization: GenieKey <key>`, JSON bodies. The alert
`alias` is our dedup key: all follow-up actions address the alert by alias
(`identifierType=alias`, alias URL-encoded in the path). Every action is asynchronous: 202 only
means "accepted", detail["request_id"] identifies the request for
`GET /v2/alerts/requests/{id}`.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, Literal
from urllib.parse import quote

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxMessage,
    OutboxSink,
    PermanentVendorError,
    send_request,
)
from escalation.settings import Settings

VENDOR: Final = "opsgenie"
SOURCE: Final = "escalation-routing"
MAX_MESSAGE: Final = 130
MAX_ALIAS: Final = 512
MAX_DESCRIPTION: Final = 15_000
MAX_NOTE: Final = 25_000
MAX_RESPONDERS: Final = 50
MAX_TAGS: Final = 20
MAX_TAG: Final = 50

Priority = Literal["P1", "P2", "P3", "P4", "P5"]


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def normalize_alias(alias: str) -> str:
    """The alias unchanged when it fits Opsgenie's 512 characters, else a stable shortening
    (readable prefix + SHA-256 of the whole alias)."""
    if len(alias) <= MAX_ALIAS:
        return alias
    digest = hashlib.sha256(alias.encode("utf-8")).hexdigest()
    return f"{alias[: MAX_ALIAS - len(digest) - 1]}~{digest}"


class OpsgenieAdapter:
    """Creates and updates Opsgenie alerts. Live when OPSGENIE_API_KEY is set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to Opsgenie, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def create_alert(
        self,
        *,
        alias: str,
        message: str,
        description: str,
        priority: Priority,
        responders: list[dict[str, str]],
        tags: list[str],
        details: dict[str, str],
    ) -> DeliveryReceipt:
        """Create the alert `alias` (Opsgenie only bumps the count of an open one)."""
        key = self._alias(alias)
        clean_tags: list[str] = []
        for tag in tags:
            cleaned = _truncate(tag.strip(), MAX_TAG)
            if cleaned and cleaned not in clean_tags:
                clean_tags.append(cleaned)
        body: dict[str, Any] = {
            "message": _truncate(message.strip() or key, MAX_MESSAGE),
            "alias": key,
            "description": _truncate(description, MAX_DESCRIPTION),
            "responders": responders[:MAX_RESPONDERS],
            "tags": clean_tags[:MAX_TAGS],
            "details": details,
            "priority": priority,
            "source": SOURCE,
        }
        return await self._send("create_alert", f"create_alert:{key}", key, "/v2/alerts", body)

    async def acknowledge(self, *, alias: str, note: str | None = None) -> DeliveryReceipt:
        """Acknowledge the alert `alias`."""
        return await self._action("acknowledge", alias, note)

    async def close(self, *, alias: str, note: str | None = None) -> DeliveryReceipt:
        """Close the alert `alias`; the same alias opens a new alert afterwards."""
        return await self._action("close", alias, note)

    async def add_note(self, *, alias: str, note: str) -> DeliveryReceipt:
        """Add a note to the alert `alias`."""
        if not note.strip():
            raise PermanentVendorError(VENDOR, "add_note: note must not be empty")
        key = self._alias(alias)
        body: dict[str, Any] = {"note": _truncate(note, MAX_NOTE), "source": SOURCE}
        digest = hashlib.sha256(note.encode("utf-8")).hexdigest()[:16]
        return await self._send(
            "add_note", f"add_note:{key}:{digest}", key, self._alert_path(key, "notes"), body
        )

    async def _action(self, operation: str, alias: str, note: str | None) -> DeliveryReceipt:
        key = self._alias(alias)
        body: dict[str, Any] = {"source": SOURCE}
        if note:
            body["note"] = _truncate(note, MAX_NOTE)
        return await self._send(
            operation, f"{operation}:{key}", key, self._alert_path(key, operation), body
        )

    @staticmethod
    def _alias(alias: str) -> str:
        if not alias.strip():
            raise PermanentVendorError(VENDOR, "alias must not be empty")
        return normalize_alias(alias)

    @staticmethod
    def _alert_path(alias: str, action: str) -> str:
        return f"/v2/alerts/{quote(alias, safe='')}/{action}"

    async def _send(
        self,
        operation: str,
        idempotency_key: str,
        alias: str,
        path: str,
        body: dict[str, Any],
    ) -> DeliveryReceipt:
        if not self.live:
            await self._outbox.write(
                OutboxMessage(
                    vendor=VENDOR,
                    operation=operation,
                    idempotency_key=idempotency_key,
                    payload=body,
                )
            )
            return DeliveryReceipt(
                vendor=VENDOR,
                operation=operation,
                delivered=False,
                external_id=alias,
                detail={"outbox": True},
            )
        params = {} if path == "/v2/alerts" else {"identifierType": "alias"}
        response = await send_request(
            VENDOR,
            self._client,
            "POST",
            f"{self._settings.opsgenie_api_url.rstrip('/')}{path}",
            json=body,
            params=params,
            headers={
                "Authorization": f"GenieKey {self._settings.opsgenie_api_key}",
                "Accept": "application/json",
            },
        )
        try:
            data = response.json()
        except ValueError:
            data = {}
        result = data if isinstance(data, dict) else {}
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=alias,
            detail={"request_id": result.get("requestId"), "result": result.get("result")},
        )
