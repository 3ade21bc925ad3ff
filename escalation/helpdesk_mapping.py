"""Native help-desk webhooks mapped onto the intake schema (TicketEvent); pure.

Each mapper takes the parsed JSON body (after the router verified the signature on the raw
bytes) and returns `Mapped` (the event and the vendor's event id), `Ignored` (a delivery that
is not about a ticket: a ping, a user event) or raises `MappingError` (a body we cannot read:
422). Ticket ids get a vendor prefix (`ZD-`, `FD-`, `IC-`) so two help desks never collide.

**Zendesk**: event-subscription webhooks (`zen:event-type:ticket.*`), whose envelope is fixed
(`../shared/vendor-specs/zendesk/derived/webhook-event.schema.json`): `detail` is the ticket
(ids as strings, enums in capitals), `event` what changed (`comment` for comment_added), `id`
the event id we de-duplicate on.

**Intercom**: `notification_event` bodies whose `data.item` is a conversation; the notification
`id` is the event id; topic `ping` is ignored.

**Freshdesk** automation webhooks have no fixed body and no event id. Configure the rule's
"Trigger webhook" action with a JSON body of these placeholders (any subset; the `freshdesk_
webhook` wrapper of the "Simple" content type is accepted too), and the custom header
`X-Freshdesk-Webhook-Secret: <FRESHDESK_WEBHOOK_SECRET>`:

    {"ticket_id": "{{ticket.id}}", "ticket_subject": "{{ticket.subject}}",
     "ticket_description": "{{ticket.description_text}}", "ticket_status": "{{ticket.status}}",
     "ticket_priority": "{{ticket.priority}}", "ticket_source": "{{ticket.source}}",
     "ticket_tags": "{{ticket.tags}}", "ticket_type": "{{ticket.ticket_type}}",
     "ticket_created_at": "{{ticket.created_on}}", "ticket_company_id": "{{ticket.company.id}}",
     "ticket_company_name": "{{ticket.company.name}}",
     "ticket_requester_id": "{{ticket.requester.id}}", "ticket_agent_id": "{{ticket.agent.id}}",
     "ticket_requester_email": "{{ticket.requester.email}}",
     "ticket_latest_public_comment": "{{ticket.latest_public_comment}}",
     "triggered_event": "{{triggered_event}}"}

Placeholders render display text ("Urgent", "Open", "Email"); the integers of the API are
accepted too. A replayed Freshdesk delivery is byte-identical, so the router de-duplicates on
the SHA-256 of the raw body.

What no help desk sends (ARR, health score, SLA targets, the agent's investigation time) is
left at its default; tags carry the common ones: `tier_enterprise` (or just `enterprise`),
`vip`, `area_<product area>`. Conversation custom attributes (Intercom) may carry
`product_area`, `tier`, `vip`, `arr`, `health_score`, `revenue_at_risk`, `billing_amount`.
The requester's email (`customer.requester_email`, for the CRM lookup by domain) comes from
Freshdesk's `ticket_requester_email` and Intercom's customer-authored `source.author.email`;
Zendesk's event-subscription `detail` carries only `requester_id`, so it has none. An address
the schema would refuse is dropped, not the event.

Help desks send one change at a time (a comment, a status), so `merge_history` folds the
comments and the fields a vendor never sends from the ticket's previous event into the new one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import ValidationError

from escalation.triggers.event import (
    AuthorRole,
    Channel,
    Comment,
    EventType,
    TicketEvent,
    TicketStatus,
)
from escalation.vocabulary import CustomerTier, Priority

__all__ = [
    "Ignored",
    "Mapped",
    "MappingError",
    "map_freshdesk",
    "map_intercom",
    "map_zendesk",
    "merge_history",
]


@dataclass(frozen=True, slots=True)
class Mapped:
    event: TicketEvent
    event_key: str | None  # the vendor's event id; None: de-duplicate on the body


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


class MappingError(ValueError):
    """The body is not a webhook we can read; the message says what is wrong."""


# --------------------------------------------------------------------------- helpers

_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(?:p|div|li|h[1-6])>|<br\s*/?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment (Intercom and Freshdesk bodies are HTML)."""
    text = _BLOCK_END.sub("\n", value)
    text = html.unescape(_TAG.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value).strip()[:limit]


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text[:100] if text and text.lower() not in ("null", "none") else None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _email(value: Any) -> str | None:
    """An email address the intake schema accepts, else None: a help desk's odd value (a
    placeholder left unrendered, a display name) must not cost the whole ticket event."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if len(text) <= 254 and _EMAIL.match(text) else None


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (with Z and nanoseconds), unix seconds, or RFC 2822; naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    candidate = _FRACTION.sub(r"\1", text.replace("Z", "+00:00").replace(" UTC", "+00:00"))
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is None:
            for fmt in ("%a, %d %b, %Y at %I:%M %p", "%d %b %Y %I:%M %p", "%Y-%m-%d %H:%M:%S"):
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _money(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _score(value: Any) -> float | None:
    amount = _money(value)
    if amount is None or amount > 100:
        return None
    return float(amount)


_TIERS = {t.value for t in CustomerTier}
_TIER_PREFIXES = ("tier_", "tier-", "tier:", "plan_", "plan-", "plan:")
_AREA_PREFIXES = ("area_", "area-", "area:", "product_area_", "product_", "product:")


def _tier_from(tags: Sequence[str], attribute: Any = None) -> CustomerTier | None:
    if isinstance(attribute, str) and attribute.strip().lower() in _TIERS:
        return CustomerTier(attribute.strip().lower())
    for tag in tags:
        name = tag.lower()
        for prefix in _TIER_PREFIXES:
            if name.startswith(prefix) and name[len(prefix) :] in _TIERS:
                return CustomerTier(name[len(prefix) :])
        if name in _TIERS - {"standard", "free"}:
            return CustomerTier(name)
    return None


def _area_from(tags: Sequence[str]) -> str | None:
    for tag in tags:
        name = tag.lower()
        for prefix in _AREA_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                return name[len(prefix) :][:200]
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "1", "y")


_PRIORITY_WORDS = {
    "urgent": Priority.P0,
    "high": Priority.P1,
    "normal": Priority.P2,
    "medium": Priority.P2,
    "low": Priority.P3,
}
_STATUS_WORDS = {
    "new": TicketStatus.NEW,
    "open": TicketStatus.OPEN,
    "pending": TicketStatus.PENDING,
    "hold": TicketStatus.ON_HOLD,
    "on-hold": TicketStatus.ON_HOLD,
    "on_hold": TicketStatus.ON_HOLD,
    "solved": TicketStatus.SOLVED,
    "resolved": TicketStatus.SOLVED,
    "closed": TicketStatus.CLOSED,
    "waiting on customer": TicketStatus.PENDING,
    "waiting on third party": TicketStatus.ON_HOLD,
}


def _priority(value: Any) -> Priority | None:
    if value is None:
        return None
    return _PRIORITY_WORDS.get(str(value).strip().lower())


def _status(value: Any, default: TicketStatus = TicketStatus.OPEN) -> TicketStatus:
    if value is None:
        return default
    return _STATUS_WORDS.get(str(value).strip().lower(), default)


def _build(values: dict[str, Any], vendor: str) -> TicketEvent:
    try:
        return TicketEvent.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MappingError(
            f"{vendor} webhook maps to an invalid event: {where}: {first['msg']}"
        ) from exc


# --------------------------------------------------------------------------- Zendesk

_ZENDESK_CHANNELS = {
    "web": Channel.WEB,
    "web_form": Channel.WEB,
    "web_widget": Channel.WEB,
    "web_service": Channel.API,
    "api": Channel.API,
    "email": Channel.EMAIL,
    "mail": Channel.EMAIL,
    "chat": Channel.CHAT,
    "chat_transcript": Channel.CHAT,
    "voice": Channel.PHONE,
    "phone": Channel.PHONE,
    "native_messaging": Channel.MESSAGING,
    "mobile_sdk": Channel.MESSAGING,
    "sms": Channel.MESSAGING,
    "whatsapp": Channel.MESSAGING,
    "twitter": Channel.SOCIAL,
    "facebook": Channel.SOCIAL,
    "instagram_dm": Channel.SOCIAL,
}
_ZENDESK_TICKET_EVENT = "zen:event-type:ticket."


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MappingError(f"{what} must be a JSON object")
    return value


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        parts = re.split(r"[,\s]+", value)
    elif isinstance(value, list):
        parts = [str(v) for v in value]
    else:
        return []
    return [p.strip().lower()[:200] for p in parts if p.strip()][:100]


def map_zendesk(body: Any) -> Mapped | Ignored:
    """A Zendesk event-subscription webhook (`zen:event-type:ticket.*`)."""
    envelope = _mapping(body, "Zendesk webhook body")
    kind = envelope.get("type")
    if not isinstance(kind, str) or not kind.startswith("zen:event-type:"):
        raise MappingError("not a Zendesk event-subscription webhook: `type` zen:event-type:*")
    if not kind.startswith(_ZENDESK_TICKET_EVENT):
        return Ignored(f"Zendesk event {kind} is not about a ticket")
    event_id = _id(envelope.get("id"))
    if event_id is None:
        raise MappingError("Zendesk webhook without an event `id`")
    detail = _mapping(envelope.get("detail"), "Zendesk `detail`")
    change = _obj(envelope.get("event"))
    subject_ref = str(envelope.get("subject", ""))
    raw_id = _id(detail.get("id")) or (
        subject_ref.rsplit(":", 1)[-1] if subject_ref.startswith("zen:ticket:") else None
    )
    if raw_id is None:
        raise MappingError("Zendesk webhook without a ticket id (`detail.id`)")
    at = parse_time(envelope.get("time")) or parse_time(detail.get("updated_at"))
    created = parse_time(detail.get("created_at")) or at
    if created is None:
        raise MappingError("Zendesk webhook without `detail.created_at` or `time`")
    at = at or created
    tags = _tags(detail.get("tags"))
    org, requester = _id(detail.get("organization_id")), _id(detail.get("requester_id"))
    customer_id = f"zd-org-{org}" if org else f"zd-user-{requester or raw_id}"
    tier = _tier_from(tags)
    via = _obj(detail.get("via"))
    channel = _ZENDESK_CHANNELS.get(str(via.get("channel", "")).lower(), Channel.OTHER)

    event_type = EventType.UPDATED
    comments: list[dict[str, Any]] = []
    first_response = None
    if kind.endswith(".created"):
        event_type = EventType.CREATED
    comment = change.get("comment")
    if isinstance(comment, Mapping) and kind.endswith("comment_added"):
        event_type = EventType.COMMENTED
        author = _obj(comment.get("author"))
        staff = _truthy(author.get("is_staff", False))
        public = _truthy(comment.get("is_public", True))
        comments.append(
            {
                "comment_id": _id(comment.get("id")),
                "author_id": _id(author.get("id")),
                "author_role": AuthorRole.AGENT if staff else AuthorRole.CUSTOMER,
                "body": _text(html_to_text(str(comment.get("body") or "")), 50_000),
                "created_at": at,
                "public": public,
            }
        )
        if staff and public:
            first_response = at
    values: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "ticket_id": f"ZD-{raw_id}",
        "subject": _text(detail.get("subject"), 1_000),
        "description": _text(detail.get("description"), 50_000),
        "comments": comments,
        "channel": channel,
        "product_area": _area_from(tags),
        "requester_priority": _priority(detail.get("priority")),
        "tags": tags,
        "status": _status(detail.get("status")),
        "created_at": created,
        "first_response_at": first_response,
        "customer": {
            "customer_id": customer_id,
            "tier": tier or CustomerTier.STANDARD,
            "vip": "vip" in tags,
        },
        "agent": {"agent_id": _id(detail.get("assignee_id"))},
    }
    return Mapped(_build(values, "Zendesk"), event_id)


# --------------------------------------------------------------------------- Intercom

_INTERCOM_CHANNELS = {
    "conversation": Channel.CHAT,
    "email": Channel.EMAIL,
    "phone_call": Channel.PHONE,
    "phone_switch": Channel.PHONE,
    "push": Channel.OTHER,
    "sms": Channel.MESSAGING,
    "whatsapp": Channel.MESSAGING,
    "facebook": Channel.SOCIAL,
    "instagram": Channel.SOCIAL,
    "twitter": Channel.SOCIAL,
}
_INTERCOM_CUSTOMER_AUTHORS = frozenset({"user", "lead", "contact"})
_INTERCOM_STATES = {
    "open": TicketStatus.OPEN,
    "snoozed": TicketStatus.PENDING,
    "closed": TicketStatus.SOLVED,
}


def _intercom_role(author: Mapping[str, Any]) -> AuthorRole:
    kind = str(author.get("type", "")).lower()
    if kind in _INTERCOM_CUSTOMER_AUTHORS:
        return AuthorRole.CUSTOMER
    if kind == "bot" or _truthy(author.get("from_ai_agent", False)):
        return AuthorRole.BOT
    if kind in ("admin", "team"):
        return AuthorRole.AGENT
    return AuthorRole.SYSTEM


def _attributes(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    return {re.sub(r"[\s-]+", "_", str(k).strip().lower()): v for k, v in value.items()}


def map_intercom(body: Any) -> Mapped | Ignored:
    """An Intercom `notification_event` about a conversation."""
    note = _mapping(body, "Intercom webhook body")
    if note.get("type") != "notification_event":
        raise MappingError("not an Intercom notification: `type` must be notification_event")
    topic = str(note.get("topic", ""))
    if topic == "ping":
        return Ignored("Intercom ping")
    if not topic.startswith("conversation."):
        return Ignored(f"Intercom topic {topic!r} is not about a conversation")
    event_id = _id(note.get("id"))
    if event_id is None:
        raise MappingError("Intercom notification without an `id`")
    data = _mapping(note.get("data"), "Intercom `data`")
    item = _mapping(data.get("item"), "Intercom `data.item`")
    raw_id = _id(item.get("id"))
    if raw_id is None:
        raise MappingError("Intercom conversation without an `id`")
    created = parse_time(item.get("created_at")) or parse_time(note.get("created_at"))
    if created is None:
        raise MappingError("Intercom conversation without `created_at`")
    source = _obj(item.get("source"))
    source_author = _obj(source.get("author"))
    opening = html_to_text(str(source.get("body") or ""))
    from_customer = _intercom_role(source_author) is AuthorRole.CUSTOMER
    comments: list[dict[str, Any]] = []
    if not from_customer and opening:
        # An outbound message started the conversation: it is the agent's, not a description.
        comments.append(
            {
                "comment_id": _id(source.get("id")),
                "author_id": _id(source_author.get("id")),
                "author_role": _intercom_role(source_author),
                "body": opening[:50_000],
                "created_at": created,
            }
        )
    parts_box = item.get("conversation_parts")
    parts = parts_box.get("conversation_parts", []) if isinstance(parts_box, Mapping) else []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, Mapping):
            continue
        kind = str(part.get("part_type", ""))
        text = html_to_text(str(part.get("body") or ""))
        if kind not in ("comment", "note", "open", "close", "quick_reply") or not text:
            continue
        author = _obj(part.get("author"))
        comments.append(
            {
                "comment_id": _id(part.get("id")),
                "author_id": _id(author.get("id")),
                "author_role": _intercom_role(author),
                "body": text[:50_000],
                "created_at": parse_time(part.get("created_at")) or created,
                "public": kind != "note",
            }
        )
    stats = _obj(item.get("statistics"))
    first_response = parse_time(stats.get("first_admin_reply_at"))
    replies = [
        c["created_at"]
        for c in comments
        if c["author_role"] is AuthorRole.AGENT and c.get("public", True)
    ]
    if first_response is None and replies:
        first_response = min(replies)
    if first_response is not None and first_response < created:
        first_response = None
    tag_box = item.get("tags")
    tag_list = tag_box.get("tags", []) if isinstance(tag_box, Mapping) else []
    tags = _tags([t.get("name") for t in tag_list if isinstance(t, Mapping) and t.get("name")])
    attrs = _attributes(item.get("custom_attributes"))
    contacts_box = item.get("contacts")
    contacts = contacts_box.get("contacts", []) if isinstance(contacts_box, Mapping) else []
    contact = next((c for c in contacts if isinstance(c, Mapping) and c.get("id")), None)
    company = _id(attrs.get("company_id"))
    if company:
        customer_id = f"ic-company-{company}"
    elif contact is not None:
        customer_id = f"ic-contact-{_id(contact.get('id'))}"
    else:
        customer_id = f"ic-contact-{_id(source_author.get('id')) or raw_id}"
    area = attrs.get("product_area") or attrs.get("area")
    state = str(item.get("state") or ("open" if item.get("open", True) else "closed")).lower()
    if topic == "conversation.user.created":
        event_type = EventType.CREATED
    elif topic.endswith((".replied", ".noted")):
        event_type = EventType.COMMENTED
    else:
        event_type = EventType.UPDATED
    values: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "ticket_id": f"IC-{raw_id}",
        "subject": _text(html_to_text(str(source.get("subject") or item.get("title") or "")), 1000),
        "description": opening[:50_000] if from_customer else "",
        "comments": comments[-1_000:],
        "channel": _INTERCOM_CHANNELS.get(str(source.get("type", "")).lower(), Channel.CHAT),
        "product_area": str(area).strip()[:200] if area else _area_from(tags),
        "requester_priority": Priority.P1 if item.get("priority") == "priority" else None,
        "tags": tags,
        "status": _INTERCOM_STATES.get(state, TicketStatus.OPEN),
        "created_at": created,
        "first_response_at": first_response,
        "customer": {
            "customer_id": customer_id,
            "name": _text(attrs.get("company_name"), 200),
            "tier": _tier_from(tags, attrs.get("tier") or attrs.get("plan"))
            or CustomerTier.STANDARD,
            "vip": "vip" in tags or _truthy(attrs.get("vip", False)),
            "arr": _money(attrs.get("arr")),
            "health_score": _score(attrs.get("health_score")),
            # Only a customer's address: an outbound message's author is one of our admins.
            "requester_email": _email(source_author.get("email")) if from_customer else None,
        },
        "agent": {"agent_id": _id(item.get("admin_assignee_id"))},
        "revenue_at_risk": _money(attrs.get("revenue_at_risk")),
        "billing_amount": _money(attrs.get("billing_amount")),
    }
    return Mapped(_build(values, "Intercom"), event_id)


# --------------------------------------------------------------------------- Freshdesk

_FRESHDESK_PRIORITIES = {"1": Priority.P3, "2": Priority.P2, "3": Priority.P1, "4": Priority.P0}
_FRESHDESK_STATUSES = {
    "2": TicketStatus.OPEN,
    "3": TicketStatus.PENDING,
    "4": TicketStatus.SOLVED,
    "5": TicketStatus.CLOSED,
}
_FRESHDESK_SOURCES = {
    "1": Channel.EMAIL,
    "email": Channel.EMAIL,
    "outbound email": Channel.EMAIL,
    "10": Channel.EMAIL,
    "2": Channel.WEB,
    "portal": Channel.WEB,
    "9": Channel.WEB,
    "feedback widget": Channel.WEB,
    "3": Channel.PHONE,
    "phone": Channel.PHONE,
    "7": Channel.CHAT,
    "chat": Channel.CHAT,
    "twitter": Channel.SOCIAL,
    "facebook": Channel.SOCIAL,
    "whatsapp": Channel.MESSAGING,
    "mobihelp": Channel.MESSAGING,
}


def map_freshdesk(body: Any, received_at: datetime) -> Mapped | Ignored:
    """A Freshdesk automation webhook in the documented template (see the module docstring).
    `received_at` stands in for the creation time when the rule does not send it."""
    outer = _mapping(body, "Freshdesk webhook body")
    ticket = outer.get("freshdesk_webhook", outer)
    ticket = _mapping(ticket, "Freshdesk `freshdesk_webhook`")
    raw_id = _id(ticket.get("ticket_id"))
    if raw_id is None:
        raise MappingError("Freshdesk webhook without `ticket_id`")
    created = parse_time(ticket.get("ticket_created_at")) or received_at
    tags = _tags(ticket.get("ticket_tags"))
    priority_raw = str(ticket.get("ticket_priority", "")).strip()
    status_raw = str(ticket.get("ticket_status", "")).strip()
    source_raw = str(ticket.get("ticket_source", "")).strip().lower()
    triggered = str(ticket.get("triggered_event", "")).lower()
    comment = html_to_text(str(ticket.get("ticket_latest_public_comment") or ""))
    comments: list[dict[str, Any]] = []
    if "created" in triggered:
        event_type = EventType.CREATED
    elif comment and any(w in triggered for w in ("reply", "note", "comment", "conversation")):
        event_type = EventType.COMMENTED
        by_agent = "agent" in triggered or "sent" in triggered
        comments.append(
            {
                "author_role": AuthorRole.AGENT if by_agent else AuthorRole.CUSTOMER,
                "body": comment[:50_000],
                "created_at": max(received_at, created),
            }
        )
    else:
        event_type = EventType.UPDATED
    company = _id(ticket.get("ticket_company_id"))
    requester = _id(ticket.get("ticket_requester_id"))
    customer_id = f"fd-company-{company}" if company else f"fd-contact-{requester or raw_id}"
    ticket_type = str(ticket.get("ticket_type") or "").strip().lower()
    area = _area_from(tags) or (ticket_type.replace(" ", "_")[:200] or None)
    values: dict[str, Any] = {
        "event_type": event_type,
        "ticket_id": f"FD-{raw_id}",
        "subject": _text(ticket.get("ticket_subject"), 1_000),
        "description": _text(html_to_text(str(ticket.get("ticket_description") or "")), 50_000),
        "comments": comments,
        "channel": _FRESHDESK_SOURCES.get(source_raw, Channel.OTHER),
        "product_area": area,
        "requester_priority": _FRESHDESK_PRIORITIES.get(priority_raw) or _priority(priority_raw),
        "tags": tags,
        "status": _FRESHDESK_STATUSES.get(status_raw) or _status(status_raw),
        "created_at": created,
        "customer": {
            "customer_id": customer_id,
            "name": _text(ticket.get("ticket_company_name"), 200),
            "tier": _tier_from(tags) or CustomerTier.STANDARD,
            "vip": "vip" in tags,
            "requester_email": _email(ticket.get("ticket_requester_email")),
        },
        "agent": {"agent_id": _id(ticket.get("ticket_agent_id"))},
    }
    return Mapped(_build(values, "Freshdesk"), None)


# --------------------------------------------------------------------------- history


def _comment_key(comment: Comment) -> str:
    if comment.comment_id:
        return f"id:{comment.comment_id}"
    return f"{comment.created_at.isoformat()}|{comment.author_role}|{comment.body[:200]}"


def merge_history(previous: TicketEvent | None, new: TicketEvent) -> TicketEvent:
    """The new webhook event completed with what the ticket's previous event knew: earlier
    comments (de-duplicated by id), the first response, and the fields help desks never send
    (SLA targets, agent investigation, self-service, amounts, customer account data) when the
    new event leaves them at their defaults."""
    if previous is None or previous.ticket_id != new.ticket_id:
        return new
    merged: dict[str, Comment] = {_comment_key(c): c for c in previous.comments}
    merged.update({_comment_key(c): c for c in new.comments})
    comments = sorted(merged.values(), key=lambda c: c.created_at)[-1_000:]
    responses = [
        t
        for t in (
            previous.first_response_at,
            new.first_response_at,
            *(c.created_at for c in comments if c.author_role is AuthorRole.AGENT and c.public),
        )
        if t is not None
    ]
    created = min(previous.created_at, new.created_at)
    update: dict[str, Any] = {
        "comments": comments,
        "created_at": created,
        "first_response_at": max(min(responses), created) if responses else None,
        "description": new.description or previous.description,
        "subject": new.subject or previous.subject,
        "product_area": new.product_area or previous.product_area,
    }
    defaults = TicketEvent.model_fields
    for name in (
        "sla",
        "agent",
        "self_service",
        "billing_amount",
        "revenue_at_risk",
        "requested_person",
        "requester_priority",
    ):
        value = getattr(new, name)
        default = defaults[name].get_default(call_default_factory=True)
        if value == default or (
            name == "agent" and value.agent_id == getattr(previous, name).agent_id
        ):
            update[name] = getattr(previous, name)
    if new.agent.agent_id and new.agent.agent_id != previous.agent.agent_id:
        update["agent"] = new.agent  # a new assignee starts a fresh investigation
    if new.customer.customer_id == previous.customer.customer_id:
        old, cur = previous.customer, new.customer
        update["customer"] = cur.model_copy(
            update={
                "name": cur.name or old.name,
                "tier": cur.tier if cur.tier is not CustomerTier.STANDARD else old.tier,
                "vip": cur.vip or old.vip,
                "arr": cur.arr if cur.arr is not None else old.arr,
                "health_score": cur.health_score
                if cur.health_score is not None
                else old.health_score,
                "health_score_30d_ago": cur.health_score_30d_ago
                if cur.health_score_30d_ago is not None
                else old.health_score_30d_ago,
                "requester_email": cur.requester_email or old.requester_email,
            }
        )
    return TicketEvent.model_validate(
        {**new.model_dump(), **{k: _dump(v) for k, v in update.items()}}
    )


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value
