"""The intake schema validates what the ticket system sends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from escalation.triggers import TicketEvent, TriggerDecision
from tests.unit.triggers.builders import QUIET, _merge, ago, comment, make_event


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sentiment_score": 1.2}, "sentiment_score"),
        ({"sentiment_score": -1.01}, "sentiment_score"),
        ({"customer": {"health_score": 101}}, "customer.health_score"),
        ({"customer": {"health_score_30d_ago": -1}}, "customer.health_score_30d_ago"),
        ({"billing_amount": -5}, "billing_amount"),
        ({"billing_amount": "NaN"}, "billing_amount"),
        ({"revenue_at_risk": -0.01}, "revenue_at_risk"),
        ({"agent": {"minutes_investigated": -3}}, "agent.minutes_investigated"),
        ({"agent": {"refund_limit": -3}}, "agent.refund_limit"),
        ({"self_service": {"kb_articles_viewed": -1}}, "self_service.kb_articles_viewed"),
        ({"subject": "x" * 1001}, "subject"),
        ({"ticket_id": "has space"}, "ticket_id"),
        ({"ticket_id": ""}, "ticket_id"),
        ({"created_at": datetime(2026, 3, 2, 15, 0)}, "created_at"),  # naive
        ({"requester_priority": "P5"}, "requester_priority"),
        ({"customer": {"tier": "platinum"}}, "customer.tier"),
        ({"sla": {"resolution_minutes": 0}}, "sla.resolution_minutes"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"first_response_at": ago(hours=1)}, ""),  # before created_at
    ],
)
def test_rejects(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        make_event(**changes)
    locs = [".".join(str(p) for p in e["loc"]) for e in err.value.errors()]
    assert any(loc == field for loc in locs), locs


def test_accepts_a_full_event() -> None:
    event = make_event(
        event_id="zd-123",
        event_type="commented",
        comments=[comment("Any news?", minutes_ago=2), comment("Looking", role="agent")],
        channel="chat",
        requester_priority="P1",
        tags=[" VIP ", "Billing", ""],
        status="pending",
        first_response_at=ago(minutes=5),
        sla={"first_response_minutes": 60, "resolution_minutes": 480},
        customer={
            "tier": "enterprise",
            "arr": "120000",
            "health_score": 70,
            "health_score_30d_ago": 90,
        },
        agent={
            "agent_id": "A-9",
            "needs_escalation": True,
            "minutes_investigated": 12,
            "suspected_bug": True,
            "refund_limit": 100,
        },
        self_service={"chatbot_used": True, "kb_articles_viewed": 3},
        billing_amount="249.99",
        revenue_at_risk=50000,
        requested_person="Head of Support",
        sentiment_score=-0.4,
        product_area=" Billing ",
    )
    assert event.tags == ["vip", "billing"]
    assert event.product_area == "billing"


def test_customer_messages_are_the_customers_own_oldest_first() -> None:
    event = make_event(
        comments=[
            comment("second", minutes_ago=2),
            comment("agent reply", role="agent", minutes_ago=3),
            comment("first", minutes_ago=4),
        ]
    )
    assert [m.where for m in event.customer_messages()] == [
        "subject+description",
        "comments[2]",
        "comments[0]",
    ]
    assert [m.text for m in event.customer_messages()][1:] == ["first", "second"]


def test_json_schema_documents_every_field() -> None:
    schema = TicketEvent.model_json_schema()
    assert set(QUIET) <= set(schema["properties"])
    undocumented = [k for k, v in schema["properties"].items() if "description" not in v]
    assert undocumented == []
    TriggerDecision.model_json_schema()  # the response model is documentable too


def test_merge_helper_is_deep() -> None:
    assert _merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}
