"""The intake store on PostgreSQL: candidate windows, open incidents, similar resolved
escalations (pg_trgm), and the query plans that keep the candidate queries fast."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from escalation.models import EscalationStatus, TimelineEntry
from escalation.triggers import TicketEvent
from escalation.triggers.similarity import normalise_for_similarity, ticket_text
from escalation.vocabulary import Priority, RouteKey
from store.intake import IntakeRepository
from store.repository import Repository

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(repository: Repository) -> IntakeRepository:
    return IntakeRepository(repository.sessions)


def event(ticket_id: str, *, customer: str, area: str, at: datetime, subject: str) -> TicketEvent:
    return TicketEvent.model_validate(
        {
            "ticket_id": ticket_id,
            "subject": subject,
            "description": "",
            "product_area": area,
            "created_at": at,
            "customer": {"customer_id": customer},
        }
    )


def index(store: IntakeRepository, e: TicketEvent) -> str:
    normalized = normalise_for_similarity(ticket_text(e.subject, e.description))
    store.upsert_ticket(e, normalized, NOW)
    return normalized


def test_candidate_windows(store: IntakeRepository) -> None:
    tag = uuid.uuid4().hex[:6]
    area, customer = f"area-{tag}", f"cust-{tag}"
    subject = "Login page returns error 500"
    me = event(f"ME-{tag}", customer=customer, area=area, at=NOW, subject=subject)
    offsets = {"in-47h": -47 * 60, "out-49h": -49 * 60, "in.30m": 30, "in-59m": -59, "out-61m": -61}
    for name, minutes in offsets.items():
        index(
            store,
            event(
                f"{name}-{tag}",
                customer=customer,
                area=area,
                at=NOW + timedelta(minutes=minutes),
                subject=subject,
            ),
        )
    index(store, event(f"other-{tag}", customer="someone", area="elsewhere", at=NOW, subject="x"))
    normalized = index(store, me)
    customer_rows, area_rows = store.candidates(
        me, normalized, repeat_window=timedelta(hours=48), mass_window=timedelta(hours=1)
    )
    assert {r.ticket_id.removesuffix(f"-{tag}") for r in customer_rows} == {
        "in-47h",
        "in.30m",
        "in-59m",
        "out-61m",
    }
    assert {r.ticket_id.removesuffix(f"-{tag}") for r in area_rows} == {"in.30m", "in-59m"}
    assert all(r.similarity == 1.0 for r in area_rows)  # computed with the evaluation's measure


def test_open_incident_until_its_escalation_is_resolved(
    store: IntakeRepository, repository: Repository
) -> None:
    area = f"area-{uuid.uuid4().hex[:6]}"
    assert store.open_incident_for_area(area) is None
    key = store.open_incident(
        incident_key=f"outage:{area}:A",
        escalation_ticket_id=f"outage:{area}:A",
        product_area=area,
        first_ticket_id="A",
        now=NOW,
    )
    assert store.link_incident_tickets(key, ["A", "B"], NOW) == ["A", "B"]
    assert store.link_incident_tickets(key, ["B", "C"], NOW) == ["C"]
    assert store.open_incident_for_area(area) == f"outage:{area}:A"
    _resolve(repository, f"outage:{area}:A", "rolled back the deploy")
    assert store.open_incident_for_area(area) is None


def _resolve(repository: Repository, ticket_id: str, resolution: str) -> None:
    key = f"escalation-{ticket_id}.abcd1234"
    for sequence, (kind, status) in enumerate(
        [("escalation_started", EscalationStatus.PAGING), ("resolved", EscalationStatus.RESOLVED)],
        start=1,
    ):
        repository.record_timeline(
            TimelineEntry(
                escalation_key=key,
                ticket_id=ticket_id,
                event_key=f"{key}:{sequence}",
                sequence=sequence,
                kind=kind,
                at=NOW + timedelta(minutes=sequence),
                actor="dan",
                detail={"resolution": resolution} if kind == "resolved" else {},
                status=status,
                priority=Priority.P2,
                route=RouteKey.TECHNICAL,
                team="l2",
            )
        )


def test_similar_resolved_escalations(store: IntakeRepository, repository: Repository) -> None:
    tag = uuid.uuid4().hex[:6]
    area = f"area-{tag}"
    old = event(
        f"OLD-{tag}",
        customer="c1",
        area=area,
        at=NOW - timedelta(days=30),
        subject="CSV export misses the VAT column",
    )
    index(store, old)
    _resolve(repository, old.ticket_id, "Re-enable 'tax columns' in Settings > Exports.")
    unrelated = event(
        f"UNREL-{tag}", customer="c2", area=area, at=NOW, subject="Cannot reset password"
    )
    index(store, unrelated)
    _resolve(repository, unrelated.ticket_id, "Sent a reset link.")
    new = event(
        f"NEW-{tag}", customer="c3", area=area, at=NOW, subject="VAT column missing in CSV export"
    )
    normalized = index(store, new)
    assert store.has_trigram()
    [match] = store.similar_resolved(area, normalized, new.ticket_id)
    assert match.ticket_id == old.ticket_id
    assert match.resolution.startswith("Re-enable")
    assert match.resolved_by == "dan" and match.similarity > 0.6


def test_candidate_queries_read_one_index_range(
    store: IntakeRepository, repository: Repository
) -> None:
    """With 20,000 tickets the planner reads the composite indexes, not the table."""
    with repository.sessions.begin() as session:
        session.execute(
            text(
                """
                INSERT INTO intake_tickets (ticket_id, customer_id, product_area, created_at,
                    subject, normalized_text, status, resolved, legal_hold, message_sentiments,
                    updated_at)
                SELECT 'BULK-' || g, 'C-' || (g % 5000), 'area-' || (g % 40),
                    TIMESTAMPTZ '2025-01-01' + g * INTERVAL '27 minutes', '', 'bulk text ' || g,
                    'open', false, false, '[]'::json, now()
                FROM generate_series(1, 20000) AS g
                """
            )
        )
        session.execute(text("ANALYZE intake_tickets"))
    with repository.sessions() as session:
        plans = {
            "area": session.execute(
                text(
                    "EXPLAIN SELECT ticket_id FROM intake_tickets WHERE product_area = 'area-7' "
                    "AND created_at BETWEEN TIMESTAMPTZ '2025-06-01 10:00' "
                    "AND TIMESTAMPTZ '2025-06-01 12:00' AND ticket_id <> 'x'"
                )
            ).scalars(),
            "customer": session.execute(
                text(
                    "EXPLAIN SELECT ticket_id FROM intake_tickets WHERE customer_id = 'C-77' "
                    "AND created_at BETWEEN TIMESTAMPTZ '2025-06-01' "
                    "AND TIMESTAMPTZ '2025-06-05' AND ticket_id <> 'x'"
                )
            ).scalars(),
        }
        area_plan = "\n".join(plans["area"])
        customer_plan = "\n".join(plans["customer"])
    assert "ix_intake_tickets_area_created" in area_plan, area_plan
    assert "ix_intake_tickets_customer_created" in customer_plan, customer_plan
    assert "Seq Scan" not in area_plan + customer_plan
