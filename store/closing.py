"""Closing the loop in the store: escalation facts, one-time CSAT survey links, reviews and
knowledge-base drafts. Called from activities (activities/closing.py) and the API.

Survey tokens are `<nonce>.<expiry>.<signature>`: the signature is an HMAC-SHA256 of nonce and
expiry under the server's secret, so a forged or edited link is refused before any lookup; only
the token's SHA-256 is stored, so a database leak gives away no usable link; a token answers
once (a conditional UPDATE, safe under concurrent submissions).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from escalation.closing import (
    EscalationFactsInput,
    KbDraftInput,
    ReviewInput,
    SurveyIssued,
)
from escalation.settings import STATE_DIR, Settings
from store import models
from store import models_analytics as ma

SECRET_FILE = STATE_DIR / "survey-secret"


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _insert_ignore(session: Session, table: Any, values: dict[str, Any]) -> bool:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING tells whether a row went in: rowcount is -1 here with psycopg 3.
    first_key = next(iter(table.primary_key.columns))
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(first_key)
    return session.execute(statement).first() is not None


def survey_secret(settings: Settings, secret_file: Path = SECRET_FILE) -> bytes:
    """ESCALATION_SURVEY_SECRET, or a random secret generated once and kept beside the dev
    database (so the API and worker processes of one machine agree)."""
    if settings.escalation_survey_secret:
        return settings.escalation_survey_secret.encode()
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip().encode()


# ---------------------------------------------------------------------------- survey tokens
class SurveyProblem(StrEnum):
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    USED = "used"


class SurveyError(Exception):
    def __init__(self, problem: SurveyProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(secret: bytes, nonce: str, expiry: int) -> str:
    return _b64(hmac.new(secret, f"{nonce}.{expiry}".encode(), hashlib.sha256).digest())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_token(secret: bytes, expires_at: datetime) -> str:
    nonce = _b64(secrets.token_bytes(16))
    expiry = int(expires_at.timestamp())
    return f"{nonce}.{expiry}.{_sign(secret, nonce, expiry)}"


def check_token(secret: bytes, token: str, now: datetime) -> None:
    """Raise SurveyError unless the token is well formed, signed by us and not expired."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(token) > 200:
        raise SurveyError(SurveyProblem.MALFORMED, "this is not a survey link")
    nonce, expiry, signature = parts
    if not hmac.compare_digest(signature, _sign(secret, nonce, int(expiry))):
        raise SurveyError(SurveyProblem.FORGED, "the survey link's signature is not valid")
    if now.timestamp() >= int(expiry):
        raise SurveyError(SurveyProblem.EXPIRED, "this survey link has expired")


# ---------------------------------------------------------------------------- the store
def record_facts_in(session: Session, facts: EscalationFactsInput) -> bool:
    """Who escalated and why, once per escalation (a repeat changes nothing), in the caller's
    transaction. Links a reopened ticket to its previous escalation."""
    previous = session.scalar(
        select(models.Escalation.key)
        .where(
            models.Escalation.ticket_id == facts.ticket_id,
            models.Escalation.key != facts.escalation_key,
            models.Escalation.resolved_at.is_not(None),
        )
        .order_by(models.Escalation.resolved_at.desc())
        .limit(1)
    )
    inserted = _insert_ignore(
        session,
        ma.EscalationFacts.__table__,
        {
            "escalation_key": facts.escalation_key,
            "ticket_id": facts.ticket_id,
            "agent_id": facts.agent_id,
            "agent_team": facts.agent_team,
            "category": facts.category,
            "reason": facts.reason,
            "reopens": previous,
            "recorded_at": _now(),
        },
    )
    for trigger in dict.fromkeys(t.strip()[:64] for t in facts.triggers if t.strip()):
        _insert_ignore(
            session,
            ma.EscalationTrigger.__table__,
            {"escalation_key": facts.escalation_key, "trigger_type": trigger},
        )
    return inserted


