"""Zendesk Support outbound adapter: internal notes, hand-back to the original agent, legal
hold tags (vendor-apis.md section 6.1).

Every call is one `PUT {ZENDESK_BASE_URL}/api/v2/tickets/{id}` (Basic
`<email>/token:<api_token>`) whose body is an *internal note* (`comment.public: false`, schema
`zendesk/derived/ticket-update-internal-note.request.schema.json`), optionally with ticket
changes in the same audit: `assignee_id` for the hand-back, `additional_tags` for a legal hold
(added to the ticket's tags, never replacing them). Each change carries a note saying why, so
the ticket history explains itself.

Zendesk has no idempotency key on updates: Temporal's retry after an ambiguous failure (a
timeout after Zendesk applied the change) can add the note twice; the tag and assignee changes
are idempotent. The notifications table prevents repeats of calls that did succeed.
Rate limits: 429 with Retry-After (retryable); 401/403/404/422 are permanent.
"""

from __future__ import annotations

import re
from typing import Any, Final

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxSink,
    PermanentVendorError,
    send_request,
)
from activities.adapters.common import json_object, to_outbox, truncate
from escalation.settings import Settings

VENDOR: Final = "zendesk"
MAX_NOTE: Final = 65_000  # Zendesk comments may be up to 64 KB
LEGAL_HOLD_TAG: Final = "legal_hold"


def zendesk_ticket_id(ticket_id: str | int) -> int:
    """The numeric Zendesk ticket id (`4711`, `"4711"` or `"ZD-4711"`); PermanentVendorError
    for anything else, before a request is sent."""
    text = str(ticket_id).strip()
    match = re.fullmatch(r"(?:zd-?|#)?(\d{1,19})", text, flags=re.IGNORECASE)
    if match is None:
        raise PermanentVendorError(VENDOR, f"not a Zendesk ticket id: {ticket_id!r}")
    return int(match.group(1))


def clean_tag(tag: str) -> str:
    """Zendesk tags are lowercase and cannot contain spaces (a space would split the tag)."""
    return re.sub(r"\s+", "_", tag.strip().lower())


def zendesk_root(base_url: str) -> str:
    """`ZENDESK_BASE_URL` is the account root (https://acme.zendesk.com); a trailing `/api/v2`
    is tolerated."""
    root = base_url.rstrip("/")
    return root.removesuffix("/api/v2")


class ZendeskAdapter:
    """Updates Zendesk tickets. Live when ZENDESK_BASE_URL, ZENDESK_EMAIL and
    ZENDESK_API_TOKEN are set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to Zendesk, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def add_internal_note(
        self, *, ticket_id: str | int, body: str, idempotency_key: str
    ) -> DeliveryReceipt:
        """Add an internal note (visible to agents only). external_id is the ticket id."""
        return await self._update("add_internal_note", ticket_id, body, {}, idempotency_key)

    async def assign_back(
        self, *, ticket_id: str | int, assignee_id: int, note: str, idempotency_key: str
    ) -> DeliveryReceipt:
        """Hand the ticket back to the original agent (`assignee_id`) with an internal note
        (e.g. the resolution); the escalation's loop closes with the agent who owns it."""
        return await self._update(
            "assign_back", ticket_id, note, {"assignee_id": int(assignee_id)}, idempotency_key
        )

    async def apply_legal_hold(
        self,
        *,
        ticket_id: str | int,
        note: str,
        idempotency_key: str,
        tags: list[str] | None = None,
    ) -> DeliveryReceipt:
        """Tag the ticket for legal hold (`legal_hold` plus `tags`, added with
        `additional_tags` so existing tags stay) with an internal note saying why."""
        wanted: list[str] = []
        for tag in [LEGAL_HOLD_TAG, *(tags or [])]:
            cleaned = clean_tag(tag)
            if cleaned and cleaned not in wanted:
                wanted.append(cleaned)
        return await self._update(
            "apply_legal_hold", ticket_id, note, {"additional_tags": wanted}, idempotency_key
        )

    async def _update(
        self,
        operation: str,
        ticket_id: str | int,
        note: str,
        changes: dict[str, Any],
        idempotency_key: str,
    ) -> DeliveryReceipt:
        number = zendesk_ticket_id(ticket_id)
        if not note.strip():
            raise PermanentVendorError(VENDOR, f"{operation}: the note must not be empty")
        body: dict[str, Any] = {
            "ticket": {"comment": {"body": truncate(note, MAX_NOTE), "public": False}, **changes}
        }
        if not self.live:
            return await to_outbox(
                self._outbox,
                vendor=VENDOR,
                operation=operation,
                idempotency_key=idempotency_key,
                payload={"ticket_id": number, **body},
                external_id=str(number),
            )
        root = zendesk_root(self._settings.zendesk_base_url or "")
        response = await send_request(
            VENDOR,
            self._client,
            "PUT",
            f"{root}/api/v2/tickets/{number}",
            json=body,
            auth=httpx.BasicAuth(
                f"{self._settings.zendesk_email}/token", self._settings.zendesk_api_token or ""
            ),
            headers={"Accept": "application/json"},
        )
        data = json_object(response)
        ticket = data.get("ticket") if isinstance(data.get("ticket"), dict) else {}
        audit = data.get("audit") if isinstance(data.get("audit"), dict) else {}
        assert isinstance(ticket, dict) and isinstance(audit, dict)
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(ticket.get("id", number)),
            detail={
                "audit_id": audit.get("id"),
                "assignee_id": ticket.get("assignee_id"),
                "tags": ticket.get("tags"),
            },
        )
