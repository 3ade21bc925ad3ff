"""The decision as a whole: action, the playbook's "WHAT NOT TO DO", incident, hold, reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from escalation.triggers import (
    DecisionAction,
    GuardRule,
    TicketContext,
    TriggerDecision,
    TriggerKind,
    TriggerPolicy,
    evaluate,
)
from tests.unit.triggers.builders import NOW, FixedScorer, ago, comment, make_event, related, run

K = TriggerKind
A = DecisionAction
ANGRY = "This is unacceptable, terrible service."


def burst(n: int, start: float = 5) -> TicketContext:
    return TicketContext(
        area_recent_tickets=[
            related(f"M-{i}", customer_id=f"C-{i + 2}", minutes_ago=start + 5 * i) for i in range(n)
        ]
    )


@pytest.mark.parametrize(
    ("changes", "action"),
    [
        ({}, A.NONE),
        ({"agent": {"needs_escalation": True}}, A.ESCALATE),
        ({"agent": {"minutes_investigated": 31}}, A.SUGGEST),  # suggest-mode trigger
        ({"self_service": {"chatbot_used": True, "kb_articles_viewed": 1}}, A.SUGGEST),
        ({"description": "Let me talk to your manager"}, A.ESCALATE),
        (
            {"agent": {"minutes_investigated": 31}, "revenue_at_risk": 50_000},
            A.ESCALATE,  # one auto trigger is enough
        ),
    ],
)
def test_action(changes: dict[str, Any], action: DecisionAction) -> None:
    decision = run(make_event(**changes))
    assert decision.action is action
    assert decision.escalate is (action in (A.ESCALATE, A.OUTAGE_INCIDENT))


# ---- anger alone: empathy first


@pytest.mark.parametrize(
    "changes",
    [
        {"description": ANGRY},
        {"sentiment_score": -0.95},
        {"description": ANGRY, "sentiment_score": -0.95},
    ],
)
def test_anger_alone_is_empathy_first_even_when_configured_auto(changes: dict[str, Any]) -> None:
    policy = TriggerPolicy.model_validate(
        {"rules": {"complaint_language": {"mode": "auto"}, "negative_sentiment": {"mode": "auto"}}}
    )
    decision = run(make_event(**changes), policy=policy)
    assert decision.action is A.SUGGEST
    assert [r.rule for r in decision.rules_applied] == [GuardRule.EMPATHY_FIRST]
    assert any("empathy" in g for g in decision.guidance)
    assert all(t.active for t in decision.triggers)  # found, just not auto-escalated


def test_empathy_first_can_be_turned_off() -> None:
    policy = TriggerPolicy.model_validate(
        {"empathy_first": False, "rules": {"complaint_language": {"mode": "auto"}}}
    )
    assert run(make_event(description=ANGRY), policy=policy).action is A.ESCALATE


@pytest.mark.parametrize(
    "extra",
    [
        {"description": ANGRY + " Let me talk to your manager."},
        {"description": ANGRY, "sla": {"first_response_minutes": 10}},
        {"description": ANGRY, "agent": {"needs_escalation": True}},
    ],
)
def test_anger_with_a_real_trigger_escalates(extra: dict[str, Any]) -> None:
    decision = run(make_event(**extra))
    assert decision.action is A.ESCALATE
    assert GuardRule.EMPATHY_FIRST not in [r.rule for r in decision.rules_applied]


# ---- billing within the agent's refund limit


@pytest.mark.parametrize(
    ("amount", "limit", "escalates"),
    [(80, 100, False), (100, 100, False), (101, 100, True), (999, None, True)],
)
def test_billing_within_refund_limit_does_not_escalate(
    amount: int, limit: int | None, escalates: bool
) -> None:
    event = make_event(
        product_area="billing",
        billing_amount=amount,
        description=ANGRY + " Let me talk to your manager.",
        agent={"needs_escalation": True, "refund_limit": limit},
    )
    decision = run(event)
    assert decision.escalate is escalates
    held = [
        t for t in decision.triggers if t.suppressed_by is GuardRule.BILLING_WITHIN_REFUND_LIMIT
    ]
    if escalates:
        assert held == []
    else:
        assert decision.action is A.NONE
        assert {t.kind for t in held} == {
            K.EXPLICIT_REQUEST,
            K.COMPLAINT_LANGUAGE,
            K.AGENT_MARKED,
        }
        assert decision.reason.startswith("No escalation: billing amount $")
        assert "refund limit" in decision.reason


def test_refund_limit_default_comes_from_policy() -> None:
    policy = TriggerPolicy(default_agent_refund_limit=250)
    event = make_event(billing_amount=200, agent={"needs_escalation": True})
    assert run(event, policy=policy).action is A.NONE
    assert run(event).action is A.ESCALATE


def test_serious_triggers_still_act_within_the_refund_limit() -> None:
    event = make_event(
        billing_amount=20,
        agent={"refund_limit": 100, "needs_escalation": True},
        description="Refund me or we take legal action",
    )
    decision = run(event)
    assert decision.action is A.ESCALATE
    assert decision.trigger(K.LEGAL_KEYWORDS).active  # type: ignore[union-attr]
    assert not decision.trigger(K.AGENT_MARKED).active  # type: ignore[union-attr]
    assert decision.legal_hold


def test_suppressed_triggers_do_not_raise_priority() -> None:
    event = make_event(
        billing_amount=20,
        agent={"refund_limit": 100},
        customer={"health_score": 10, "health_score_30d_ago": 90},
    )
    decision = run(event)
    assert decision.trigger(K.HEALTH_DROP) is not None
    assert decision.priority == "P3"


# ---- mass pattern: one outage incident


def test_mass_pattern_opens_one_incident_linking_the_tickets() -> None:
    decision = run(make_event(), burst(4))
    assert decision.action is A.OUTAGE_INCIDENT
    incident = decision.outage_incident
    assert incident is not None
    assert incident.ticket_ids == ["M-3", "M-2", "M-1", "T-100", "M-0"]  # oldest first
    assert incident.customers == 5
    assert incident.incident_key == "outage:reports:M-3"
    assert decision.priority == "P0"
    assert GuardRule.OUTAGE_INCIDENT in [r.rule for r in decision.rules_applied]


def test_every_ticket_of_a_burst_names_the_same_incident() -> None:
    first = run(make_event(), burst(4)).outage_incident
    later_event = make_event(ticket_id="T-101", created_at=ago(minutes=2))
    context = TicketContext(
        area_recent_tickets=[*burst(4).area_recent_tickets, related("T-100", minutes_ago=10)]
    )
    later = run(later_event, context).outage_incident
    assert first is not None and later is not None
    assert later.incident_key == first.incident_key
    assert later.ticket_ids[-1] == "T-101"


def test_mass_pattern_joins_an_open_incident() -> None:
    context = burst(4).model_copy(update={"open_outage_incident_id": "INC-7"})
    incident = run(make_event(), context).outage_incident
    assert incident is not None and incident.existing_incident_id == "INC-7"


def test_four_similar_tickets_are_no_incident() -> None:
    decision = run(make_event(), burst(3))
    assert decision.outage_incident is None
    assert decision.action is A.NONE


# ---- legal hold, reason, guidance


def test_legal_sets_the_hold() -> None:
    decision = run(make_event(description="We are preparing a lawsuit."))
    assert decision.legal_hold and decision.route.legal_hold
    assert GuardRule.LEGAL_HOLD in [r.rule for r in decision.rules_applied]
    assert decision.guidance[0].startswith("Legal hold")


def test_reason_says_need_help_because_with_the_evidence() -> None:
    event = make_event(
        created_at=ago(minutes=58),
        sla={"first_response_minutes": 60},
        comments=[comment("Let me talk to your manager")],
    )
    reason = run(event).reason
    assert reason.startswith("Need help because ")
    assert '"talk to your manager" in comments[0]' in reason
    assert "first response SLA breach imminent: 97% of 60 min elapsed (threshold 95%)" in reason
    assert reason.endswith("P1 to Support Manager (manager_request).")  # P2, SLA bump


def test_reason_when_nothing_fires() -> None:
    assert run(make_event()).reason == "No escalation: no trigger found."


def test_ignored_phrases_are_reported() -> None:
    decision = run(make_event(description="How do I get the SLA breach report template?"))
    assert decision.triggers == []
    [ignored] = decision.ignored_phrases
    assert ignored.category == "security" and ignored.reason.startswith("context")


# ---- clock


@pytest.mark.parametrize(
    ("changes", "minutes_old", "next_in"),
    [
        ({"sla": {"first_response_minutes": 60}}, 10, 47),  # 95 % of 60 min
        ({"sla": {"resolution_minutes": 600}}, 10, 560),  # 95 % of 600 min = 570 min
        ({"requester_priority": "P1"}, 10, 110),  # P1 2 h without response
        ({"requester_priority": "P1", "first_response_at": ago(minutes=1)}, 10, None),
        ({"status": "solved", "sla": {"resolution_minutes": 60}}, 10, None),
        ({}, 10, 1430),  # P3 24 h without resolution
    ],
)
def test_next_check_at(changes: dict[str, Any], minutes_old: float, next_in: float | None) -> None:
    event = make_event(created_at=ago(minutes=minutes_old), **changes)
    decision = run(event)
    expected = None if next_in is None else NOW + timedelta(minutes=next_in)
    assert decision.next_check_at == expected


def test_clock_evaluation_fires_when_next_check_comes() -> None:
    event = make_event(requester_priority="P1")
    first = run(event)
    assert first.trigger(K.TICKET_AGE) is None and first.next_check_at is not None
    later = run(event, now=first.next_check_at)
    assert later.trigger(K.TICKET_AGE) is not None
    assert later.action is A.ESCALATE


# ---- purity


def test_deterministic() -> None:
    event = make_event(description=ANGRY + " Site is down!", revenue_at_risk=99_999)
    context = burst(2)
    one = run(event, context).model_dump_json()
    assert all(run(event, context).model_dump_json() == one for _ in range(3))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(
            make_event(), TicketContext(), datetime(2026, 1, 1), TriggerPolicy(), FixedScorer()
        )


def test_decision_round_trips_as_json() -> None:
    decision = run(make_event(description="Data breach! Our lawyers will call."), burst(4))
    again = TriggerDecision.model_validate_json(decision.model_dump_json())
    assert again == decision


def test_vader_end_to_end(vader: Any) -> None:
    event = make_event(
        description="This is a disaster, I am furious and disgusted. Terrible, awful service.",
        first_response_at=ago(minutes=5),
        comments=[comment("Sorry, we are on it", role="agent", minutes_ago=5)],
    )
    decision = run(event, scorer=vader)
    assert decision.trigger(K.NEGATIVE_SENTIMENT) is not None
    assert decision.action is A.SUGGEST