class ClosingStore:
    """Facts, surveys, reviews and KB drafts over one session factory."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        secret: bytes,
        public_url: str = "http://127.0.0.1:8000",
        survey_ttl_days: float = 14.0,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._public_url = public_url.rstrip("/")
        self._ttl_days = survey_ttl_days

    @classmethod
    def from_settings(cls, sessions: sessionmaker[Session], settings: Settings) -> ClosingStore:
        return cls(
            sessions,
            secret=survey_secret(settings),
            public_url=settings.escalation_public_url,
            survey_ttl_days=settings.escalation_survey_ttl_days,
        )

    # -------------------------------------------------------------- facts
    def record_escalation_facts(self, facts: EscalationFactsInput) -> bool:
        """Who escalated and why, once per escalation (a repeat changes nothing)."""
        with self._sessions.begin() as session:
            return record_facts_in(session, facts)

    def record_agent_ticket(
        self, ticket_id: str, agent_id: str, team: str | None = None, at: datetime | None = None
    ) -> bool:
        """An agent handled a ticket: the denominator of agent escalation rates."""
        with self._sessions.begin() as session:
            return _insert_ignore(
                session,
                ma.AgentTicket.__table__,
                {
                    "ticket_id": ticket_id,
                    "agent_id": agent_id,
                    "team": team,
                    "handled_at": at or _now(),
                },
            )

    def latest_escalation_key(self, ticket_id: str) -> str | None:
        with self._sessions() as session:
            return session.scalar(
                select(models.Escalation.key)
                .where(models.Escalation.ticket_id == ticket_id)
                .order_by(models.Escalation.started_at.desc())
                .limit(1)
            )

    def escalation(self, key: str) -> models.Escalation | None:
        with self._sessions() as session:
            return session.get(models.Escalation, key)

    # -------------------------------------------------------------- surveys
    def issue_survey(
        self,
        escalation_key: str,
        ticket_id: str,
        *,
        ttl_days: float | None = None,
        now: datetime | None = None,
    ) -> SurveyIssued:
        """A signed one-time survey link for the customer of this escalation."""
        now = now or _now()
        expires = now + timedelta(days=ttl_days or self._ttl_days)
        token = make_token(self._secret, expires)
        with self._sessions.begin() as session:
            row = ma.Survey(
                token_hash=token_hash(token),
                escalation_key=escalation_key,
                ticket_id=ticket_id,
                created_at=now,
                expires_at=expires,
            )
            session.add(row)
            session.flush()
            survey_id = row.id
        return SurveyIssued(
            survey_id=survey_id, url=f"{self._public_url}/survey/{token}", token=token
        )

    def survey_status(self, token: str, now: datetime | None = None) -> ma.Survey:
        """The survey behind a valid token, or SurveyError."""
        now = now or _now()
        check_token(self._secret, token, now)
        with self._sessions() as session:
            row = session.scalar(select(ma.Survey).where(ma.Survey.token_hash == token_hash(token)))
        if row is None:
            raise SurveyError(SurveyProblem.UNKNOWN, "no survey is open for this link")
        return row

    def answer_survey(
        self, token: str, score: int, comment: str = "", now: datetime | None = None
    ) -> ma.Survey:
        """Record 1-5 and a comment, once. Raises SurveyError for a malformed, forged,
        expired, unknown or already used link."""
        if not 1 <= score <= 5:
            raise ValueError("score must be between 1 and 5")
        now = now or _now()
        row = self.survey_status(token, now)
        if _utc(row.expires_at) <= now:
            raise SurveyError(SurveyProblem.EXPIRED, "this survey link has expired")
        with self._sessions.begin() as session:
            result = session.execute(
                update(ma.Survey)
                .where(ma.Survey.id == row.id, ma.Survey.used_at.is_(None))
                .values(used_at=now, score=score, comment=comment)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise SurveyError(SurveyProblem.USED, "this survey has already been answered")
        with self._sessions() as session:
            answered = session.get(ma.Survey, row.id)
            assert answered is not None
            return answered

    # -------------------------------------------------------------- reviews
    def record_review(self, review: ReviewInput) -> ma.EscalationReview:
        """Create or update the escalation's review. Agent id and trigger types given here
        fill the escalation's facts when they were not recorded at start."""
        now = _now()
        with self._sessions.begin() as session:
            escalation = session.get(models.Escalation, review.escalation_key)
            if escalation is None:
                raise LookupError(f"unknown escalation {review.escalation_key!r}")
            row = session.get(ma.EscalationReview, review.escalation_key)
            values = review.model_dump(exclude={"escalation_key", "agent_id", "trigger_types"})
            values["gap_category"] = review.gap_category.value if review.gap_category else None
            if row is None:
                row = ma.EscalationReview(
                    escalation_key=review.escalation_key, created_at=now, updated_at=now, **values
                )
                session.add(row)
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                row.updated_at = now
            ticket_id = escalation.ticket_id
        if review.agent_id or review.trigger_types:
            self.record_escalation_facts(
                EscalationFactsInput(
                    escalation_key=review.escalation_key,
                    ticket_id=ticket_id,
                    agent_id=review.agent_id,
                    triggers=review.trigger_types,
                )
            )
            if review.agent_id:
                with self._sessions.begin() as session:
                    facts = session.get(ma.EscalationFacts, review.escalation_key)
                    if facts is not None and facts.agent_id is None:
                        facts.agent_id = review.agent_id
        return row

    # -------------------------------------------------------------- knowledge base
    def create_kb_draft(self, draft: KbDraftInput) -> tuple[ma.KbDraft, bool]:
        """One draft per escalation: a repeat returns the existing draft (created False)."""
        with self._sessions.begin() as session:
            created = _insert_ignore(
                session,
                ma.KbDraft.__table__,
                {
                    "escalation_key": draft.escalation_key,
                    "ticket_id": draft.ticket_id,
                    "title": draft.title,
                    "problem": draft.problem,
                    "resolution": draft.resolution,
                    "route": draft.route,
                    "tags": ",".join(t.strip() for t in draft.tags if t.strip()),
                    "status": "draft",
                    "created_by": draft.created_by,
                    "created_at": _now(),
                },
            )
        with self._sessions() as session:
            row = session.scalar(
                select(ma.KbDraft).where(ma.KbDraft.escalation_key == draft.escalation_key)
            )
            assert row is not None
            return row, created

    def kb_drafts(self, limit: int = 50, offset: int = 0) -> tuple[list[ma.KbDraft], int]:
        from sqlalchemy import func

        with self._sessions() as session:
            total = session.scalar(select(func.count(ma.KbDraft.id))) or 0
            rows = session.scalars(
                select(ma.KbDraft).order_by(ma.KbDraft.id.desc()).limit(limit).offset(offset)
            ).all()
            return list(rows), int(total)

    def kb_draft(self, draft_id: int) -> ma.KbDraft | None:
        with self._sessions() as session:
            return session.get(ma.KbDraft, draft_id)

    def resolution_text(self, escalation_key: str) -> str:
        """The resolution recorded on the escalation's timeline (empty when none)."""
        with self._sessions() as session:
            event = session.scalar(
                select(models.TimelineEvent)
                .where(
                    models.TimelineEvent.escalation_key == escalation_key,
                    models.TimelineEvent.kind == "resolved",
                )
                .limit(1)
            )
        return str(event.detail.get("resolution", "")) if event else ""


def kb_markdown(draft: ma.KbDraft) -> str:
    """A draft as a Markdown article, ready to paste into the help center."""
    tags = [t for t in draft.tags.split(",") if t]
    lines = [
        f"# {draft.title}",
        "",
        f"> Draft from escalation `{draft.escalation_key}` (ticket {draft.ticket_id}), "
        f"{_utc(draft.created_at).date().isoformat()}, by {draft.created_by}.",
        "",
        "## Problem",
        "",
        draft.problem.strip() or "_Describe the symptom the customer saw._",
        "",
        "## Resolution",
        "",
        draft.resolution.strip() or "_Describe the fix, step by step._",
        "",
    ]
    if draft.route or tags:
        lines += ["## Details", ""]
        if draft.route:
            lines.append(f"- Escalation path: {draft.route}")
        if tags:
            lines.append(f"- Tags: {', '.join(tags)}")
        lines.append("")
    return "\n".join(lines)
