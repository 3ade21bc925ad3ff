"""Freeze an escalation's plan: route chain, team, on-call people and the cadence to walk.

Pure: the activity that calls it supplies the policy (and, later, live schedules).
"""

from __future__ import annotations

from escalation.models import EscalationPlan, PlannedAction, PlannedStep, PlanRequest, Recipient
from escalation.policy import Action, ActionKind, Person, Policy, Target, Team


class PlanError(ValueError):
    """The request names something the policy does not know."""


def recipient(person: Person) -> Recipient:
    return Recipient(
        person_id=person.id,
        name=person.name,
        email=person.email,
        slack_user_id=person.slack_user_id,
        phone=person.phone,
    )


def _people(policy: Policy, ids: list[str | None]) -> list[Recipient]:
    return [recipient(policy.person(pid)) for pid in ids if pid is not None]


def resolve_target(
    policy: Policy, team: Team, target: Target | None, customer: Recipient | None
) -> list[Recipient]:
    """Who a target means for this team, by the policy. Empty when nobody is configured."""
    roles = policy.roles
    match target:
        case None:
            return []
        case Target.PRIMARY_ONCALL:
            return _people(policy, [team.oncall.primary])
        case Target.SECONDARY_ONCALL:
            return _people(policy, [team.oncall.secondary])
        case Target.TEAM_MANAGER:
            return _people(policy, [team.manager])
        case Target.TEAM:
            return _people(policy, list(team.members))
        case Target.SUPPORT_MANAGER:
            return _people(policy, [roles.support_manager])
        case Target.VP_ENGINEERING:
            return _people(policy, [roles.vp_engineering])
        case Target.VP_SUPPORT:
            return _people(policy, [roles.vp_support])
        case Target.EXECUTIVES:
            return _people(policy, list(roles.executives))
        case Target.INCIDENT_COMMANDER:
            return _people(policy, [roles.incident_commander])
        case Target.CUSTOMER:
            return [customer] if customer is not None else []
        case Target.RESPONDERS:
            ids = [team.oncall.primary, team.oncall.secondary, team.manager]
            return _people(policy, list(dict.fromkeys(ids)))
    raise PlanError(f"unknown target {target!r}")  # pragma: no cover - exhaustive


def _plan_action(
    policy: Policy, team: Team, action: Action, customer: Recipient | None
) -> PlannedAction:
    channel = action.channel
    if action.kind is ActionKind.SLACK and channel is None:
        channel = team.slack_channel
    return PlannedAction(
        kind=action.kind,
        target=action.target,
        recipients=resolve_target(policy, team, action.target, customer),
        channel=channel,
        note=action.note,
    )


def build_plan(policy: Policy, request: PlanRequest) -> EscalationPlan:
    """The frozen plan for one escalation."""
    route = policy.routes.get(request.route)
    if route is None:
        raise PlanError(f"the policy has no route {request.route.value!r}")
    team_id = request.team or route.chain[0]
    if team_id not in {t.id for t in policy.teams}:
        raise PlanError(f"unknown team {team_id!r}")
    team = policy.team(team_id)
    customer = (
        Recipient(name=request.customer_name or "customer", email=request.customer_email)
        if request.customer_email
        else None
    )
    cadence = policy.cadences[request.priority]
    steps: list[PlannedStep] = []
    for index, step in enumerate(cadence.steps):
        actions = [_plan_action(policy, team, action, customer) for action in step.actions]
        if index == 0 and request.suspected_bug:
            actions.append(PlannedAction(kind=ActionKind.FILE_BUG, target=Target.TEAM))
        if not route.paging:
            # Product feedback goes to the backlog: nobody is paged or phoned for it.
            actions = [a for a in actions if a.kind not in (ActionKind.PAGE, ActionKind.PHONE)] or [
                PlannedAction(kind=ActionKind.QUEUE, target=Target.TEAM)
            ]
        steps.append(
            PlannedStep(
                index=index,
                at_seconds=step.at,
                stop_when=step.stop_when,
                label=step.label or f"T+{int(step.at // 60)}m",
                actions=actions,
            )
        )
    primary = _people(policy, [team.oncall.primary])
    secondary = _people(policy, [team.oncall.secondary])
    return EscalationPlan(
        route=request.route,
        chain=list(route.chain) if request.team is None else [team_id, *route.chain[1:]],
        team=team.id,
        team_name=team.name,
        paging_provider=team.paging.value,
        pagerduty_routing_key=team.pagerduty_routing_key,
        primary_oncall=primary[0] if primary else None,
        secondary_oncall=secondary[0] if secondary else None,
        steps=steps,
        max_bounces=policy.rules.max_bounces,
        no_one_on_call=policy.rules.no_one_on_call.value,
        no_one_on_call_recheck_seconds=policy.rules.no_one_on_call_recheck,
        team_manager=next(iter(_people(policy, [team.manager])), None),
        support_manager=next(iter(_people(policy, [policy.roles.support_manager])), None),
        responder_ids=sorted(
            {
                *team.members,
                *(p for p in (team.oncall.primary, team.oncall.secondary, team.manager) if p),
                *(p for s in policy.schedules if s.team == team.id for p in s.person_ids()),
                *(p for p in (policy.roles.support_manager, policy.roles.incident_commander) if p),
            }
        ),
    )


ONCALL_TARGETS = (Target.PRIMARY_ONCALL, Target.SECONDARY_ONCALL, Target.RESPONDERS)


def restaff_step(
    policy: Policy,
    team_id: str,
    step: PlannedStep,
    primary: Recipient | None,
    secondary: Recipient | None,
) -> tuple[PlannedStep, list[str]]:
    """The step with its on-call targets re-resolved to who is on call now, and the on-call
    targets nobody covers."""
    team = policy.team(team_id)
    unstaffed: list[str] = []
    actions: list[PlannedAction] = []
    for action in step.actions:
        if action.target in ONCALL_TARGETS:
            if action.target is Target.PRIMARY_ONCALL:
                people = [primary] if primary else []
            elif action.target is Target.SECONDARY_ONCALL:
                people = [secondary] if secondary else []
            else:
                everyone = [primary, secondary, *_people(policy, [team.manager])]
                people = list({r.person_id: r for r in everyone if r}.values())
            if not people and action.target is not Target.RESPONDERS:
                unstaffed.append(action.target.value)
            action = action.model_copy(update={"recipients": people})
        actions.append(action)
    return step.model_copy(update={"actions": actions}), unstaffed
