"""Closing the loop over HTTP: CSAT surveys, escalation reviews, knowledge-base drafts, and
the handled-ticket feed behind agent escalation rates.

A survey link is its own credential (a signed one-time token), so answering needs no API
key; everything else does.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path as PathLib
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth import public, require
from escalation.apikeys import Permission
from escalation.closing import GapCategory, KbDraftInput, ReviewInput, SurveyIssued
from escalation.models import TICKET_ID_PATTERN
from escalation.request_text import RequestBool, RequestText
from store import models_analytics as ma
from store.closing import ClosingStore, SurveyError, SurveyProblem, kb_markdown
from store.models import Escalation as EscalationRow

router = APIRouter(tags=["closing the loop"])

TOKEN = Annotated[str, Path(min_length=1, max_length=200)]
SURVEY_STATUS = {
    SurveyProblem.MALFORMED: status.HTTP_404_NOT_FOUND,
    SurveyProblem.UNKNOWN: status.HTTP_404_NOT_FOUND,
    SurveyProblem.FORGED: status.HTTP_403_FORBIDDEN,
    SurveyProblem.EXPIRED: status.HTTP_410_GONE,
    SurveyProblem.USED: status.HTTP_409_CONFLICT,
}


def get_closing(request: Request) -> ClosingStore:
    """One ClosingStore per app, built on first use from the repository's sessions."""
    store: ClosingStore | None = getattr(request.app.state, "closing", None)
    if store is None:
        store = ClosingStore.from_settings(
            request.app.state.repository.sessions, request.app.state.settings
        )
        request.app.state.closing = store
    return store


ClosingDep = Annotated[ClosingStore, Depends(get_closing)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EscalationRef(_Body):
    """An escalation by its key, or the latest escalation of a ticket."""

    escalation_key: RequestText | None = Field(default=None, max_length=240)
    ticket_id: RequestText | None = Field(default=None, pattern=TICKET_ID_PATTERN)

    @model_validator(mode="after")
    def _one_of(self) -> EscalationRef:
        if not self.escalation_key and not self.ticket_id:
            raise ValueError("give escalation_key or ticket_id")
        return self


async def _resolve_ref(store: ClosingStore, ref: EscalationRef) -> tuple[str, EscalationRow]:
    key = ref.escalation_key or await asyncio.to_thread(
        store.latest_escalation_key, ref.ticket_id or ""
    )
    row = await asyncio.to_thread(store.escalation, key) if key else None
    if row is None:
        what = ref.escalation_key or f"ticket {ref.ticket_id!r}"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no escalation for {what}")
    return row.key, row


# ------------------------------------------------------------------------------ surveys
class SurveyCreate(EscalationRef):
    ttl_days: float | None = Field(default=None, gt=0, le=365)


class SurveyAnswer(_Body):
    score: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied)")
    comment: RequestText = Field(default="", max_length=5000)


class SurveyState(BaseModel):
    ticket_id: str
    answered: bool
    expires_at: datetime
    score: int | None = None


def _survey_error(exc: SurveyError) -> HTTPException:
    return HTTPException(
        SURVEY_STATUS[exc.problem], {"problem": exc.problem.value, "msg": str(exc)}
    )


def _state(row: ma.Survey) -> SurveyState:
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    return SurveyState(
        ticket_id=row.ticket_id,
        answered=row.used_at is not None,
        expires_at=expires,
        score=row.score,
    )


@router.post(
    "/v1/surveys",
    response_model=SurveyIssued,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require(Permission.RESPOND))],
)
async def issue_survey(body: SurveyCreate, store: ClosingDep) -> SurveyIssued:
    """Issue a signed one-time CSAT survey link for an escalation's customer (the resolution
    hand-back does this after the agent confirms; this is the manual door)."""
    key, row = await _resolve_ref(store, body)
    return await asyncio.to_thread(store.issue_survey, key, row.ticket_id, ttl_days=body.ttl_days)


