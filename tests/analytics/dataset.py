"""A hand-built month of escalations with known answers (see test_analytics.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from store import models
from store import models_analytics as ma

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def _esc(
    session: Session,
    key: str,
    ticket: str,
    priority: str,
    route: str,
    team: str,
    started: datetime,
    *,
    ack: float | None = None,
    resolved: float | None = None,
    scale: float = 1.0,
    customer: str = "Globex",
    tier: str = "enterprise",
) -> None:
    """`ack` / `resolved`: real seconds after start (policy seconds x scale)."""
    status = "resolved" if resolved is not None else "acknowledged" if ack is not None else "paging"
    session.add(
        models.Escalation(
            key=key,
            ticket_id=ticket,
            status=status,
            priority=priority,
            route=route,
            team=team,
            assignee=None,
            bounces=0,
            subject=f"{ticket} subject",
            customer_name=customer,
            customer_tier=tier,
            time_scale=scale,
            started_at=started,
            acknowledged_at=started + timedelta(seconds=ack) if ack is not None else None,
            acknowledged_by="dan" if ack is not None else None,
            resolved_at=started + timedelta(seconds=resolved) if resolved is not None else None,
            resolved_by="dan" if resolved is not None else None,
            last_sequence=1,
            updated_at=started,
        )
    )


def _facts(
    session: Session,
    key: str,
    ticket: str,
    agent: str | None,
    category: str | None,
    triggers: list[str],
) -> None:
    session.add(
        ma.EscalationFacts(
            escalation_key=key,
            ticket_id=ticket,
            agent_id=agent,
            agent_team="tier1" if agent else None,
            category=category,
            reason="",
            recorded_at=JAN,
        )
    )
    for trigger in triggers:
        session.add(ma.EscalationTrigger(escalation_key=key, trigger_type=trigger))


def _note(session: Session, key: str, ticket: str, n: int, action: str, outcome: str) -> None:
    session.add(
        models.Notification(
            idempotency_key=f"{key}:{n}",
            escalation_key=key,
            ticket_id=ticket,
            step_index=0,
            action=action,
            channel=action,
            target="dan",
            outcome=outcome,
            result={},
            created_at=JAN,
        )
    )


def _survey(session: Session, key: str, ticket: str, n: int, score: int | None) -> None:
    session.add(
        ma.Survey(
            token_hash=f"{key}-{n}".ljust(64, "x")[:64],
            escalation_key=key,
            ticket_id=ticket,
            created_at=JAN,
            expires_at=JAN + timedelta(days=60),
            used_at=JAN if score else None,
            score=score,
            comment=None,
        )
    )


def _review(
    session: Session,
    key: str,
    necessary: bool,
    gap: str | None = None,
    preventable: bool | None = None,
) -> None:
    session.add(
        ma.EscalationReview(
            escalation_key=key,
            necessary=necessary,
            preventable=preventable,
            gap_category=gap,
            reopened=False,
            agent_feedback="",
            specialist_feedback="",
            reviewed_by="carol",
            created_at=JAN,
            updated_at=JAN,
        )
    )


def _kb(session: Session, key: str, ticket: str) -> None:
    session.add(
        ma.KbDraft(
            escalation_key=key,
            ticket_id=ticket,
            title=f"How to fix {ticket}",
            problem="p",
            resolution="r",
            route="",
            tags="",
            status="draft",
            created_by="dan",
            created_at=JAN,
        )
    )


def load(session: Session) -> None:
    d = lambda day, hour=10: datetime(2026, 1, day, hour, tzinfo=UTC)  # noqa: E731
    m, h = 60, 3600
    _esc(
        session,
        "escalation-T1.aaaa",
        "T1",
        "P0",
        "outage",
        "engineering",
        d(5),
        ack=4 * m,
        resolved=3 * h,
    )
    _esc(
        session,
        "escalation-T2.aaaa",
        "T2",
        "P0",
        "outage",
        "engineering",
        d(6),
        ack=6 * m,
        resolved=5 * h,
        customer="Initech",
    )
    _esc(
        session,
        "escalation-T3.aaaa",
        "T3",
        "P1",
        "security",
        "security",
        d(10, 12),
        ack=20 * m,
        resolved=10 * h,
        customer="Hooli",
        tier="business",
    )
    _esc(
        session,
        "escalation-T4.aaaa",
        "T4",
        "P2",
        "billing",
        "billing",
        d(12),
        ack=30 * m,
        customer="Umbrella",
        tier="standard",
    )
    _esc(
        session,
        "escalation-T5.aaaa",
        "T5",
        "P3",
        "product",
        "product",
        d(15),
        customer="Umbrella",
        tier="standard",
    )
    # Compressed run (ESCALATION_TIME_SCALE 0.01): 6 s real = 10 min policy, 36 s = 1 h.
    _esc(
        session,
        "escalation-T6.aaaa",
        "T6",
        "P1",
        "technical",
        "l2",
        d(20, 9),
        ack=6,
        resolved=36,
        scale=0.01,
    )
    # T1 escalated again two days after it was resolved: a reopen.
    _esc(session, "escalation-T1.bbbb", "T1", "P2", "technical", "l2", d(7))
    # December: the previous period.
    _esc(
        session,
        "escalation-D1.aaaa",
        "D1",
        "P0",
        "outage",
        "engineering",
        datetime(2025, 12, 10, tzinfo=UTC),
        ack=60,
        resolved=h,
    )
    _esc(
        session,
        "escalation-D2.aaaa",
        "D2",
        "P2",
        "billing",
        "billing",
        datetime(2025, 12, 11, tzinfo=UTC),
        ack=60,
        resolved=h,
    )
    session.flush()

    _facts(
        session, "escalation-T1.aaaa", "T1", "a1", "api-outage", ["system_outage", "mass_pattern"]
    )
    _facts(session, "escalation-T2.aaaa", "T2", "a1", "api-outage", ["system_outage"])
    _facts(session, "escalation-T3.aaaa", "T3", "a2", None, ["security_keyword"])
    _facts(session, "escalation-T4.aaaa", "T4", "a2", "refund-limit", ["billing_above_limit"])
    _facts(session, "escalation-T6.aaaa", "T6", "a1", "login-issue", ["complaint"])
    _facts(session, "escalation-T1.bbbb", "T1", "a3", None, [])
    _facts(session, "escalation-D1.aaaa", "D1", "a1", None, ["system_outage"])
    for i in range(10):
        session.add(
            ma.AgentTicket(ticket_id=f"H1-{i}", agent_id="a1", team="tier1", handled_at=d(3))
        )
    for i in range(4):
        session.add(
            ma.AgentTicket(ticket_id=f"H2-{i}", agent_id="a2", team="tier1", handled_at=d(3))
        )
    for i in range(20):
        session.add(
            ma.AgentTicket(ticket_id=f"H3-{i}", agent_id="a3", team="tier1", handled_at=d(3))
        )

    _note(session, "escalation-T1.aaaa", "T1", 1, "page", "delivered")
    _note(session, "escalation-T1.aaaa", "T1", 2, "page", "outbox")
    _note(session, "escalation-T2.aaaa", "T2", 1, "page", "fallback")
    _note(session, "escalation-T2.aaaa", "T2", 2, "slack", "delivered")
    _note(session, "escalation-T3.aaaa", "T3", 1, "page", "delivered")
    _note(session, "escalation-T6.aaaa", "T6", 1, "page", "skipped")

    _survey(session, "escalation-T1.aaaa", "T1", 1, 5)
    _survey(session, "escalation-T2.aaaa", "T2", 1, 3)
    _survey(session, "escalation-T3.aaaa", "T3", 1, None)
    _survey(session, "escalation-T6.aaaa", "T6", 1, 4)

    _review(session, "escalation-T1.aaaa", True)
    _review(session, "escalation-T3.aaaa", False, "training", True)
    _review(session, "escalation-T6.aaaa", False, "process", True)

    _kb(session, "escalation-T1.aaaa", "T1")
    _kb(session, "escalation-T6.aaaa", "T6")
