"""Zendesk trigger/automation webhook bodies (the prescribed template, every placeholder
rendered as a string) mapped onto TicketEvent (escalation/zendesk_trigger.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from escalation.helpdesk_mapping import Mapped, MappingError
from escalation.triggers import AuthorRole, Channel, EventType, TicketStatus
from escalation.vocabulary import CustomerTier, Priority
from escalation.zendesk_trigger import TRIGGER_TEMPLATE, map_zendesk_trigger


def rendered(**changes: Any) -> dict[str, Any]:
    """The template as Zendesk renders it for a comment on ticket 5158: strings only."""
    body: dict[str, Any] = {
        "ticket_id": "5158",
        "updated_at": "2026-03-02T15:10:00Z",
        "created_at": "2026-03-02T14:55:07Z",
        "subject": "Cannot log in - error 500",
        "description": "Every login attempt fails with error 500.",
        "status": "Open",
        "priority": "Urgent",
        "via": "Web Form",
        "tags": "area_login tier_enterprise vip",
        "requester_id": "8447388090494",
        "organization_id": "8447346622462",
        "organization_name": "Globex",
        "assignee_id": "",
        "latest_comment_id": "9001",
        "latest_comment": "<p>Still broken. I want to speak to a manager.</p>",
        "latest_comment_author_id": "8447388090494",
        "latest_comment_public": "true",
    }
    body.update(changes)
    return body


def mapped(body: dict[str, Any]) -> Mapped:
    result = map_zendesk_trigger(body)
    assert isinstance(result, Mapped)
    return result


def test_template_covers_every_key_the_mapper_reads() -> None:
    assert set(rendered()) == set(TRIGGER_TEMPLATE)
    assert all(v.startswith("{{") and v.endswith("}}") for v in TRIGGER_TEMPLATE.values())


def test_readme_shows_the_template_the_mapper_reads() -> None:
    # The README is where admins copy the template from; the module keeps the only other copy.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", readme, flags=re.DOTALL)
    templates = [json.loads(b) for b in blocks if "{{ticket.updated_at_with_timestamp}}" in b]
    assert templates == [TRIGGER_TEMPLATE]


def test_strings_for_numbers_and_display_text() -> None:
    result = mapped(rendered())
    event = result.event
    assert event.ticket_id == "ZD-5158"
    assert result.event_key == "trigger:5158@2026-03-02T15:10:00+00:00" == event.event_id
    assert event.event_type is EventType.COMMENTED
    assert event.status is TicketStatus.OPEN and event.requester_priority is Priority.P0
    assert event.channel is Channel.WEB and event.product_area == "login"
    assert event.customer.customer_id == "zd-org-8447346622462"
    assert event.customer.tier is CustomerTier.ENTERPRISE and event.customer.vip
    assert event.customer.name == "Globex" and event.agent.agent_id is None  # "" is absent
    [comment] = event.comments
    assert comment.author_role is AuthorRole.CUSTOMER and comment.comment_id == "9001"
    assert comment.body == "Still broken. I want to speak to a manager."
    assert event.first_response_at is None


def test_real_json_numbers_map_like_strings() -> None:
    as_numbers = rendered(ticket_id=5158, requester_id=8447388090494, organization_id=8447346622462)
    as_numbers["latest_comment_author_id"] = 8447388090494
    assert mapped(as_numbers).event == mapped(rendered()).event


def test_agent_reply_pending_and_no_priority() -> None:
    event = mapped(
        rendered(
            status="Pending",
            priority="-",
            latest_comment="We are looking into it.",
            latest_comment_author_id="42",
        )
    ).event
    assert event.status is TicketStatus.PENDING and event.requester_priority is None
    assert event.comments[0].author_role is AuthorRole.AGENT
    assert event.first_response_at == event.comments[0].created_at


def test_created_does_not_repeat_the_description_as_a_comment() -> None:
    description = "Every login attempt fails with error 500."
    event = mapped(rendered(updated_at="2026-03-02T14:55:07Z", latest_comment=description)).event
    assert event.event_type is EventType.CREATED and event.comments == []


def test_internal_note_is_not_public() -> None:
    event = mapped(rendered(latest_comment_author_id="42", latest_comment_public="false")).event
    assert event.comments[0].public is False and event.first_response_at is None


def test_without_updated_at_the_router_keys_on_the_body() -> None:
    result = mapped(rendered(updated_at=""))
    assert result.event_key is None and result.event.event_id is None


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"ticket_id": ""},
        {"ticket_id": "-"},
        {"ticket_id": "1", "created_at": "", "updated_at": ""},
        {"type": "zen:event-type:ticket.created", "ticket_id": "1"},
    ],
)
def test_unreadable_bodies(body: Any) -> None:
    with pytest.raises(MappingError):
        map_zendesk_trigger(body)
