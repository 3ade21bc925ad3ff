"""Freezing a plan: route chain, team, on-call people and targets resolved from the policy."""

from __future__ import annotations

import pytest

from escalation.models import PlanRequest
from escalation.planning import PlanError, build_plan
from escalation.policy import ActionKind, Policy, Target
from escalation.vocabulary import Priority, RouteKey


def test_outage_p0_plan(policy: Policy) -> None:
    plan = build_plan(
        policy, PlanRequest(ticket_id="T1", priority=Priority.P0, route=RouteKey.OUTAGE)
    )
    assert plan.chain == ["engineering", "incident-command"]
    assert plan.team == "engineering"
    assert plan.primary_oncall and plan.primary_oncall.person_id == "dan"
    assert plan.secondary_oncall and plan.secondary_oncall.person_id == "erin"
    step1 = plan.steps[1]
    secondary = next(a for a in step1.actions if a.target is Target.SECONDARY_ONCALL)
    assert [r.person_id for r in secondary.recipients] == ["erin"]
    vp = next(a for a in step1.actions if a.target is Target.VP_ENGINEERING)
    assert [r.person_id for r in vp.recipients] == ["ivy"]
    slack = next(a for a in plan.steps[0].actions if a.kind is ActionKind.SLACK)
    assert slack.channel == "#incidents"


def test_team_override_and_default_channel(policy: Policy) -> None:
    plan = build_plan(
        policy,
        PlanRequest(
            ticket_id="T1", priority=Priority.P2, route=RouteKey.TECHNICAL, team="security"
        ),
    )
    assert plan.team == "security" and plan.chain == ["security", "engineering"]
    slack = next(a for a in plan.steps[0].actions if a.kind is ActionKind.SLACK)
    assert slack.channel == "#security"


def test_product_route_never_pages(policy: Policy) -> None:
    plan = build_plan(
        policy, PlanRequest(ticket_id="T1", priority=Priority.P0, route=RouteKey.PRODUCT)
    )
    kinds = {a.kind for step in plan.steps for a in step.actions}
    assert ActionKind.PAGE not in kinds and ActionKind.PHONE not in kinds


def test_customer_target_needs_an_email(policy: Policy) -> None:
    without = build_plan(
        policy, PlanRequest(ticket_id="T1", priority=Priority.P0, route=RouteKey.OUTAGE)
    )
    with_email = build_plan(
        policy,
        PlanRequest(
            ticket_id="T1",
            priority=Priority.P0,
            route=RouteKey.OUTAGE,
            customer_email="ops@x.example",
        ),
    )
    customer = next(a for a in without.steps[2].actions if a.target is Target.CUSTOMER)
    assert customer.recipients == []
    customer = next(a for a in with_email.steps[2].actions if a.target is Target.CUSTOMER)
    assert customer.recipients[0].email == "ops@x.example"


def test_unknown_team(policy: Policy) -> None:
    with pytest.raises(PlanError, match="unknown team"):
        build_plan(
            policy,
            PlanRequest(ticket_id="T1", priority=Priority.P0, route=RouteKey.OUTAGE, team="nope"),
        )


def test_static_fallback_skips_someone_on_time_off(policy: Policy) -> None:
    from datetime import UTC, datetime

    from escalation.oncall import resolve_oncall
    from escalation.schedules import TimeOff

    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    away = TimeOff(
        person="max",
        start=datetime(2026, 11, 30, tzinfo=UTC),
        end=datetime(2026, 12, 3, tzinfo=UTC),
    )
    resolution = resolve_oncall(policy, "security", at, time_off=[away])
    assert resolution.primary is None or resolution.primary.person_id != "max"
    assert resolve_oncall(policy, "security", at).primary is not None
