"""Closing-the-loop activities: escalation facts, CSAT surveys, reviews and KB drafts, over
the closing store (store/closing.py). Messages (agent hand-back, survey email, help-desk note)
go through the delivery activity, so they share its idempotency, legal hold and fallbacks."""

from __future__ import annotations

import asyncio

from temporalio import activity

from activities.store_errors import poison_input_not_retried
from escalation.closing import (
    CREATE_KB_DRAFT,
    ISSUE_SURVEY,
    RECORD_ESCALATION_FACTS,
    RECORD_REVIEW,
    EscalationFactsInput,
    KbDraftInput,
    ReviewInput,
    SurveyIssued,
    SurveyRequest,
)
from store.closing import ClosingStore


class ClosingActivities:
    def __init__(self, store: ClosingStore) -> None:
        self._store = store

    @activity.defn(name=RECORD_ESCALATION_FACTS)
    async def record_escalation_facts(self, facts: EscalationFactsInput) -> bool:
        # These writes retry without limit while the store is down; refused input must not.
        with poison_input_not_retried("escalation facts"):
            return await asyncio.to_thread(self._store.record_escalation_facts, facts)

    @activity.defn(name=ISSUE_SURVEY)
    async def issue_survey(self, request: SurveyRequest) -> SurveyIssued:
        # A retry issues a second token; only the one returned is ever sent, and a token is
        # answered at most once, so a stray row never counts.
        return await asyncio.to_thread(
            self._store.issue_survey,
            request.escalation_key,
            request.ticket_id,
            ttl_days=request.ttl_days,
        )

    @activity.defn(name=RECORD_REVIEW)
    async def record_review(self, review: ReviewInput) -> bool:
        with poison_input_not_retried("review"):
            await asyncio.to_thread(self._store.record_review, review)
        return True

    @activity.defn(name=CREATE_KB_DRAFT)
    async def create_kb_draft(self, draft: KbDraftInput) -> bool:
        with poison_input_not_retried("knowledge-base draft"):
            _, created = await asyncio.to_thread(self._store.create_kb_draft, draft)
        return created
