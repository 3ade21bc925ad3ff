"""Activity of TicketWatchWorkflow: a clock deadline came due, evaluate and act.

The evaluation needs the store (the ticket's last event, its surroundings) and VADER (which
reads its lexicon from disk), so it runs here, not in the workflow. It shares intake's pipeline
(activities/intake_service.py), so a clock escalation starts exactly like an intake one.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client

from activities.intake_service import IntakeService
from escalation.policy import Policy
from escalation.settings import Settings
from escalation.ticket_clock import CHECK_TICKET_CLOCK, ClockCheckRequest, ClockCheckResult
from escalation.triggers import VaderScorer
from store.intake import IntakeRepository
from store.repository import Repository


class TicketWatchActivities:
    def __init__(self, intake: IntakeService) -> None:
        self._intake = intake

    @activity.defn(name=CHECK_TICKET_CLOCK)
    async def check_ticket_clock(self, request: ClockCheckRequest) -> ClockCheckResult:
        return await self._intake.check_clock(request)


def ticket_watch_activities(
    client: Client, settings: Settings, policy: Policy, repository: Repository
) -> TicketWatchActivities:
    """The clock activity with its intake pipeline (VADER is loaded once, here)."""

    async def connected() -> Client:
        return client

    intake = IntakeService(
        repository=IntakeRepository(repository.sessions),
        policy=policy,
        settings=settings,
        scorer=VaderScorer(),
        client=connected,
    )
    return TicketWatchActivities(intake)
