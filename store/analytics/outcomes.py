"""Resolution rate, CSAT, reopen rate, unnecessary escalations and knowledge captured."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from store.analytics.common import E, K, R, S, count_if, opt_float, ratio, scope
from store.analytics.period import Period
from store.analytics.schemas import Outcomes
from store.analytics.sqlfn import policy_seconds
from store.analytics.targets import Targets


def reopened_condition(targets: Targets) -> ColumnElement[bool]:
    """The ticket was escalated again within the reopen window (in policy time) after this
    escalation was resolved, or its review says it was reopened."""
    later = aliased(E)
    again = exists().where(
        later.ticket_id == E.ticket_id,
        later.started_at > E.resolved_at,
        policy_seconds(E.resolved_at, later.started_at, E.time_scale)
        <= targets.reopen_window_seconds,
    )
    return or_(again, R.reopened.is_(True))


def outcomes(session: Session, period: Period, team: str | None, targets: Targets) -> Outcomes:
    where = scope(period, team)
    total, resolved = session.execute(
        select(func.count(), func.count(E.resolved_at)).where(where)
    ).one()

    sent, answered, csat, satisfied = session.execute(
        select(func.count(S.id), func.count(S.score), func.avg(S.score), count_if(S.score >= 4))
        .select_from(S)
        .join(E, E.key == S.escalation_key)
        .where(where)
    ).one()

    # One pass over the period's escalations and their reviews for both the reopen count and
    # the review counts (at 1M escalations each pass hash-joins the whole reviews table).
    # A review is keyed by its escalation, so count(R.escalation_key) counts reviews.
    reopened, reviewed, unnecessary, preventable = session.execute(
        select(
            count_if(E.resolved_at.is_not(None) & reopened_condition(targets)),
            func.count(R.escalation_key),
            count_if(R.necessary.is_(False)),
            count_if(R.preventable.is_(True)),
        )
        .select_from(E)
        .outerjoin(R, R.escalation_key == E.key)
        .where(where)
    ).one()

    drafts = session.execute(
        select(func.count(K.id)).select_from(K).join(E, E.key == K.escalation_key).where(where)
    ).scalar_one()

    return Outcomes(
        escalations=int(total),
        resolved=int(resolved),
        resolution_rate=ratio(resolved, total),
        csat_avg=opt_float(csat, 2),
        csat_responses=int(answered),
        csat_satisfied_share=ratio(satisfied, answered),
        surveys_sent=int(sent),
        survey_response_rate=ratio(answered, sent),
        reopened=int(reopened),
        reopen_rate=ratio(reopened, resolved),
        reviewed=int(reviewed),
        unnecessary=int(unnecessary),
        unnecessary_share=ratio(unnecessary, reviewed),
        preventable=int(preventable),
        kb_drafts=int(drafts),
        knowledge_capture_rate=ratio(drafts, resolved),
    )