@router.get(
    "/v1/surveys/{token}",
    response_model=SurveyState,
    dependencies=[Depends(public("the signed one-time survey link is the credential"))],
)
async def survey_state(token: TOKEN, store: ClosingDep) -> SurveyState:
    """Whether a survey link is open (no API key: the link is the credential)."""
    try:
        row = await asyncio.to_thread(store.survey_status, token)
    except SurveyError as exc:
        raise _survey_error(exc) from exc
    return _state(row)


@router.post(
    "/v1/surveys/{token}",
    response_model=SurveyState,
    dependencies=[Depends(public("the signed one-time survey link is the credential"))],
    responses={
        403: {"description": "forged link"},
        404: {"description": "not a survey link"},
        409: {"description": "already answered"},
        410: {"description": "expired"},
    },
)
async def answer_survey(token: TOKEN, body: SurveyAnswer, store: ClosingDep) -> SurveyState:
    """Record the customer's 1-5 score and comment, once."""
    try:
        row = await asyncio.to_thread(store.answer_survey, token, body.score, body.comment)
    except SurveyError as exc:
        raise _survey_error(exc) from exc
    return _state(row)


SURVEY_PAGE = PathLib(__file__).resolve().parent.parent / "pages" / "survey.html"


@router.get(
    "/survey/{token}",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(public("a static form; answering needs the signed link"))],
)
async def survey_page(token: TOKEN) -> HTMLResponse:
    """The page a survey link opens: five buttons and a comment box."""
    return HTMLResponse(
        SURVEY_PAGE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"}
    )


# ------------------------------------------------------------------------------ reviews
class ReviewBody(EscalationRef):
    necessary: RequestBool | None = None
    preventable: RequestBool | None = None
    gap_category: GapCategory | None = None
    reopened: RequestBool = False
    agent_feedback: RequestText = Field(default="", max_length=5000)
    specialist_feedback: RequestText = Field(default="", max_length=5000)
    reviewed_by: RequestText = Field(default="", max_length=200)
    agent_id: RequestText | None = Field(default=None, max_length=200)
    trigger_types: list[RequestText] = Field(default_factory=list, max_length=50)
    kb_article_needed: RequestBool = Field(
        default=False, description="create a KB article draft from the resolution"
    )
    kb_title: RequestText | None = Field(default=None, max_length=300)


class ReviewRecorded(BaseModel):
    escalation_key: str
    necessary: bool | None
    preventable: bool | None
    gap_category: str | None
    reopened: bool
    kb_draft_id: int | None = None


class KbDraftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    escalation_key: str
    ticket_id: str
    title: str
    problem: str
    resolution: str
    route: str
    tags: str
    status: str
    created_by: str
    created_at: datetime


class KbDraftList(BaseModel):
    total: int
    items: list[KbDraftOut]


async def _draft_from_escalation(
    store: ClosingStore, key: str, row: EscalationRow, title: str | None, by: str
) -> ma.KbDraft:
    resolution = await asyncio.to_thread(store.resolution_text, key)
    draft, _ = await asyncio.to_thread(
        store.create_kb_draft,
        KbDraftInput(
            escalation_key=key,
            ticket_id=row.ticket_id,
            title=title or row.subject or f"Resolving {row.route} escalations",
            problem=row.subject,
            resolution=resolution,
            route=row.route,
            tags=[row.route, row.priority],
            created_by=by or "system",
        ),
    )
    return draft


@router.post(
    "/v1/reviews",
    response_model=ReviewRecorded,
    dependencies=[Depends(require(Permission.RESPOND))],
)
async def record_review(body: ReviewBody, store: ClosingDep) -> ReviewRecorded:
    """The post-resolution review (agent and specialist feedback): necessary, preventable and
    why, reopened. `kb_article_needed` drafts a KB article from the resolution."""
    key, row = await _resolve_ref(store, body)
    review = ReviewInput(
        escalation_key=key,
        **body.model_dump(exclude={"escalation_key", "ticket_id", "kb_article_needed", "kb_title"}),
    )
    saved = await asyncio.to_thread(store.record_review, review)
    draft_id = None
    if body.kb_article_needed:
        draft = await _draft_from_escalation(store, key, row, body.kb_title, body.reviewed_by)
        draft_id = draft.id
    return ReviewRecorded(
        escalation_key=key,
        necessary=saved.necessary,
        preventable=saved.preventable,
        gap_category=saved.gap_category,
        reopened=saved.reopened,
        kb_draft_id=draft_id,
    )


