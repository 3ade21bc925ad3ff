"""Activity that freezes an escalation's plan from the organization policy."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from escalation import activity_names as names
from escalation.models import EscalationPlan, PlanRequest
from escalation.planning import PlanError, build_plan
from escalation.policy import Policy


class PlanningActivities:
    """On-call lookup sits behind this one activity so schedules can replace static data."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    @activity.defn(name=names.PLAN_ESCALATION)
    async def plan_escalation(self, request: PlanRequest) -> EscalationPlan:
        try:
            return build_plan(self._policy, request)
        except PlanError as exc:
            raise ApplicationError(str(exc), type="PlanError", non_retryable=True) from exc
