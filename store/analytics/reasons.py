"""Top escalation reasons, as prevention opportunities."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.analytics.common import E, F, R, count_if, scope
from store.analytics.period import Period
from store.analytics.schemas import Reason

OPPORTUNITY = {
    "training": "train L1 agents on it",
    "tool": "give agents the tool or access they lacked",
    "process": "fix the process step that forces the escalation",
    "documentation": "write or improve the KB article",
    "product": "fix it in the product",
}


def top_reasons(
    session: Session, period: Period, team: str | None = None, limit: int = 10
) -> list[Reason]:
    """Escalations grouped by their category (the route when none was recorded)."""
    reason = func.coalesce(F.category, E.route).label("reason")
    where = scope(period, team)
    joined = (
        select(reason, func.count(), count_if(R.preventable.is_(True)))
        .select_from(E)
        .outerjoin(F, F.escalation_key == E.key)
        .outerjoin(R, R.escalation_key == E.key)
        .where(where)
        .group_by(reason)
        .order_by(func.count().desc(), reason)
        .limit(limit)
    )
    rows = session.execute(joined).all()
    total = session.execute(select(func.count()).where(where)).scalar_one() or 0
    gaps = session.execute(
        select(reason, R.gap_category, func.count())
        .select_from(E)
        .outerjoin(F, F.escalation_key == E.key)
        .join(R, R.escalation_key == E.key)
        .where(where, R.gap_category.is_not(None))
        .group_by(reason, R.gap_category)
    ).all()
    top_gap: dict[str, tuple[int, str]] = {}
    for name, gap, count in gaps:
        best = top_gap.get(name)
        if best is None or (int(count), str(gap)) > best:
            top_gap[name] = (int(count), str(gap))
    result = []
    for name, count, preventable in rows:
        gap = top_gap[name][1] if name in top_gap else None
        if gap:
            opportunity = f"{int(preventable)} preventable: {OPPORTUNITY.get(gap, gap)}"
        elif preventable:
            opportunity = f"{int(preventable)} preventable"
        else:
            opportunity = "review a sample to find a prevention opportunity"
        result.append(
            Reason(
                reason=name,
                escalations=int(count),
                share=round(int(count) / total, 4) if total else 0.0,
                preventable=int(preventable),
                top_gap=gap,
                opportunity=opportunity,
            )
        )
    return result
