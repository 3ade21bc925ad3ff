"""TriggerPolicy: the defaults are the issue's numbers, and it loads from a plain dict."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from escalation.triggers import TriggerKind, TriggerMode, TriggerPolicy
from escalation.triggers.policy import AgeMeasure
from escalation.vocabulary import Priority

POLICY = TriggerPolicy()


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("sla_breach_imminent_fraction", 0.95),
        ("negative_sentiment_below", -0.7),
        ("revenue_impact_above", Decimal(10_000)),
        ("repeat_min_tickets", 3),
        ("repeat_window_hours", 48),
        ("mass_pattern_min_tickets", 5),
        ("mass_pattern_window_minutes", 60),
        ("health_drop_points", 20),
        ("billing_finance_manager_above", Decimal(1_000)),
        ("investigation_minutes", 30),
        ("requester_p0_downgrade_to", Priority.P1),
    ],
)
def test_defaults_are_the_issue_numbers(field: str, expected: object) -> None:
    assert getattr(POLICY, field) == expected


@pytest.mark.parametrize(
    ("priority", "minutes", "without"),
    [
        (Priority.P0, 30, AgeMeasure.FIRST_RESPONSE),
        (Priority.P1, 120, AgeMeasure.FIRST_RESPONSE),
        (Priority.P2, 480, AgeMeasure.RESOLUTION),
        (Priority.P3, 1440, AgeMeasure.RESOLUTION),
    ],
)
def test_age_thresholds(priority: Priority, minutes: float, without: AgeMeasure) -> None:
    rule = POLICY.ticket_age.for_priority(priority)
    assert (rule.minutes, rule.without) == (minutes, without)


def test_every_trigger_has_a_rule() -> None:
    for kind in TriggerKind:
        assert POLICY.rule(kind).enabled


@pytest.mark.parametrize(
    ("kind", "mode"),
    [
        (TriggerKind.COMPLAINT_LANGUAGE, TriggerMode.SUGGEST),
        (TriggerKind.NEGATIVE_SENTIMENT, TriggerMode.SUGGEST),
        (TriggerKind.SECURITY_KEYWORDS, TriggerMode.AUTO),
        (TriggerKind.MASS_PATTERN, TriggerMode.AUTO),
        (TriggerKind.SLA_BREACH_IMMINENT, TriggerMode.AUTO),
    ],
)
def test_default_modes(kind: TriggerKind, mode: TriggerMode) -> None:
    assert POLICY.rule(kind).mode is mode


def test_loads_from_a_plain_dict_merging_partial_sections() -> None:
    data: dict[str, Any] = {
        "sla_breach_imminent_fraction": 0.9,
        "revenue_impact_above": 25000,
        "rules": {"negative_sentiment": {"mode": "auto"}},
        "ticket_age": {"P0": {"minutes": 15, "without": "first_response"}},
        "phrases": {"complaint": {"phrases": ["not impressed"]}},
    }
    policy = TriggerPolicy.model_validate(data)
    assert policy.sla_breach_imminent_fraction == 0.9
    assert policy.revenue_impact_above == Decimal(25000)
    rule = policy.rule(TriggerKind.NEGATIVE_SENTIMENT)
    assert rule.mode is TriggerMode.AUTO
    assert rule.priority is Priority.P3  # kept from the trigger's default
    assert policy.rule(TriggerKind.LEGAL_KEYWORDS) == POLICY.rule(TriggerKind.LEGAL_KEYWORDS)
    assert policy.ticket_age.P0.minutes == 15
    assert policy.ticket_age.P3 == POLICY.ticket_age.P3
    assert policy.phrases.complaint.phrases == ["not impressed"]
    assert policy.phrases.complaint.exclusions == POLICY.phrases.complaint.exclusions


def test_round_trips_through_a_dict() -> None:
    assert TriggerPolicy.model_validate(POLICY.model_dump(mode="json")) == POLICY


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"sla_breach_imminent_fraction": 1.5}, "sla_breach_imminent_fraction"),
        ({"negative_sentiment_below": -2}, "negative_sentiment_below"),
        ({"revenue_impact_above": -1}, "revenue_impact_above"),
        ({"rules": {"no_such_trigger": {"mode": "auto"}}}, "rules.no_such_trigger"),
        ({"rules": {"mass_pattern": {"mode": "sometimes"}}}, "rules.mass_pattern.mode"),
        ({"phrases": {"legal": {"phrases": ["(lawsuit"]}}}, "phrases.legal.phrases"),
        ({"triggers_typo": 1}, "triggers_typo"),
    ],
)
def test_bad_policy_names_the_field(data: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as err:
        TriggerPolicy.model_validate(data)
    locs = [".".join(str(p) for p in e["loc"]) for e in err.value.errors()]
    assert any(loc.startswith(where) for loc in locs), locs


def test_a_disabled_trigger_never_fires() -> None:
    from tests.unit.triggers.builders import make_event, run

    policy = TriggerPolicy.model_validate({"rules": {"agent_marked": {"enabled": False}}})
    decision = run(make_event(agent={"needs_escalation": True}), policy=policy)
    assert decision.triggers == []


def test_loads_from_the_triggers_section_of_a_policy_yaml() -> None:
    import yaml

    document = yaml.safe_load(
        """
        triggers:
          sla_breach_imminent_fraction: 0.9
          billing_finance_manager_above: 2500.00
          rules:
            negative_sentiment: {mode: auto}
          phrases:
            complaint: {phrases: ["not impressed"]}
        """
    )
    policy = TriggerPolicy.model_validate(document["triggers"])
    assert policy.billing_finance_manager_above == Decimal("2500")
    assert policy.rule(TriggerKind.NEGATIVE_SENTIMENT).mode is TriggerMode.AUTO
