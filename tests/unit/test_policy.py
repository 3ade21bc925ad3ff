"""The organization policy: the example loads, every cadence is exactly DESIGN.md's table,
and malformed files fail with the field and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from escalation.policy import (
    ActionKind,
    PolicyError,
    StopCondition,
    Target,
    load_policy,
    parse_duration,
    parse_policy,
)
from escalation.settings import DEFAULT_POLICY_PATH
from escalation.vocabulary import Priority, RouteKey

EXAMPLE = DEFAULT_POLICY_PATH.read_text()


def _minutes(priority: Priority) -> list[tuple[float, StopCondition | None]]:
    policy = load_policy(DEFAULT_POLICY_PATH)
    return [(s.at / 60, s.stop_when) for s in policy.cadences[priority].steps]


def test_example_policy_has_every_route_and_severity() -> None:
    policy = load_policy(DEFAULT_POLICY_PATH)
    assert set(policy.routes) == set(RouteKey)
    assert set(policy.cadences) == set(Priority)


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        (
            Priority.P0,
            [
                (0, None),
                (5, StopCondition.ACKNOWLEDGED),
                (15, StopCondition.RESOLVED),
                (30, StopCondition.RESOLVED),
            ],
        ),
        (Priority.P1, [(0, None), (15, StopCondition.ACKNOWLEDGED), (30, StopCondition.RESOLVED)]),
        (Priority.P2, [(0, None), (60, StopCondition.PICKED_UP), (240, StopCondition.RESOLVED)]),
        (Priority.P3, [(0, None), (24 * 60, StopCondition.RESOLVED)]),
    ],
)
def test_cadence_table_matches_design(
    priority: Priority, expected: list[tuple[float, StopCondition | None]]
) -> None:
    assert _minutes(priority) == expected


def test_p0_actions_match_design() -> None:
    steps = load_policy(DEFAULT_POLICY_PATH).cadences[Priority.P0].steps
    kinds = [[(a.kind, a.target) for a in s.actions] for s in steps]
    assert (ActionKind.PAGE, Target.PRIMARY_ONCALL) in kinds[0]
    assert (ActionKind.STATUS_PAGE, None) in kinds[0]
    assert (ActionKind.PAGE, Target.SECONDARY_ONCALL) in kinds[1]
    assert (ActionKind.WAR_ROOM, Target.RESPONDERS) in kinds[1]
    assert (ActionKind.EXECUTIVE_NOTIFICATION, Target.EXECUTIVES) in kinds[2]
    assert (ActionKind.CUSTOMER_COMMUNICATION, Target.CUSTOMER) in kinds[2]
    assert {
        (ActionKind.EMAIL, Target.VP_ENGINEERING),
        (ActionKind.EMAIL, Target.VP_SUPPORT),
    } == set(kinds[3])


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0),
        ("0", 0),
        ("90s", 90),
        ("5m", 300),
        ("1h", 3600),
        ("24h", 86400),
        ("2d", 172800),
        (1.5, 1.5),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["5 minutes", "-5m", "", True, None, "m5"])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_malformed_field_names_field_and_line() -> None:
    broken = EXAMPLE.replace("      - at: 5m\n", "      - at: 5 minutes\n", 1)
    with pytest.raises(PolicyError) as err:
        parse_policy(broken, "policy.yaml")
    line = _line_of(broken, "at: 5 minutes")
    assert f"policy.yaml:{line}: cadences.P0.steps.1.at" in str(err.value)
    assert "invalid duration" in str(err.value)


def test_unknown_action_kind_names_line() -> None:
    broken = EXAMPLE.replace("{kind: status_page}", "{kind: carrier_pigeon}", 1)
    with pytest.raises(PolicyError) as err:
        parse_policy(broken, "policy.yaml")
    line = _line_of(broken, "carrier_pigeon")
    assert f"policy.yaml:{line}: cadences.P0.steps.0.actions.3.kind" in str(err.value)


def test_unknown_person_reference_is_reported() -> None:
    broken = EXAMPLE.replace("support_manager: frank", "support_manager: nobody", 1)
    with pytest.raises(PolicyError, match=r"roles\.support_manager: unknown person 'nobody'"):
        parse_policy(broken)


def test_unordered_steps_rejected() -> None:
    broken = EXAMPLE.replace("      - at: 24h\n", "      - at: 0\n", 1)
    with pytest.raises(PolicyError, match="strictly increasing"):
        parse_policy(broken)


def test_missing_severity_rejected() -> None:
    start = EXAMPLE.index("  P3:\n")
    with pytest.raises(PolicyError, match="cadences: missing P3"):
        parse_policy(EXAMPLE[:start])


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not valid YAML"):
        parse_policy("a: [unclosed")
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "missing.yaml")
