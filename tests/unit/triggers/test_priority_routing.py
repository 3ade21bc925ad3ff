"""Priority rules and escalation paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from escalation.triggers import TicketContext, TriggerPolicy
from escalation.triggers.priority import raise_by
from escalation.vocabulary import Priority, RouteKey
from tests.unit.triggers.builders import ago, make_event, related, run

P0, P1, P2, P3 = Priority.P0, Priority.P1, Priority.P2, Priority.P3
MARKED = {"agent": {"needs_escalation": True}}
BURST = {
    "area_recent_tickets": [
        related(f"M-{i}", customer_id=f"C-{i + 2}", minutes_ago=5 + i * 5) for i in range(4)
    ]
}


@dataclass
class PriorityCase:
    id: str
    event: dict[str, Any]
    priority: Priority
    deciding: str  # source of the first (deciding) reason
    downgraded: bool = False
    context: dict[str, Any] = field(default_factory=dict)
    minutes_old: float = 10


PRIORITY_CASES = [
    PriorityCase("default P3", {}, P3, "default"),
    PriorityCase("requester P2", {"requester_priority": "P2"}, P2, "requester"),
    PriorityCase("requester P0 without signal", {"requester_priority": "P0"}, P1, "requester",
                 downgraded=True),
    PriorityCase("requester P0 with outage", {"requester_priority": "P0",
                 "description": "Site is down"}, P0, "requester"),
    PriorityCase("requester P0 with breach", {"requester_priority": "P0",
                 "description": "We had a data breach"}, P0, "requester"),
    PriorityCase("requester P0 with data loss", {"requester_priority": "P0",
                 "description": "All our files were deleted"}, P0, "requester"),
    PriorityCase("requester P0 with mass pattern", {"requester_priority": "P0"}, P0, "requester",
                 context=BURST),
    PriorityCase("outage raises P3", {"description": "The API is down"}, P0, "critical_issue"),
    PriorityCase("legal", {"description": "Our lawyers are involved"}, P1, "legal_keywords"),
    PriorityCase("revenue", {"revenue_at_risk": 20_000}, P1, "revenue_impact"),
    PriorityCase("VIP", {"customer": {"tier": "strategic"}, "tags": ["urgent"]}, P1,
                 "vip_critical"),
    PriorityCase("manager request", {"description": "Get me a supervisor"}, P2,
                 "explicit_request"),
    PriorityCase("repeats", {}, P2, "repeated_contacts", context={
        "customer_recent_tickets": [related("R-1"), related("R-2", minutes_ago=90)]}),
    PriorityCase("health drop", {"customer": {"health_score": 40, "health_score_30d_ago": 70}},
                 P2, "health_drop"),
    PriorityCase("requester P1 beats P2 floor", {"requester_priority": "P1",
                 "description": "Get me a supervisor"}, P1, "requester"),
    PriorityCase("SLA bumps P3 to P2", {"sla": {"resolution_minutes": 60}}, P2,
                 "sla_breach_imminent", minutes_old=58),
    PriorityCase("SLA bump stops at P1 without a critical signal", {"requester_priority": "P1",
                 "sla": {"resolution_minutes": 60}}, P1, "requester", minutes_old=58),
]  # fmt: skip


@pytest.mark.parametrize("case", PRIORITY_CASES, ids=[c.id for c in PRIORITY_CASES])
def test_priority(case: PriorityCase) -> None:
    event = make_event(created_at=ago(minutes=case.minutes_old), **case.event)
    decision = run(event, TicketContext.model_validate(case.context))
    assert decision.priority is case.priority, decision.priority_reasons
    assert decision.priority_reasons[0].source == case.deciding
    assert decision.priority_reasons[0].priority is case.priority
    assert (decision.priority_downgrade is not None) is case.downgraded


def test_p0_downgrade_is_recorded_with_its_reason() -> None:
    decision = run(make_event(requester_priority="P0", **MARKED))
    downgrade = decision.priority_downgrade
    assert downgrade is not None
    assert (downgrade.from_priority, downgrade.to_priority) == (P0, P1)
    assert "no outage, security or data-loss signal" in downgrade.reason
    assert "requester_p0_downgraded" in [r.rule for r in decision.rules_applied]


def test_p0_downgrade_target_is_policy() -> None:
    policy = TriggerPolicy(requester_p0_downgrade_to=P2)
    assert run(make_event(requester_priority="P0"), policy=policy).priority is P2


@pytest.mark.parametrize(
    ("priority", "levels", "expected"),
    [(P3, 1, P2), (P3, 3, P0), (P1, 2, P0), (P0, 1, P0), (P2, 0, P2)],
)
def test_raise_by(priority: Priority, levels: int, expected: Priority) -> None:
    assert raise_by(priority, levels) is expected


@dataclass
class RouteCase:
    id: str
    event: dict[str, Any]
    route: RouteKey
    chain: list[str]
    flags: dict[str, bool] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


ROUTE_CASES = [
    RouteCase("technical", MARKED, RouteKey.TECHNICAL, ["L2 Technical Specialist"]),
    RouteCase("technical, bug suspected", {"agent": {"suspected_bug": True}}, RouteKey.TECHNICAL,
              ["L2 Technical Specialist", "Engineering"], {"file_bug": True}),
    RouteCase("billing $1,001", {**MARKED, "billing_amount": 1001}, RouteKey.BILLING,
              ["Billing Specialist", "Finance Manager"], {"finance_manager": True}),
    RouteCase("billing $999", {**MARKED, "billing_amount": 999}, RouteKey.BILLING,
              ["Billing Specialist"], {"finance_manager": False}),
    RouteCase("billing $1,000", {**MARKED, "billing_amount": 1000}, RouteKey.BILLING,
              ["Billing Specialist"], {"finance_manager": False}),
    RouteCase("billing area", {**MARKED, "product_area": "payments"}, RouteKey.BILLING,
              ["Billing Specialist"]),
    RouteCase("security words", {"description": "Our account was hacked"}, RouteKey.SECURITY,
              ["Security Team"], {"bypass_queue": True}),
    RouteCase("account security area", {**MARKED, "product_area": "account_security"},
              RouteKey.SECURITY, ["Security Team"], {"bypass_queue": True}),
    RouteCase("legal", {"description": "We will take legal action"}, RouteKey.LEGAL,
              ["Legal Team"], {"legal_hold": True}),
    RouteCase("security and legal", {"description": "Data leak. Our attorneys will call."},
              RouteKey.SECURITY, ["Security Team", "Legal Team"],
              {"legal_hold": True, "bypass_queue": True}),
    RouteCase("outage", {"description": "Everything is down"}, RouteKey.OUTAGE,
              ["On-call Engineering", "Incident Commander"]),
    RouteCase("mass pattern", {}, RouteKey.OUTAGE,
              ["On-call Engineering", "Incident Commander"], context=BURST),
    RouteCase("VIP", {"customer": {"tier": "enterprise"}, "requester_priority": "P1"},
              RouteKey.VIP, ["Dedicated Senior Agent", "Support Manager",
                             "Customer Success Manager"]),
    RouteCase("VIP asking for a manager stays VIP", {"customer": {"vip": True},
              "tags": ["critical"], "description": "Get me a manager"}, RouteKey.VIP,
              ["Dedicated Senior Agent", "Support Manager", "Customer Success Manager"]),
    RouteCase("manager request", {"description": "Let me talk to your manager"},
              RouteKey.MANAGER_REQUEST, ["Support Manager"]),
    RouteCase("manager request beats billing", {"description": "I want a supervisor",
              "billing_amount": 5000}, RouteKey.MANAGER_REQUEST, ["Support Manager"]),
    RouteCase("plain escalation request", {"description": "Please escalate this"},
              RouteKey.TECHNICAL, ["L2 Technical Specialist"]),
    RouteCase("contract", {**MARKED, "description": "About our contract renewal"},
              RouteKey.ACCOUNT, ["Customer Success Manager"]),
    RouteCase("health drop alone", {"customer": {"health_score": 40, "health_score_30d_ago": 70}},
              RouteKey.ACCOUNT, ["Customer Success Manager"]),
    RouteCase("product feedback", {**MARKED, "product_area": "feature_request"},
              RouteKey.PRODUCT, ["Product Manager"], {"paging": False}),
    RouteCase("feedback words", {**MARKED, "description": "Feature request: dark mode"},
              RouteKey.PRODUCT, ["Product Manager"], {"paging": False}),
]  # fmt: skip


@pytest.mark.parametrize("case", ROUTE_CASES, ids=[c.id for c in ROUTE_CASES])
def test_route(case: RouteCase) -> None:
    decision = run(make_event(**case.event), TicketContext.model_validate(case.context))
    route = decision.route
    assert route.route is case.route, route
    assert route.chain == case.chain
    assert route.reason
    for flag, value in case.flags.items():
        assert getattr(route, flag) is value, flag


def test_every_route_is_covered() -> None:
    assert {c.route for c in ROUTE_CASES} == set(RouteKey)
