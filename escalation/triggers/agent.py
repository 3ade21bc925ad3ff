"""Agent-initiated triggers: marked, investigation timeout, suspected bug, sentiment trend."""

from __future__ import annotations

from escalation.triggers.decision import Evidence, Trigger
from escalation.triggers.facts import Facts
from escalation.triggers.kinds import TriggerKind
from escalation.triggers.sentiment import SentimentSource, message_scores


def agent_marked(f: Facts) -> Trigger | None:
    if not f.event.agent.needs_escalation:
        return None
    return f.trigger(
        TriggerKind.AGENT_MARKED,
        "the agent marked the ticket for escalation",
        [Evidence(source="agent.needs_escalation", detail="marked needs-escalation")],
    )


def investigation_timeout(f: Facts) -> Trigger | None:
    minutes = f.event.agent.minutes_investigated
    limit = f.policy.investigation_minutes
    if f.event.resolved or minutes < limit:
        return None
    return f.trigger(
        TriggerKind.INVESTIGATION_TIMEOUT,
        f"unresolved after {minutes:g} min of investigation",
        [
            Evidence(
                source="agent.minutes_investigated",
                detail=f"the agent investigated {minutes:g} min without resolving it "
                f"(threshold {limit:g} min)",
                observed=minutes,
                threshold=limit,
            )
        ],
    )


def suspected_bug(f: Facts) -> Trigger | None:
    if not f.event.agent.suspected_bug:
        return None
    return f.trigger(
        TriggerKind.SUSPECTED_BUG,
        "the agent suspects a product bug",
        [Evidence(source="agent.suspected_bug", detail="agent flagged a suspected bug")],
    )


def sentiment_trend(f: Facts) -> Trigger | None:
    """Dissatisfaction rising despite the agent's efforts: the customer's messages, after an
    agent has answered, grow markedly more negative and end negative."""
    p = f.policy
    if not f.event.agent_replied():
        return None
    if len(f.context.prior_customer_sentiments) + len(f.messages) < p.sentiment_trend_min_messages:
        return None
    scores = message_scores(f.context.prior_customer_sentiments, f.messages, f.scorer)
    if f.sentiment.source is SentimentSource.TICKET_SYSTEM and f.messages:
        scores[-1] = f.sentiment.score  # the ticket system's score of the latest message
    first, last = scores[0], scores[-1]
    drop = first - last
    if drop < p.sentiment_trend_min_drop or last >= p.sentiment_trend_negative_below:
        return None
    shown = ", ".join(f"{s:+.2f}" for s in scores[-6:])
    return f.trigger(
        TriggerKind.SENTIMENT_TREND,
        "the customer's dissatisfaction is rising despite replies",
        [
            Evidence(
                source="customer messages",
                detail=f"the customer's sentiment fell by {drop:.2f} over {len(scores)} "
                f"messages ({shown}); threshold drop {p.sentiment_trend_min_drop:g}",
                observed=round(drop, 4),
                threshold=p.sentiment_trend_min_drop,
            )
        ],
    )
