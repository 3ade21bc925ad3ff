"""PostgreSQL restarted during a run: a throwaway cluster of our own (initdb in a temporary
directory, so the machine's server is not disturbed) is shut down in the middle of ten
escalations' cadences and started again a few seconds later.

Activities that touch the store fail while it is down and are retried by Temporal; the
timeline writes are fire-and-forget and retried until the store is back. Afterwards every
cadence completed as its signals dictate, every `record_timeline` the workflows scheduled is
exactly one row (sequences contiguous), every notification is recorded once and delivered
once where the vendor de-duplicates, nothing was lost and nothing extra sent."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from escalation import activity_names as names
from escalation.models import EscalationInput, EscalationState, PlanRequest, ResolveInput
from escalation.policy import Policy
from escalation.vocabulary import CustomerTier, Priority, RouteKey
from store import models
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.repository import Repository
from tests.conftest import make_settings, running_worker
from tests.proof.harness import PostgresCluster
from tests.proof.history import History
from tests.proof.oracle import check_store, closing_units, compare_vendors, judge
from tests.vendors.plugin import VendorServers

pytestmark = pytest.mark.integration

SCALE = 0.01  # P0: T+5 = 3 s, T+15 = 9 s, T+30 = 18 s; P1: T+15 = 9 s, T+30 = 18 s
DOWN_FOR = 6.0


def _recorded_steps(repository: Repository, ticket: str) -> set[int]:
    with repository.sessions() as session:
        return set(
            session.scalars(
                select(models.Notification.step_index).where(
                    models.Notification.ticket_id == ticket
                )
            ).all()
        )


def _attempts(history: History) -> int:
    """Activity attempts beyond the first (retries), from the history."""
    retries = 0
    for event in history.events:
        if event.HasField("activity_task_started_event_attributes"):
            retries += max(0, event.activity_task_started_event_attributes.attempt - 1)
    return retries


async def test_postgres_restart_mid_cadence(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    proof_vendors: VendorServers,
    open_policy: Policy,
    tmp_path: Path,
) -> None:
    cluster = PostgresCluster(tmp_path / "pg")
    await asyncio.to_thread(cluster.init)
    await asyncio.to_thread(cluster.start)
    engine = None
    try:
        url = await asyncio.to_thread(cluster.create_database, "proof")
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url, pre_ping=False)  # as the worker process runs it
        repository = Repository(make_sessionmaker(engine))
        live = proof_vendors.settings().model_dump()
        for key in ("database_url", "temporal_task_queue"):
            live.pop(key)
        live.update(temporal_address=dev_env.client.service_client.config.target_host)
        settings = make_settings(url, task_queue, **live)
        tag = uuid.uuid4().hex[:6]
        plans = [
            (f"ch-{tag}-{i:03d}", Priority.P0 if i < 6 else Priority.P1, route)
            for i, route in enumerate([RouteKey.OUTAGE, RouteKey.TECHNICAL] * 5)
        ]
        async with running_worker(dev_env.client, settings, open_policy, repository):
            handles: dict[str, WorkflowHandle[object, EscalationState]] = {}
            for ticket, priority, route in plans:
                handles[ticket] = await dev_env.client.start_workflow(
                    names.ESCALATION_WORKFLOW,
                    EscalationInput(
                        ticket_id=ticket,
                        priority=priority,
                        route=route,
                        subject=f"chaos {ticket}",
                        customer_name="Globex",
                        customer_tier=CustomerTier.ENTERPRISE,
                        time_scale=SCALE,
                    ),
                    id=f"escalation-{ticket}",
                    task_queue=task_queue,
                    result_type=EscalationState,
                )
            # Stop the store once a first escalation has delivered its T+0 actions: the others
            # are mid-delivery, their T+5 / T+15 timers fall inside the outage.
            deadline = time.time() + 60
            while not any(_recorded_steps(repository, t) for t, _, _ in plans):
                assert time.time() < deadline, "no T+0 delivery recorded"
                await asyncio.sleep(0.1)
            stopped_at = time.time()
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(DOWN_FOR)
            await asyncio.to_thread(cluster.start)
            down = time.time() - stopped_at
            # Resolve each escalation once its last step is recorded: every step runs.
            for ticket, priority, _ in plans:
                last = 3 if priority is Priority.P0 else 2
                while last not in await asyncio.to_thread(_recorded_steps, repository, ticket):
                    assert time.time() < deadline + 120, f"{ticket}: step {last} not recorded"
                    await asyncio.sleep(0.2)
                await handles[ticket].signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
            finals = {t: await asyncio.wait_for(h.result(), 60) for t, h in handles.items()}
            histories = {t: await History.fetch(h) for t, h in handles.items()}
            await asyncio.sleep(2)  # the last fire-and-forget timeline writes

        expected: Counter[tuple[str, ...]] = Counter()
        wrong: list[str] = []
        lags: list[float] = []
        retries = 0
        for ticket, priority, route in plans:
            final = finals[ticket]
            history = histories[ticket]
            key = final.escalation_key
            verdict = judge(
                policy=open_policy,
                request=PlanRequest(
                    ticket_id=ticket, priority=priority, route=route, customer_name="Globex"
                ),
                final=final,
                history=history,
                scale=SCALE,
                key=key,
                smtp_from=settings.smtp_from,
            )
            units = verdict.units + closing_units(
                key, settings.smtp_from, customer_email=None, confirmed=False
            )
            wrong += verdict.wrong
            wrong += [f"{ticket}: step {i} skipped" for i, ran in verdict.ran.items() if not ran]
            wrong += check_store(repository, key, ticket, units, history)
            lags += verdict.lags
            retries += _attempts(history)
            for unit in units:
                expected[unit] += 1
        figures = compare_vendors(expected, proof_vendors)
        print(
            f"\npostgres restart: {len(plans)} escalations, store down {down:.1f}s "
            f"mid-cadence; activity retries {retries}; steps late by median "
            f"{statistics.median(lags):.1f}s, max {max(lags):.1f}s"
        )
        print(f"  notifications: {figures.summary()}")
        assert not wrong, "\n".join(wrong[:20])
        assert retries > 0, "the outage was not felt: no activity was retried"
        assert not figures.lost, figures.lost
        assert not figures.extra, figures.extra
        assert not figures.guaranteed_duplicates(), figures.guaranteed_duplicates()
        assert proof_vendors.schema_violations() == {}
    finally:
        if engine is not None:
            engine.dispose()
        await asyncio.to_thread(cluster.stop)
