"""Closing the loop and the requested person: facts at start; after resolve the hand-back
note, the original agent told, the review, a KB draft and the CSAT survey; a named person who
is away handed to their backup and asked to review on return."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from escalation import activity_names as names
    from escalation.closing import (
        CREATE_KB_DRAFT,
        ISSUE_SURVEY,
        RECORD_ESCALATION_FACTS,
        RECORD_REVIEW,
        EscalationFactsInput,
        GapCategory,
        KbDraftInput,
        ReviewInput,
        SurveyIssued,
        SurveyRequest,
    )
    from escalation.models import (
        Availability,
        AvailabilityRequest,
        PlannedAction,
        Recipient,
    )
    from escalation.policy import ActionKind, Target

from workflows.escalation_core import (
    CLOSING_STEP,
    CONFIRMATION_WINDOW_SECONDS,
    STORE_RETRY,
)
from workflows.escalation_delivery import EscalationDelivery


class EscalationClosing(EscalationDelivery):
    def _escalation_facts(self) -> EscalationFactsInput:
        plan = self._require_plan()
        return EscalationFactsInput(
            escalation_key=self._key,
            ticket_id=self._input.ticket_id,
            agent_id=self._input.original_agent,
            agent_team=plan.team,
            category=plan.route.value,
            reason=self._input.reason,
            triggers=self._input.triggers[:50],
        )

    async def _record_facts(self) -> None:
        """Before patch `internal-records-with-timeline`: the facts in an activity of their
        own (they now go with the first timeline batch)."""
        await self._write_to_store(
            RECORD_ESCALATION_FACTS,
            self._escalation_facts(),
            summary="record who escalated and why",
        )

    async def _close_the_loop(self) -> None:
        """Hand the resolution back: note in the help desk, the original agent told to answer
        the customer in their own voice, the review recorded, a KB draft when asked for, and
        the CSAT survey once the agent confirms."""
        resolution = self._resolution
        if resolution is None:
            return
        text = f"Resolved by {resolution.by}: {resolution.resolution or 'no details given'}"
        self._dispatch(
            CLOSING_STEP, 0, PlannedAction(kind=ActionKind.HELPDESK_NOTE, note=text), "hand-back"
        )
        if self._input.original_agent_email:
            agent = Recipient(
                person_id=self._input.original_agent,
                name=self._input.original_agent or "agent",
                email=self._input.original_agent_email,
            )
            self._dispatch(
                CLOSING_STEP,
                1,
                PlannedAction(
                    kind=ActionKind.EMAIL,
                    recipients=[agent],
                    note=f"{text}\n\nThe ticket is back with you: please tell the customer in "
                    "your own voice, then confirm (POST /v1/escalations/"
                    f"{self._input.ticket_id}/confirm) so the satisfaction survey goes out.",
                ),
                "hand-back to agent",
            )
        gap = next((g for g in GapCategory if g.value == resolution.preventable), None)
        await self._write_to_store(
            RECORD_REVIEW,
            ReviewInput(
                escalation_key=self._key,
                necessary=resolution.necessary,
                preventable=(gap is not None) if resolution.preventable is not None else None,
                gap_category=gap,
                specialist_feedback=resolution.resolution[:5000],
                reviewed_by=resolution.by,
                agent_id=self._input.original_agent,
                trigger_types=self._input.triggers[:50],
            ),
            summary="record the escalation review",
        )
        if resolution.kb_article_needed or self._input.kb_article_suggested:
            plan = self._require_plan()
            await self._write_to_store(
                CREATE_KB_DRAFT,
                KbDraftInput(
                    escalation_key=self._key,
                    ticket_id=self._input.ticket_id,
                    title=(self._input.subject or f"Ticket {self._input.ticket_id}")[:300],
                    problem=self._input.reason[:20000],
                    resolution=resolution.resolution[:20000],
                    route=plan.route.value,
                    tags=[plan.route.value, self._input.priority.value.lower()],
                    created_by=resolution.by,
                ),
                summary="draft a knowledge-base article",
            )
            self._record("kb_draft_created")
        customer = self._customer_recipient()
        if customer is None:
            return
        wait = CONFIRMATION_WINDOW_SECONDS * self._input.time_scale
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._agent_confirmed is not None,
                timeout=timedelta(seconds=wait),
                timeout_summary="until the agent confirms the customer was told",
            )
        if self._agent_confirmed is None:
            self._record("agent_confirmation_missing")
            return
        survey: SurveyIssued = await workflow.execute_activity(
            ISSUE_SURVEY,
            SurveyRequest(escalation_key=self._key, ticket_id=self._input.ticket_id),
            result_type=SurveyIssued,
            start_to_close_timeout=timedelta(seconds=20),
            retry_policy=STORE_RETRY,
            summary="issue the CSAT survey link",
        )
        self._dispatch(
            CLOSING_STEP,
            2,
            PlannedAction(
                kind=ActionKind.CUSTOMER_COMMUNICATION,
                target=Target.CUSTOMER,
                recipients=[customer],
                note="Your issue has been resolved. How did we do? Rate us from 1 to 5: "
                f"{survey.url}",
            ),
            "CSAT survey",
        )
        self._record("survey_sent", detail={"survey_id": str(survey.survey_id)})

    async def _honour_requested_person(self, person_id: str) -> None:
        """The customer asked for someone by name. If they are away, their designated backup
        handles it, the customer is told, and the person is asked to review on return."""
        availability = await self._look_up(
            names.CHECK_AVAILABILITY,
            AvailabilityRequest(person_id=person_id, at=workflow.now()),
            result_type=Availability,
            summary=f"is {person_id} available?",
        )
        if availability.available:
            self._assignee = person_id
            self._record("requested_person_assigned", detail={"person": person_id})
            return
        backup = availability.backup
        if backup is not None:
            self._assignee = backup.person_id
        back_at = availability.back_at
        self._record(
            "requested_person_unavailable",
            detail={
                "person": person_id,
                "backup": (backup.person_id or "") if backup else "",
                "back_at": back_at.isoformat() if back_at else "",
            },
        )
        name = availability.person.name if availability.person else person_id
        handler = backup.name if backup else "Our team"
        note = (
            f"{name} is away until {back_at:%Y-%m-%d %H:%M} UTC. {handler} is handling your "
            f"issue with its full history and notes, and {name} will review it on return."
            if back_at
            else f"{name} is away. {handler} is handling your issue with its full history."
        )
        customer = self._customer_recipient()
        if customer is not None:
            self._dispatch(
                0,
                90,
                PlannedAction(
                    kind=ActionKind.CUSTOMER_COMMUNICATION,
                    target=Target.CUSTOMER,
                    recipients=[customer],
                    note=note,
                ),
                "requested person away",
            )
        if back_at is not None and availability.person is not None:
            self._tasks.append(asyncio.create_task(self._ask_for_review(availability, back_at)))

    async def _ask_for_review(self, availability: Availability, back_at: datetime) -> None:
        """Durable timer until the requested person returns, then ask them to follow up."""
        delay = (back_at - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(
                timedelta(seconds=delay), summary="until the requested person returns"
            )
        person = availability.person
        if person is None:
            return
        self._record("requested_person_returned", detail={"person": availability.person_id})
        self._dispatch(
            0,
            91,
            PlannedAction(
                kind=ActionKind.EMAIL,
                target=None,
                recipients=[person],
                note="You were asked for by name while away: please review this escalation "
                "and follow up with the customer.",
            ),
            "requested person back",
        )
