"""Closing the loop after resolve: the resolution goes back to the help desk as an internal
note and to the original agent, the review and a KB draft are recorded, and the CSAT survey
goes to the customer only after the agent confirms (time-skipping server, real PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from escalation import activity_names as names
from escalation.models import (
    AgentConfirmInput,
    EscalationInput,
    EscalationState,
    ResolveInput,
)
from escalation.policy import Policy
from escalation.vocabulary import Priority, RouteKey
from store import models_analytics as ma
from store.repository import Repository
from tests.conftest import make_settings, running_worker, without_business_hours
from workflows.escalation_core import CLOSING_STEP

pytestmark = pytest.mark.integration


@pytest.fixture
def policy(policy: Policy) -> Policy:
    return without_business_hours(policy)


@pytest.fixture
def settings_for(database_url: str, task_queue: str):  # type: ignore[no-untyped-def]
    return make_settings(database_url, task_queue, escalation_survey_secret="test-survey-secret")


async def _start(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle[Any, EscalationState]:
    ticket = f"C{uuid.uuid4().hex[:8]}"
    return await env.client.start_workflow(
        names.ESCALATION_WORKFLOW,
        EscalationInput(
            ticket_id=ticket,
            priority=Priority.P2,
            route=RouteKey.TECHNICAL,
            subject="Export to CSV drops rows",
            reason="Need help because the export loses rows above 10k",
            customer_name="Globex",
            customer_email="it@globex.example",
            helpdesk="zendesk",
            helpdesk_ticket_id="4711",
            original_agent="agent-ana",
            original_agent_email="ana@support.example",
            triggers=["agent_marked", "suspected_bug"],
        ),
        id=f"escalation-{ticket}",
        task_queue=task_queue,
        result_type=EscalationState,
    )


def _closing(repository: Repository, key: str) -> dict[tuple[str, str], str]:
    return {
        (r.action, r.target): r.outcome
        for r in repository.notifications(key)
        if r.step_index == CLOSING_STEP
    }


async def test_resolution_is_handed_back_reviewed_and_surveyed(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        handle = await _start(time_skipping_env, task_queue)
        await time_skipping_env.sleep(timedelta(minutes=20))
        await handle.signal(
            names.SIGNAL_RESOLVE,
            ResolveInput(
                by="alice",
                resolution="Raised the export page size limit",
                kb_article_needed=True,
                necessary=False,
                preventable="training",
            ),
        )
        await time_skipping_env.sleep(timedelta(hours=1))
        await handle.signal(names.SIGNAL_AGENT_CONFIRMED, AgentConfirmInput(by="agent-ana"))
        final = await handle.result()

    closing = _closing(repository, final.escalation_key)
    assert closing[("helpdesk_note", "note")] == "outbox"  # Zendesk not configured: outbox
    assert closing[("email", "agent-ana")] == "outbox"
    assert closing[("customer_communication", "customer")] == "outbox"
    notes = [m.payload for m in repository.outbox(vendor="zendesk", limit=500)]
    assert any("Raised the export page size limit" in str(p) for p in notes)
    mails = [str(m.payload) for m in repository.outbox(vendor="email", limit=500)]
    assert any("/survey/" in m and "it@globex.example" in m for m in mails)
    with repository.sessions() as session:
        review = session.get(ma.EscalationReview, final.escalation_key)
        assert (
            review is not None and review.necessary is False and review.gap_category == "training"
        )
        draft = session.scalar(
            select(ma.KbDraft).where(ma.KbDraft.escalation_key == final.escalation_key)
        )
        assert draft is not None and "page size" in draft.resolution
        surveys = session.scalars(
            select(ma.Survey).where(ma.Survey.escalation_key == final.escalation_key)
        ).all()
        assert len(surveys) == 1
        facts = session.get(ma.EscalationFacts, final.escalation_key)
        assert facts is not None and facts.agent_id == "agent-ana"
    kinds = [e.kind for e in repository.timeline(final.escalation_key)]
    assert "survey_sent" in kinds and "kb_draft_created" in kinds and "agent_confirmed" in kinds


async def test_no_survey_without_the_agents_confirmation(
    time_skipping_env: WorkflowEnvironment,
    settings_for,
    policy: Policy,
    repository: Repository,
    task_queue: str,
) -> None:
    async with running_worker(time_skipping_env.client, settings_for, policy, repository):
        handle = await _start(time_skipping_env, task_queue)
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="alice", resolution="config fix"))
        final = await handle.result()  # the confirmation window (24 h) passes
    closing = _closing(repository, final.escalation_key)
    assert ("customer_communication", "customer") not in closing
    kinds = [e.kind for e in repository.timeline(final.escalation_key)]
    assert "agent_confirmation_missing" in kinds and "survey_sent" not in kinds
