"""Zendesk trigger/automation webhooks mapped onto the intake schema (TicketEvent); pure.

Zendesk has two kinds of webhook (../shared/vendor-apis.md section 6.1). Event-subscription
webhooks (`zen:event-type:*`, a fixed envelope) are mapped in escalation/helpdesk_mapping.py.
Trigger- and automation-connected webhooks have no schema: the admin writes the JSON body in
the trigger's "Notify active webhook" action. We prescribe the template `TRIGGER_TEMPLATE`
below for `POST /v1/webhooks/zendesk/trigger` (the README's "Ticket intake" section shows it as
the admin pastes it; a unit test holds the two equal); every key but `ticket_id` may be left out.

Placeholders render as **strings** (ids "5158", tags space-separated, display text such as
"Open", "Urgent", "Web Form"; an empty placeholder renders ""), so every value is read from a
string; real JSON numbers and lists are accepted too. `-` (Zendesk's "no priority") and ""
mean absent.

**De-duplication.** The delivery is keyed on the signed body: `trigger:<ticket id>@<updated_at>`
(a ticket's `updated_at` changes with every update, so one update is one event even when two
triggers notify us of it). We deliberately do not key on `X-Zendesk-Webhook-Invocation-Id`: it
is not covered by the signature, so a captured delivery re-sent within the 5-minute window with
a new invocation id would pass as a new event; and Zendesk does not document it. Without
`updated_at` the router falls back to the SHA-256 of the raw body (as for Freshdesk).

The latest comment is the customer's when its author is the requester (or when the author is
not sent), an agent's otherwise; `latest_comment_public: "false"` marks an internal note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# The Zendesk helpers of the event-subscription mapper: one vendor, one way to read its values.
from escalation.helpdesk_mapping import (
    _ZENDESK_CHANNELS,
    Ignored,
    Mapped,
    MappingError,
    _area_from,
    _build,
    _id,
    _priority,
    _status,
    _tags,
    _text,
    _tier_from,
    _truthy,
    html_to_text,
    parse_time,
)
from escalation.triggers.event import AuthorRole, Channel, EventType
from escalation.vocabulary import CustomerTier

__all__ = ["TRIGGER_TEMPLATE", "map_zendesk_trigger", "trigger_event_key"]

TRIGGER_TEMPLATE: Final[dict[str, str]] = {
    "ticket_id": "{{ticket.id}}",
    "updated_at": "{{ticket.updated_at_with_timestamp}}",
    "created_at": "{{ticket.created_at_with_timestamp}}",
    "subject": "{{ticket.title}}",
    "description": "{{ticket.description}}",
    "status": "{{ticket.status}}",
    "priority": "{{ticket.priority}}",
    "via": "{{ticket.via}}",
    "tags": "{{ticket.tags}}",
    "requester_id": "{{ticket.requester.id}}",
    "organization_id": "{{ticket.organization.id}}",
    "organization_name": "{{ticket.organization.name}}",
    "assignee_id": "{{ticket.assignee.id}}",
    "latest_comment_id": "{{ticket.latest_comment.id}}",
    "latest_comment": "{{ticket.latest_comment}}",
    "latest_comment_author_id": "{{ticket.latest_comment.author.id}}",
    "latest_comment_public": "{{ticket.latest_comment.is_public}}",
}
_ABSENT = frozenset({"", "-", "null", "none"})


def _value(body: Mapping[str, Any], key: str) -> Any:
    """The field, or None when Zendesk rendered it empty (or the admin left it out)."""
    value = body.get(key)
    if isinstance(value, str) and value.strip().lower() in _ABSENT:
        return None
    return value


def trigger_event_key(raw_ticket_id: str, updated_at: str) -> str:
    return f"trigger:{raw_ticket_id}@{updated_at}"[:128]


def map_zendesk_trigger(body: Any) -> Mapped | Ignored:
    """A trigger/automation webhook body in the prescribed template (see the module docstring)."""
    if not isinstance(body, Mapping):
        raise MappingError("Zendesk trigger webhook body must be a JSON object")
    if isinstance(body.get("type"), str) and str(body["type"]).startswith("zen:event-type:"):
        raise MappingError("an event-subscription webhook: send it to /v1/webhooks/zendesk")
    raw_id = _id(_value(body, "ticket_id"))
    if raw_id is None:
        raise MappingError("Zendesk trigger webhook without `ticket_id` ({{ticket.id}})")
    updated = parse_time(_value(body, "updated_at"))
    created = parse_time(_value(body, "created_at")) or updated
    if created is None:
        raise MappingError(
            "Zendesk trigger webhook without `created_at` or `updated_at` "
            "({{ticket.created_at_with_timestamp}})"
        )
    at = max(updated or created, created)
    tags = _tags(_value(body, "tags"))
    org, requester = _id(_value(body, "organization_id")), _id(_value(body, "requester_id"))
    via = str(_value(body, "via") or "").strip().lower().replace(" ", "_")

    comments: list[dict[str, Any]] = []
    first_response = None
    text = html_to_text(str(_value(body, "latest_comment") or ""))
    if at == created:
        event_type = EventType.CREATED
    elif text:
        event_type = EventType.COMMENTED
    else:
        event_type = EventType.UPDATED
    description = _text(html_to_text(str(_value(body, "description") or "")), 50_000)
    # On creation the latest comment is the description itself: do not count it twice.
    if text and not (event_type is EventType.CREATED and text == description):
        author = _id(_value(body, "latest_comment_author_id"))
        by_customer = author is None or author == requester
        public_raw = _value(body, "latest_comment_public")
        public = True if public_raw is None else _truthy(public_raw)
        comments.append(
            {
                "comment_id": _id(_value(body, "latest_comment_id")),
                "author_id": author,
                "author_role": AuthorRole.CUSTOMER if by_customer else AuthorRole.AGENT,
                "body": text[:50_000],
                "created_at": at,
                "public": public,
            }
        )
        if not by_customer and public:
            first_response = at
    updated_text = updated.isoformat() if updated is not None else None
    values: dict[str, Any] = {
        "event_id": trigger_event_key(raw_id, updated_text) if updated_text else None,
        "event_type": event_type,
        "ticket_id": f"ZD-{raw_id}",
        "subject": _text(_value(body, "subject"), 1_000),
        "description": description,
        "comments": comments,
        "channel": _ZENDESK_CHANNELS.get(via, Channel.OTHER),
        "product_area": _area_from(tags),
        "requester_priority": _priority(_value(body, "priority")),
        "tags": tags,
        "status": _status(_value(body, "status")),
        "created_at": created,
        "first_response_at": first_response,
        "customer": {
            "customer_id": f"zd-org-{org}" if org else f"zd-user-{requester or raw_id}",
            "name": _text(_value(body, "organization_name"), 200),
            "tier": _tier_from(tags) or CustomerTier.STANDARD,
            "vip": "vip" in tags,
        },
        "agent": {"agent_id": _id(_value(body, "assignee_id"))},
    }
    event = _build(values, "Zendesk trigger")
    return Mapped(event, event.event_id)
