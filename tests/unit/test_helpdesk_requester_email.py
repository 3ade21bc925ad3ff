"""The requester's email in the help-desk mappings (escalation/helpdesk_mapping.py): where it
comes from, that an unusable one is dropped rather than refusing the event, and that later
events of the ticket keep it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from escalation.helpdesk_mapping import Mapped, map_freshdesk, map_intercom, merge_history
from tests.unit.test_helpdesk_mapping import RECEIVED, freshdesk_body, intercom_notification


def freshdesk_email(value: Any) -> str | None:
    mapped = map_freshdesk(freshdesk_body(ticket_requester_email=value), RECEIVED)
    assert isinstance(mapped, Mapped)
    return mapped.event.customer.requester_email


def test_freshdesk_requester_email() -> None:
    assert freshdesk_email(" it@globex.example ") == "it@globex.example"
    mapped = map_freshdesk(freshdesk_body(), RECEIVED)
    assert isinstance(mapped, Mapped) and mapped.event.customer.requester_email is None


@pytest.mark.parametrize(
    "value", ["{{ticket.requester.email}}", "", "Jane <jane@x.example>", 42, "a@" + "b" * 260]
)
def test_an_unusable_freshdesk_email_is_dropped_not_the_event(value: Any) -> None:
    assert freshdesk_email(value) is None


def test_intercom_takes_the_email_of_a_customer_author_only() -> None:
    body = intercom_notification("conversation.user.created")
    mapped = map_intercom(body)
    assert isinstance(mapped, Mapped)
    assert mapped.event.customer.requester_email == "carl@globex.example"
    outbound = copy.deepcopy(body)
    outbound["data"]["item"]["source"]["author"] = {
        "type": "admin",
        "id": "5017691",
        "email": "agent@our-company.example",
    }
    mapped = map_intercom(outbound)
    assert isinstance(mapped, Mapped) and mapped.event.customer.requester_email is None


def test_a_later_event_without_the_email_keeps_it() -> None:
    first = map_freshdesk(freshdesk_body(ticket_requester_email="it@globex.example"), RECEIVED)
    later = map_freshdesk(freshdesk_body(ticket_status="Pending"), RECEIVED)
    assert isinstance(first, Mapped) and isinstance(later, Mapped)
    merged = merge_history(first.event, later.event)
    assert merged.customer.requester_email == "it@globex.example"
