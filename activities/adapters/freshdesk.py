"""Freshdesk outbound adapter: private notes and ticket priority (vendor-apis.md section 6.2).

`POST {FRESHDESK_BASE_URL}/api/v2/tickets/{id}/notes` with `{"body": <HTML>, "private": true}`
adds a private note; `PUT {FRESHDESK_BASE_URL}/api/v2/tickets/{id}` with `{"priority": n}`
(and optionally `responder_id`, the agent) updates the ticket. Auth: HTTP Basic with the API
key as user name and `X` as password. Freshdesk enums are integers: priority 1 Low, 2 Medium,
3 High, 4 Urgent, mapped from our P0..P3 by `FRESHDESK_PRIORITY`.

Errors: 400 `{"description": "Validation failed", "errors": [{field, message, code}]}`,
401/403 `{"code", "message"}`, 404; all permanent. 429 carries Retry-After (retryable).
No idempotency key: notes can repeat after an ambiguous failure; priority updates are
idempotent.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from activities.adapters.base import DeliveryReceipt, OutboxSink, PermanentVendorError, send_request
from activities.adapters.common import json_object, text_to_html, to_outbox
from escalation.settings import Settings
from escalation.vocabulary import Priority

VENDOR: Final = "freshdesk"

# P0 is the most urgent escalation; Freshdesk's scale runs the other way (4 = Urgent).
FRESHDESK_PRIORITY: Final[dict[str, int]] = {"P0": 4, "P1": 3, "P2": 2, "P3": 1}


def freshdesk_priority(priority: Priority | str) -> int:
    """Freshdesk's integer priority (1-4) for P0..P3; ValueError for anything else."""
    key = str(getattr(priority, "value", priority)).upper()
    if key not in FRESHDESK_PRIORITY:
        raise ValueError(f"no Freshdesk priority for {priority!r} (expected P0..P3)")
    return FRESHDESK_PRIORITY[key]


def freshdesk_ticket_id(ticket_id: str | int) -> int:
    """The numeric Freshdesk ticket id; PermanentVendorError otherwise (nothing is sent)."""
    text = str(ticket_id).strip().lstrip("#")
    if not text.isdigit():
        raise PermanentVendorError(VENDOR, f"not a Freshdesk ticket id: {ticket_id!r}")
    return int(text)


class FreshdeskAdapter:
    """Adds private notes and sets priorities. Live when FRESHDESK_BASE_URL and
    FRESHDESK_API_KEY are set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to Freshdesk, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def add_private_note(
        self, *, ticket_id: str | int, text: str, idempotency_key: str
    ) -> DeliveryReceipt:
        """Add a private note (agents only); `text` is plain text, sent as escaped HTML.
        external_id is the note id."""
        number = freshdesk_ticket_id(ticket_id)
        if not text.strip():
            raise PermanentVendorError(VENDOR, "add_private_note: text must not be empty")
        body: dict[str, Any] = {"body": text_to_html(text), "private": True}
        operation = "add_private_note"
        if not self.live:
            return await to_outbox(
                self._outbox,
                vendor=VENDOR,
                operation=operation,
                idempotency_key=idempotency_key,
                payload={"ticket_id": number, **body},
            )
        response = await self._send("POST", f"/api/v2/tickets/{number}/notes", body)
        data = json_object(response)
        note_id = data.get("id")
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(note_id) if note_id is not None else None,
            detail={"ticket_id": number},
        )

    async def update_ticket(
        self,
        *,
        ticket_id: str | int,
        priority: Priority | str | None,
        idempotency_key: str,
        responder_id: int | None = None,
    ) -> DeliveryReceipt:
        """Set the ticket's priority (from P0..P3) and/or its agent (`responder_id`)."""
        number = freshdesk_ticket_id(ticket_id)
        body: dict[str, Any] = {}
        if priority is not None:
            try:
                body["priority"] = freshdesk_priority(priority)
            except ValueError as exc:
                raise PermanentVendorError(VENDOR, str(exc)) from exc
        if responder_id is not None:
            body["responder_id"] = int(responder_id)
        if not body:
            raise PermanentVendorError(VENDOR, "update_ticket: nothing to change")
        operation = "update_ticket"
        if not self.live:
            return await to_outbox(
                self._outbox,
                vendor=VENDOR,
                operation=operation,
                idempotency_key=idempotency_key,
                payload={"ticket_id": number, **body},
                external_id=str(number),
            )
        response = await self._send("PUT", f"/api/v2/tickets/{number}", body)
        data = json_object(response)
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(data.get("id", number)),
            detail={"priority": data.get("priority"), "responder_id": data.get("responder_id")},
        )

    async def _send(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        root = (self._settings.freshdesk_base_url or "").rstrip("/").removesuffix("/api/v2")
        return await send_request(
            VENDOR,
            self._client,
            method,
            f"{root}{path}",
            json=body,
            auth=httpx.BasicAuth(self._settings.freshdesk_api_key or "", "X"),
            headers={"Accept": "application/json"},
        )
