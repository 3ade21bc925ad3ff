"""Help-desk webhook bodies mapped onto TicketEvent (escalation/helpdesk_mapping.py).

The Zendesk bodies follow ../shared/vendor-specs/zendesk/derived/webhook-event.schema.json (and
are validated against it), Intercom's the conversation model of the 2.14 spec, Freshdesk's the
template documented in the mapping module.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from escalation.helpdesk_mapping import (
    Ignored,
    Mapped,
    MappingError,
    html_to_text,
    map_freshdesk,
    map_intercom,
    map_zendesk,
    merge_history,
    parse_time,
)
from escalation.triggers import AuthorRole, Channel, EventType, TicketStatus
from escalation.vocabulary import CustomerTier, Priority

SPECS = Path(__file__).resolve().parents[3] / "shared" / "vendor-specs"
ZENDESK_SCHEMA = SPECS / "zendesk" / "derived" / "webhook-event.schema.json"
RECEIVED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def zendesk_ticket_created() -> dict[str, Any]:
    return {
        "account_id": 12514403,
        "detail": {
            "actor_id": "8447388090494",
            "assignee_id": "8447388090497",
            "brand_id": "8447346621310",
            "created_at": "2026-03-02T14:55:07Z",
            "custom_status": "8447388088590",
            "description": "Since this morning every login attempt fails with error 500. "
            "Our whole team is locked out!",
            "external_id": None,
            "form_id": "8646151517822",
            "group_id": "8447320466430",
            "id": "5158",
            "is_public": True,
            "organization_id": "8447346622462",
            "priority": "URGENT",
            "requester_id": "8447388090494",
            "status": "NEW",
            "subject": "Cannot log in - error 500",
            "submitter_id": "8447388090494",
            "tags": ["area_login", "tier_enterprise", "vip"],
            "type": "INCIDENT",
            "updated_at": "2026-03-02T14:55:07Z",
            "via": {"channel": "web_form"},
        },
        "event": {},
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "subject": "zen:ticket:5158",
        "time": "2026-03-02T14:55:07.672717030Z",
        "type": "zen:event-type:ticket.created",
        "zendesk_event_version": "2022-11-06",
    }


def zendesk_comment_added(*, staff: bool, public: bool = True, body: str = "") -> dict[str, Any]:
    envelope = zendesk_ticket_created()
    envelope["id"] = "0c5e4f7b-8d2e-4a55-9a35-3c2b8f1e77aa" if staff else "a1f0d1e5-comment-1"
    envelope["type"] = "zen:event-type:ticket.comment_added"
    envelope["time"] = "2026-03-02T15:10:00Z"
    envelope["detail"] = {**envelope["detail"], "status": "OPEN"}
    envelope["event"] = {
        "comment": {
            "id": "39587213405" if staff else "39587213999",
            "body": body or ("We are looking into it." if staff else "Still broken!!"),
            "is_public": public,
            "author": {
                "id": "8447388090497" if staff else "8447388090494",
                "is_staff": staff,
                "name": "Ann Agent" if staff else "Carl Customer",
            },
        }
    }
    return envelope


def test_zendesk_bodies_match_the_vendor_schema() -> None:
    schema = json.loads(ZENDESK_SCHEMA.read_text())
    for body in (zendesk_ticket_created(), zendesk_comment_added(staff=True)):
        jsonschema.validate(body, schema)


def test_zendesk_ticket_created() -> None:
    mapped = map_zendesk(zendesk_ticket_created())
    assert isinstance(mapped, Mapped)
    assert mapped.event_key == "cbe4028c-7239-495d-b020-f22348516046"
    e = mapped.event
    assert e.ticket_id == "ZD-5158"
    assert e.event_type is EventType.CREATED
    assert e.subject == "Cannot log in - error 500"
    assert "locked out" in e.description
    assert e.channel is Channel.WEB
    assert e.product_area == "login"
    assert e.requester_priority is Priority.P0
    assert e.status is TicketStatus.NEW
    assert e.created_at == datetime(2026, 3, 2, 14, 55, 7, tzinfo=UTC)
    assert e.customer.customer_id == "zd-org-8447346622462"
    assert e.customer.tier is CustomerTier.ENTERPRISE
    assert e.customer.vip is True
    assert e.agent.agent_id == "8447388090497"


def test_zendesk_comment_roles_and_first_response() -> None:
    customer = map_zendesk(zendesk_comment_added(staff=False))
    assert isinstance(customer, Mapped)
    [comment] = customer.event.comments
    assert comment.author_role is AuthorRole.CUSTOMER and comment.body == "Still broken!!"
    assert customer.event.event_type is EventType.COMMENTED
    assert customer.event.first_response_at is None

    agent = map_zendesk(zendesk_comment_added(staff=True))
    assert isinstance(agent, Mapped)
    assert agent.event.comments[0].author_role is AuthorRole.AGENT
    assert agent.event.first_response_at == datetime(2026, 3, 2, 15, 10, tzinfo=UTC)

    note = map_zendesk(zendesk_comment_added(staff=True, public=False, body="- tried a reset"))
    assert isinstance(note, Mapped)
    assert note.event.comments[0].public is False
    assert note.event.first_response_at is None  # an internal note is no response


def test_zendesk_status_solved_and_other_events() -> None:
    body = zendesk_ticket_created()
    body["type"] = "zen:event-type:ticket.status_changed"
    body["detail"]["status"] = "SOLVED"
    body["event"] = {"current": "SOLVED", "previous": "OPEN"}
    mapped = map_zendesk(body)
    assert isinstance(mapped, Mapped) and mapped.event.resolved
    assert mapped.event.event_type is EventType.UPDATED

    user = {**zendesk_ticket_created(), "type": "zen:event-type:user.created"}
    assert isinstance(map_zendesk(user), Ignored)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"type": "ticket.created"},  # not an event subscription
        {**zendesk_ticket_created(), "id": None},
        {**zendesk_ticket_created(), "detail": "nope"},
    ],
)
def test_zendesk_unreadable(body: Any) -> None:
    with pytest.raises(MappingError):
        map_zendesk(body)


def intercom_notification(topic: str, parts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "notification_event",
        "app_id": "abc123de",
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "215469843251234",
                "title": None,
                "created_at": 1772463300,  # 2026-03-02T14:55:00Z
                "updated_at": 1772463900,
                "waiting_since": 1772463900,
                "snoozed_until": None,
                "open": True,
                "state": "open",
                "read": False,
                "priority": "priority",
                "admin_assignee_id": 5017691,
                "team_assignee_id": None,
                "tags": {
                    "type": "tag.list",
                    "tags": [{"type": "tag", "id": "81", "name": "billing"}],
                },
                "source": {
                    "type": "conversation",
                    "id": "2151234567",
                    "delivered_as": "customer_initiated",
                    "subject": "",
                    "body": "<p>I was charged twice for March.</p><p>Please refund $1,200.</p>",
                    "author": {
                        "type": "user",
                        "id": "63a07ddf05a32042dffac965",
                        "name": "Carl Customer",
                        "email": "carl@globex.example",
                    },
                    "attachments": [],
                    "url": None,
                    "redacted": False,
                },
                "contacts": {
                    "type": "contact.list",
                    "contacts": [
                        {
                            "type": "contact",
                            "id": "63a07ddf05a32042dffac965",
                            "external_id": "cust-77",
                        }
                    ],
                },
                "custom_attributes": {
                    "Product area": "Billing",
                    "tier": "business",
                    "billing_amount": "1200",
                },
                "statistics": {"type": "conversation_statistics", "first_admin_reply_at": None},
                "conversation_parts": {
                    "type": "conversation_part.list",
                    "conversation_parts": parts or [],
                    "total_count": len(parts or []),
                },
            },
        },
        "links": {},
        "id": "notif_ccd8a4d2-3159-4c4a-9b1a-1c4e3b2a9f10",
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1772463905,
        "created_at": 1772463905,
        "self": None,
    }


def test_intercom_conversation_created() -> None:
    mapped = map_intercom(intercom_notification("conversation.user.created"))
    assert isinstance(mapped, Mapped)
    assert mapped.event_key == "notif_ccd8a4d2-3159-4c4a-9b1a-1c4e3b2a9f10"
    e = mapped.event
    assert e.ticket_id == "IC-215469843251234"
    assert e.event_type is EventType.CREATED
    assert e.description == "I was charged twice for March.\nPlease refund $1,200."
    assert e.channel is Channel.CHAT
    assert e.product_area == "billing"
    assert e.billing_amount == Decimal(1200)
    assert e.customer.customer_id == "ic-contact-63a07ddf05a32042dffac965"
    assert e.customer.tier is CustomerTier.BUSINESS
    assert e.requester_priority is Priority.P1
    assert e.agent.agent_id == "5017691"
    assert e.created_at == datetime(2026, 3, 2, 14, 55, tzinfo=UTC)


def test_intercom_replies_and_notes() -> None:
    parts = [
        {
            "type": "conversation_part",
            "id": "7001",
            "part_type": "comment",
            "body": "<p>Sorry about that, checking now.</p>",
            "created_at": 1772463960,
            "author": {"type": "admin", "id": "5017691", "name": "Ann"},
        },
        {
            "type": "conversation_part",
            "id": "7002",
            "part_type": "note",
            "body": "<p>Tried refund tool - it errors</p>",
            "created_at": 1772464020,
            "author": {"type": "admin", "id": "5017691", "name": "Ann"},
        },
        {
            "type": "conversation_part",
            "id": "7003",
            "part_type": "assignment",
            "body": None,
            "created_at": 1772464030,
            "author": {"type": "bot", "id": "1", "name": "Operator"},
        },
        {
            "type": "conversation_part",
            "id": "7004",
            "part_type": "comment",
            "body": "This is unacceptable, I want a manager.",
            "created_at": 1772464080,
            "author": {"type": "user", "id": "63a07ddf05a32042dffac965", "name": "Carl"},
        },
    ]
    mapped = map_intercom(intercom_notification("conversation.user.replied", parts))
    assert isinstance(mapped, Mapped)
    e = mapped.event
    assert e.event_type is EventType.COMMENTED
    assert [(c.comment_id, c.author_role, c.public) for c in e.comments] == [
        ("7001", AuthorRole.AGENT, True),
        ("7002", AuthorRole.AGENT, False),
        ("7004", AuthorRole.CUSTOMER, True),
    ]
    assert e.first_response_at == datetime.fromtimestamp(1772463960, tz=UTC)


def test_intercom_closed_and_ping() -> None:
    body = intercom_notification("conversation.admin.closed")
    body["data"]["item"]["state"] = "closed"
    mapped = map_intercom(body)
    assert isinstance(mapped, Mapped) and mapped.event.status is TicketStatus.SOLVED
    ping = {"type": "notification_event", "topic": "ping", "id": "notif_1", "data": {}}
    assert isinstance(map_intercom(ping), Ignored)
    assert isinstance(map_intercom({**ping, "topic": "contact.created"}), Ignored)
    with pytest.raises(MappingError):
        map_intercom({"type": "something"})


def freshdesk_body(**changes: Any) -> dict[str, Any]:
    ticket = {
        "ticket_id": "8123",
        "ticket_subject": "Invoice shows wrong VAT",
        "ticket_description": "<div>Our invoice INV-2231 charges 25% VAT instead of 19%.</div>",
        "ticket_status": "Open",
        "ticket_priority": "High",
        "ticket_source": "Email",
        "ticket_tags": "billing, tier_enterprise",
        "ticket_type": "Billing",
        "ticket_created_at": "Mon, 02 Mar 2026 14:40:00 +0000",
        "ticket_company_id": "4100012",
        "ticket_company_name": "Globex",
        "ticket_requester_id": "77001",
        "ticket_agent_id": "",
        "ticket_latest_public_comment": "",
        "triggered_event": "{ticket_action:created}",
    }
    ticket.update(changes)
    return {"freshdesk_webhook": ticket}


def test_freshdesk_ticket_created() -> None:
    mapped = map_freshdesk(freshdesk_body(), RECEIVED)
    assert isinstance(mapped, Mapped) and mapped.event_key is None  # keyed on the body
    e = mapped.event
    assert e.ticket_id == "FD-8123"
    assert e.event_type is EventType.CREATED
    assert e.description == "Our invoice INV-2231 charges 25% VAT instead of 19%."
    assert e.requester_priority is Priority.P1
    assert e.channel is Channel.EMAIL
    assert e.tags == ["billing", "tier_enterprise"]
    assert e.product_area == "billing"
    assert e.customer.customer_id == "fd-company-4100012"
    assert e.customer.tier is CustomerTier.ENTERPRISE
    assert e.created_at == datetime(2026, 3, 2, 14, 40, tzinfo=UTC)
    assert e.agent.agent_id is None


def test_freshdesk_integers_reply_and_fallbacks() -> None:
    mapped = map_freshdesk(
        {
            "ticket_id": 8124,
            "ticket_status": 4,
            "ticket_priority": 4,
            "ticket_source": 7,
            "ticket_created_at": "not a date",
            "ticket_latest_public_comment": "<p>Thanks, that fixed it</p>",
            "triggered_event": "{reply:customer}",
        },
        RECEIVED,
    )
    assert isinstance(mapped, Mapped)
    e = mapped.event
    assert e.status is TicketStatus.SOLVED
    assert e.requester_priority is Priority.P0
    assert e.channel is Channel.CHAT
    assert e.created_at == RECEIVED  # unparseable creation time: the delivery time
    assert e.customer.customer_id == "fd-contact-8124"
    assert e.comments[0].author_role is AuthorRole.CUSTOMER
    with pytest.raises(MappingError):
        map_freshdesk({"freshdesk_webhook": {"ticket_subject": "no id"}}, RECEIVED)


def test_merge_history_folds_comments_and_keeps_what_vendors_do_not_send() -> None:
    created = map_zendesk(zendesk_ticket_created())
    assert isinstance(created, Mapped)
    first = created.event.model_copy(
        update={
            "customer": created.event.customer.model_copy(
                update={"arr": Decimal(250_000), "health_score": 40}
            )
        }
    )
    reply = map_zendesk(zendesk_comment_added(staff=True))
    again = map_zendesk(zendesk_comment_added(staff=False))
    assert isinstance(reply, Mapped) and isinstance(again, Mapped)
    merged = merge_history(merge_history(first, reply.event), again.event)
    assert [c.author_role for c in merged.comments] == [AuthorRole.AGENT, AuthorRole.CUSTOMER]
    assert merged.first_response_at == datetime(2026, 3, 2, 15, 10, tzinfo=UTC)
    assert merged.customer.arr == Decimal(250_000)
    assert merged.customer.health_score == 40
    assert merged.description.startswith("Since this morning")
    # the same comment delivered twice is kept once
    assert len(merge_history(merged, again.event).comments) == 2
    assert merge_history(None, again.event) == again.event


def test_helpers() -> None:
    assert html_to_text("<p>a &amp; b</p><p>c<br>d</p>") == "a & b\nc\nd"
    assert parse_time("2026-03-02T14:55:07.672717030Z") == datetime(
        2026, 3, 2, 14, 55, 7, 672717, tzinfo=UTC
    )
    assert parse_time(1772463300) == datetime(2026, 3, 2, 14, 55, tzinfo=UTC)
    assert parse_time("2026-03-02 14:55:00") == datetime(2026, 3, 2, 14, 55, tzinfo=UTC)
    assert parse_time("garbage") is None
