"""The organization policy: people, teams, routes and cadences, as validated data.

Every number of the escalation process lives here, not in code (DESIGN.md section 1). The
policy is loaded from YAML; a malformed file fails at start with an error that names the field
and the line, so an operator can fix it without reading a traceback.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from escalation.calendar import BusinessHours
from escalation.schedules import OnCallSchedule
from escalation.vocabulary import Priority, RouteKey

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> float:
    """'90s', '5m', '1h', '24h', '2d' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration such as '5m', '1h' or '24h' is required")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    else:
        raise ValueError(f"invalid duration {value!r}: use e.g. '0', '5m', '1h', '24h'")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Seconds = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StopCondition(StrEnum):
    """What makes a cadence step unnecessary when its time comes."""

    ACKNOWLEDGED = "acknowledged"  # someone acknowledged (or resolved)
    PICKED_UP = "picked_up"  # a specialist took the ticket: acknowledged, or resolved
    RESOLVED = "resolved"  # the escalation was resolved


class ActionKind(StrEnum):
    """What a cadence step does. Each kind maps to one delivery path in activities/."""

    PAGE = "page"  # PagerDuty (or Opsgenie, per team) incident for the target
    SLACK = "slack"  # message in a channel, with Acknowledge/Resolve/Reassign buttons
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"  # voice call
    STATUS_PAGE = "status_page"
    WAR_ROOM = "war_room"  # a new Slack channel with every responder invited
    EXECUTIVE_NOTIFICATION = "executive_notification"
    CUSTOMER_COMMUNICATION = "customer_communication"  # proactive update to the customer
    OWNERSHIP_CHANGE = "ownership_change"  # the target becomes the owner
    REASSIGN = "reassign"  # reassign from the team's pool
    IN_APP = "in_app"  # in-app notification for the team (shown on the dashboard)
    QUEUE = "queue"  # put the ticket on the specialist queue
    FILE_BUG = "file_bug"  # a bug in the team's tracker (Jira), with the context package
    HELPDESK_NOTE = "helpdesk_note"  # internal note on the ticket in the help desk


class Target(StrEnum):
    """Who an action addresses, resolved to people when the plan is made."""

    PRIMARY_ONCALL = "primary_oncall"
    SECONDARY_ONCALL = "secondary_oncall"
    TEAM_MANAGER = "team_manager"
    TEAM = "team"  # the team's channel / queue / pool
    SUPPORT_MANAGER = "support_manager"
    VP_ENGINEERING = "vp_engineering"
    VP_SUPPORT = "vp_support"
    EXECUTIVES = "executives"
    INCIDENT_COMMANDER = "incident_commander"
    CUSTOMER = "customer"
    RESPONDERS = "responders"  # everyone involved so far (war room)


class Person(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_.-]+$", max_length=64)
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    slack_user_id: str | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")
    timezone: str = "UTC"
    backup: str | None = None


class OnCall(_Strict):
    """Static on-call for a team. Full rotations arrive with the schedules issue; the lookup
    sits behind one activity so it can be swapped."""

    primary: str | None = None
    secondary: str | None = None


class PagingProvider(StrEnum):
    PAGERDUTY = "pagerduty"
    OPSGENIE = "opsgenie"


class Team(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=64)
    name: str
    slack_channel: str | None = None
    manager: str | None = None
    members: list[str] = Field(default_factory=list)
    oncall: OnCall = OnCall()
    paging: PagingProvider = PagingProvider.PAGERDUTY
    pagerduty_routing_key: str | None = None
    business_hours: BusinessHours | None = Field(
        default=None, description="when the team works; SLA clocks of non-critical tickets pause"
    )


class OrgRoles(_Strict):
    support_manager: str | None = None
    vp_engineering: str | None = None
    vp_support: str | None = None
    incident_commander: str | None = None
    executives: list[str] = Field(default_factory=list)


class Route(_Strict):
    """An escalation path: the chain of teams, first owner first."""

    chain: list[str] = Field(min_length=1)
    description: str = ""
    paging: bool = True  # product feedback goes to the backlog without paging anyone


class Action(_Strict):
    kind: ActionKind
    target: Target | None = None
    channel: str | None = None  # Slack channel for `slack`; defaults to the team channel
    note: str = ""


