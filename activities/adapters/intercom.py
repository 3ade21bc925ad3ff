"""Intercom outbound adapter: internal notes and replies on conversations (vendor-apis.md
section 6.3; schema `intercom/conversations.subset.openapi.json`, operation replyConversation).

`POST {INTERCOM_API_URL}/conversations/{id}/reply` with
`{"message_type": "note"|"comment", "type": "admin", "admin_id": INTERCOM_ADMIN_ID, "body"}`,
`Authorization: Bearer <INTERCOM_ACCESS_TOKEN>`, `Intercom-Version: 2.14`. A `note` is seen by
teammates only; a `comment` is a reply the customer sees (proactive customer communication).
Bodies are HTML (plain text is escaped).

Errors come as `{"type": "error.list", "errors": [{"code", "message"}]}`: 401/403/404 and
other 4xx are permanent; 429 and 5xx retryable. Intercom signals its rate limit with
`X-RateLimit-Reset` (epoch seconds); Retry-After is honoured when present, else the reset time.
No idempotency key: a note can repeat after an ambiguous failure.
"""

from __future__ import annotations

from typing import Any, Final, Literal
from urllib.parse import quote

import httpx

from activities.adapters.base import DeliveryReceipt, OutboxSink, PermanentVendorError
from activities.adapters.common import (
    json_object,
    send_request_with_reset,
    text_to_html,
    to_outbox,
)
from escalation.settings import Settings

VENDOR: Final = "intercom"
API_VERSION: Final = "2.14"

MessageType = Literal["note", "comment"]


class IntercomAdapter:
    """Writes to Intercom conversations as INTERCOM_ADMIN_ID. Live when
    INTERCOM_ACCESS_TOKEN and INTERCOM_ADMIN_ID are set (Intercom requires an author)."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to Intercom, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def add_note(
        self, *, conversation_id: str, text: str, idempotency_key: str
    ) -> DeliveryReceipt:
        """Add an internal note (teammates only). external_id is the conversation part id."""
        return await self._reply("note", conversation_id, text, idempotency_key)

    async def reply(
        self, *, conversation_id: str, text: str, idempotency_key: str
    ) -> DeliveryReceipt:
        """Reply to the customer in the conversation (visible to them)."""
        return await self._reply("comment", conversation_id, text, idempotency_key)

    async def _reply(
        self, message_type: MessageType, conversation_id: str, text: str, idempotency_key: str
    ) -> DeliveryReceipt:
        operation = "add_note" if message_type == "note" else "reply"
        if not conversation_id.strip():
            raise PermanentVendorError(VENDOR, f"{operation}: conversation_id must not be empty")
        if not text.strip():
            raise PermanentVendorError(VENDOR, f"{operation}: text must not be empty")
        body: dict[str, Any] = {
            "message_type": message_type,
            "type": "admin",
            "admin_id": self._settings.intercom_admin_id or "",
            "body": text_to_html(text),
        }
        if not self.live:
            return await to_outbox(
                self._outbox,
                vendor=VENDOR,
                operation=operation,
                idempotency_key=idempotency_key,
                payload={"conversation_id": conversation_id, **body},
            )
        url = (
            f"{self._settings.intercom_api_url.rstrip('/')}/conversations/"
            f"{quote(conversation_id.strip(), safe='')}/reply"
        )
        response = await send_request_with_reset(
            VENDOR,
            self._client,
            "POST",
            url,
            reset_header="X-RateLimit-Reset",
            json=body,
            headers={
                "Authorization": f"Bearer {self._settings.intercom_access_token}",
                "Intercom-Version": API_VERSION,
                "Accept": "application/json",
            },
        )
        data = json_object(response)
        part_id = _last_part_id(data)
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=part_id,
            detail={"conversation_id": str(data.get("id", conversation_id))},
        )


def _last_part_id(conversation: dict[str, Any]) -> str | None:
    parts = conversation.get("conversation_parts")
    items = parts.get("conversation_parts") if isinstance(parts, dict) else None
    if isinstance(items, list) and items and isinstance(items[-1], dict):
        part_id = items[-1].get("id")
        return str(part_id) if part_id is not None else None
    return None