# ------------------------------------------------------------------------------ KB drafts
class KbDraftCreate(EscalationRef):
    title: RequestText | None = Field(default=None, max_length=300)
    created_by: RequestText = Field(default="api", max_length=200)


@router.post(
    "/v1/kb/drafts",
    response_model=KbDraftOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require(Permission.RESPOND))],
)
async def create_kb_draft(body: KbDraftCreate, store: ClosingDep) -> KbDraftOut:
    """Draft a KB article from an escalation's resolution (one per escalation: a repeat
    returns the existing draft)."""
    key, row = await _resolve_ref(store, body)
    draft = await _draft_from_escalation(store, key, row, body.title, body.created_by)
    return KbDraftOut.model_validate(draft)


@router.get(
    "/v1/kb/drafts", response_model=KbDraftList, dependencies=[Depends(require(Permission.READ))]
)
async def list_kb_drafts(
    store: ClosingDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,  # larger: a 500 from PostgreSQL
) -> KbDraftList:
    rows, total = await asyncio.to_thread(store.kb_drafts, limit, offset)
    return KbDraftList(total=total, items=[KbDraftOut.model_validate(r) for r in rows])


# Draft ids are PostgreSQL integers: a larger id is a 422, not a database error (500).
DraftId = Annotated[int, Path(ge=1, le=2**31 - 1, description="KB draft id")]


async def _draft_or_404(store: ClosingStore, draft_id: int) -> ma.KbDraft:
    draft = await asyncio.to_thread(store.kb_draft, draft_id)
    if draft is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no KB draft {draft_id}")
    return draft


@router.get(
    "/v1/kb/drafts/{draft_id}.md",
    response_class=PlainTextResponse,
    dependencies=[Depends(require(Permission.READ))],
    responses={200: {"content": {"text/markdown": {}}}},
)
async def export_kb_draft(draft_id: DraftId, store: ClosingDep) -> PlainTextResponse:
    """The draft as a Markdown article."""
    draft = await _draft_or_404(store, draft_id)
    return PlainTextResponse(
        kb_markdown(draft),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="kb-draft-{draft_id}.md"'},
    )


@router.get(
    "/v1/kb/drafts/{draft_id}",
    response_model=KbDraftOut,
    dependencies=[Depends(require(Permission.READ))],
)
async def get_kb_draft(draft_id: DraftId, store: ClosingDep) -> KbDraftOut:
    return KbDraftOut.model_validate(await _draft_or_404(store, draft_id))


# ------------------------------------------------------------------------------ workload
class HandledTicket(_Body):
    ticket_id: RequestText = Field(pattern=TICKET_ID_PATTERN)
    agent_id: RequestText = Field(min_length=1, max_length=200)
    team: RequestText | None = Field(default=None, max_length=64)
    handled_at: datetime | None = None


class HandledTickets(_Body):
    items: list[HandledTicket] = Field(min_length=1, max_length=1000)


class HandledRecorded(BaseModel):
    recorded: int


@router.post(
    "/v1/agents/tickets",
    response_model=HandledRecorded,
    dependencies=[Depends(require(Permission.INTAKE))],
)
async def record_handled_tickets(body: HandledTickets, store: ClosingDep) -> HandledRecorded:
    """Tickets agents handled (escalated or not): the denominator of agent escalation rates.
    Idempotent per (ticket, agent)."""

    def save() -> int:
        return sum(
            store.record_agent_ticket(i.ticket_id, i.agent_id, i.team, i.handled_at)
            for i in body.items
        )

    return HandledRecorded(recorded=await asyncio.to_thread(save))