class CadenceStep(_Strict):
    at: Seconds = Field(description="offset from the escalation's start")
    stop_when: StopCondition | None = Field(
        default=None, description="skip this step when the condition already holds"
    )
    label: str = ""
    actions: list[Action] = Field(min_length=1)


class Cadence(_Strict):
    steps: list[CadenceStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Cadence:
        offsets = [step.at for step in self.steps]
        if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
            raise ValueError("cadence steps must have strictly increasing `at` offsets")
        if offsets[0] != 0:
            raise ValueError("a cadence starts with a step at 0 (T+0)")
        return self


class NoOneOnCall(StrEnum):
    """What a step does when nobody is on call for its target (the manager is told at once)."""

    SKIP = "skip"  # go on with the cadence
    WAIT = "wait"  # hold the step until someone is on call


class EscalationRules(_Strict):
    """Process rules that are not cadence steps."""

    max_bounces: int = Field(
        default=2, ge=1, description="reassignments between teams before manager arbitration"
    )
    no_one_on_call: NoOneOnCall = NoOneOnCall.SKIP
    no_one_on_call_recheck: Seconds = Field(default=300, description="re-check period of `wait`")


class Policy(_Strict):
    organization: str
    people: list[Person]
    teams: list[Team]
    roles: OrgRoles = OrgRoles()
    routes: dict[RouteKey, Route]
    cadences: dict[Priority, Cadence]
    rules: EscalationRules = EscalationRules()
    schedules: list[OnCallSchedule] = Field(
        default_factory=list, description="on-call rotations per team; static `oncall` otherwise"
    )
    # Other issues' sections (triggers, schedules) are validated by their own models.
    triggers: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Policy:
        people = {p.id for p in self.people}
        teams = {t.id for t in self.teams}
        problems: list[str] = []

        def need_person(pid: str | None, where: str) -> None:
            if pid is not None and pid not in people:
                problems.append(f"{where}: unknown person {pid!r}")

        for person in self.people:
            need_person(person.backup, f"people.{person.id}.backup")
        for team in self.teams:
            need_person(team.manager, f"teams.{team.id}.manager")
            need_person(team.oncall.primary, f"teams.{team.id}.oncall.primary")
            need_person(team.oncall.secondary, f"teams.{team.id}.oncall.secondary")
            for member in team.members:
                need_person(member, f"teams.{team.id}.members")
        for role, value in self.roles.model_dump().items():
            for pid in value if isinstance(value, list) else [value]:
                need_person(pid, f"roles.{role}")
        for key, route in self.routes.items():
            for team_id in route.chain:
                if team_id not in teams:
                    problems.append(f"routes.{key.value}.chain: unknown team {team_id!r}")
        for schedule in self.schedules:
            if schedule.team not in teams:
                problems.append(f"schedules.{schedule.team}: unknown team {schedule.team!r}")
            for pid in sorted(schedule.person_ids()):
                need_person(pid, f"schedules.{schedule.team}")
        missing = [p.value for p in Priority if p not in self.cadences]
        if missing:
            problems.append(f"cadences: missing {', '.join(missing)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def person(self, person_id: str) -> Person:
        return next(p for p in self.people if p.id == person_id)

    def team(self, team_id: str) -> Team:
        return next(t for t in self.teams if t.id == team_id)

    def schedule(self, team_id: str) -> OnCallSchedule | None:
        return next((s for s in self.schedules if s.team == team_id), None)

    def backups(self) -> dict[str, str]:
        """person id -> designated backup person id."""
        return {p.id: p.backup for p in self.people if p.backup}


class PolicyError(ValueError):
    """The policy file is malformed. The message names the file, line and field."""


def _node_line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Walk a composed YAML node tree along a pydantic error location; 1-based line."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next(
                (
                    v
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part)
                ),
                None,
            )
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        else:
            child = None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate policy YAML text."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: the policy must be a YAML mapping")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = _node_line(root, loc)
            field = ".".join(str(part) for part in loc) or "(top level)"
            where = f"{source}:{line}" if line else source
            messages.append(f"{where}: {field}: {error['msg']}")
        raise PolicyError("invalid policy\n  " + "\n  ".join(messages)) from None


def load_policy(path: Path) -> Policy:
    """Load the organization policy from a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from exc
    return parse_policy(text, str(path))
