"""Rows added to dataset.load() for the BI view tests: the statuses January lacks, a measured
notification latency, and a survey comment that needs CSV quoting. All outside January 2026
except the open escalation (started when the test runs), so January's known answers hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from store import models
from store import models_analytics as ma

FEB = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
COMMENT = 'Fast, "friendly"\nand naïve, ☃ fixed'


def add(session: Session, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)

    def escalation(
        key: str,
        ticket: str,
        priority: str,
        started: datetime,
        *,
        acknowledged: datetime | None = None,
        resolved: datetime | None = None,
    ) -> None:
        session.add(
            models.Escalation(
                key=key,
                ticket_id=ticket,
                status="resolved" if resolved else "paging",
                priority=priority,
                route="outage",
                team="engineering",
                assignee=None,
                bounces=1,
                subject="",
                customer_name="Globex",
                customer_tier="enterprise",
                time_scale=1.0,
                started_at=started,
                acknowledged_at=acknowledged,
                acknowledged_by=None,
                resolved_at=resolved,
                resolved_by=None,
                last_sequence=1,
                updated_at=started,
            )
        )

    # Resolved in 2 minutes without an acknowledgement: nothing was missed yet.
    escalation("escalation-F1.aaaa", "F1", "P0", FEB, resolved=FEB + timedelta(minutes=2))
    # Resolved after 10 minutes without one: the 5-minute acknowledgement target was missed.
    escalation(
        "escalation-F2.aaaa",
        "F2",
        "P0",
        FEB + timedelta(hours=1),
        resolved=FEB + timedelta(hours=1, minutes=10),
    )
    # Open and young: both statuses still pending.
    escalation("escalation-N1.aaaa", "N1", "P1", now - timedelta(minutes=1))
    session.flush()

    session.add(
        models.TimelineEvent(
            event_key="escalation-F1.aaaa:1",
            escalation_key="escalation-F1.aaaa",
            ticket_id="F1",
            sequence=1,
            kind="step_started",
            at=FEB,
            actor="system",
            via="system",
            step_index=0,
            detail={},
        )
    )
    session.add(
        models.Notification(
            idempotency_key="escalation-F1.aaaa:0:page:dan",
            escalation_key="escalation-F1.aaaa",
            ticket_id="F1",
            step_index=0,
            action="page",
            channel="pagerduty",
            target="dan",
            outcome="delivered",
            result={},
            created_at=FEB + timedelta(seconds=2.5),
        )
    )
    session.add(
        ma.Survey(
            token_hash="F1".ljust(64, "f"),
            escalation_key="escalation-F1.aaaa",
            ticket_id="F1",
            created_at=FEB + timedelta(hours=2),
            expires_at=FEB + timedelta(days=14),
            used_at=FEB + timedelta(hours=3),
            score=2,
            comment=COMMENT,
        )
    )
