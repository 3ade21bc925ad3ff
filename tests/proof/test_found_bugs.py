"""Bugs the proof tests found in code owned elsewhere, each shown by a small failing test
(not skipped: they fail until fixed). The assertion message names the file, the bug and the
proposed fix."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.adapters.jira import escalation_label
from escalation import activity_names as names
from escalation.models import EscalationInput, EscalationState, ResolveInput
from escalation.policy import Policy
from escalation.settings import Settings
from escalation.vocabulary import CustomerTier, Priority, RouteKey
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.repository import Repository
from tests.conftest import ADMIN_HEADERS, make_settings, running_worker
from tests.integration.api_server import serve_api
from tests.integration.waiting import eventually
from tests.proof.harness import PostgresCluster
from tests.vendors.plugin import VendorServers

pytestmark = pytest.mark.integration


def _settings(
    dev_env: WorkflowEnvironment, database_url: str, task_queue: str, servers: VendorServers
) -> Settings:
    live = servers.settings().model_dump()
    for key in ("database_url", "temporal_task_queue"):
        live.pop(key)
    live.update(temporal_address=dev_env.client.service_client.config.target_host)
    return make_settings(database_url, task_queue, **live)


async def _start(
    dev_env: WorkflowEnvironment, task_queue: str, priority: Priority, **extra: Any
) -> tuple[str, WorkflowHandle[object, EscalationState]]:
    ticket = f"ch-{uuid.uuid4().hex[:6]}-900"
    handle: WorkflowHandle[object, EscalationState] = await dev_env.client.start_workflow(
        names.ESCALATION_WORKFLOW,
        EscalationInput(
            ticket_id=ticket,
            priority=priority,
            route=extra.pop("route", RouteKey.OUTAGE),
            subject=f"chaos {ticket}",
            customer_name="Globex",
            customer_tier=CustomerTier.ENTERPRISE,
            **extra,
        ),
        id=f"escalation-{ticket}",
        task_queue=task_queue,
        result_type=EscalationState,
    )
    return ticket, handle


async def test_suspected_bug_files_a_bug_in_jira(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    proof_vendors: VendorServers,
    open_policy: Policy,
) -> None:
    settings = _settings(dev_env, database_url, task_queue, proof_vendors)
    async with running_worker(dev_env.client, settings, open_policy, repository):
        _, handle = await _start(
            dev_env, task_queue, Priority.P1, route=RouteKey.TECHNICAL, suspected_bug=True
        )
        await eventually(lambda: proof_vendors.slack.messages("#escalations"))
        await asyncio.sleep(2)  # every T+0 action is delivered concurrently
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="alice"))
        final = await asyncio.wait_for(handle.result(), 60)
    label = escalation_label(f"{final.escalation_key}.g0")
    issues = proof_vendors.jira.issues_with_label(label)
    rows = [r for r in repository.notifications(final.escalation_key) if r.channel == "jira"]
    assert issues and rows, (
        "BUG (workflows/escalation.py, EscalationWorkflow._load_plan): an escalation started "
        "with suspected_bug=True files no bug. EscalationInput.suspected_bug is never passed "
        "to PlanRequest, so build_plan never adds the FILE_BUG action (the intake sets it for "
        "technical routes, and `escalation simulate` shows a bug being filed). Fix: pass "
        "`suspected_bug=request.suspected_bug` in the PlanRequest of _load_plan (activity "
        "input only: replay-safe, no patch needed). "
        f"Jira issues with label {label}: {issues}; jira notification rows: {rows}"
    )


async def test_resolve_before_the_plan_stops_t0(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    proof_vendors: VendorServers,
    open_policy: Policy,
) -> None:
    """The escalation is resolved before a worker has loaded its plan (the worker was down,
    or busy replaying after a restart: the chaos test saw it 19 times out of 20): nothing of
    T+0 should go out ("nothing runs after resolve")."""
    settings = _settings(dev_env, database_url, task_queue, proof_vendors)
    ticket, handle = await _start(dev_env, task_queue, Priority.P1)  # no worker yet
    await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan", resolution="duplicate"))
    async with running_worker(dev_env.client, settings, open_policy, repository):
        final = await asyncio.wait_for(handle.result(), 60)
    posts = [
        r for r in proof_vendors.slack.requests_to("/chat.postMessage") if ticket in r.body.decode()
    ]
    t0 = next(s for s in final.steps if s.index == 0)
    assert t0.skipped and not posts, (
        "BUG (workflows/escalation.py, _acknowledge/_resolve since 8c684c4): a resolve that "
        "arrives before the plan is loaded no longer stops T+0. The handlers now wait for the "
        "plan, and run() decides T+0 right after _load_plan in the same activation, before "
        "the waiting handler has set RESOLVED: T+0's notifications go out for an escalation "
        "that is already resolved (README: 'Nothing runs after resolve'). Fix: note the "
        "request synchronously at handler entry (e.g. self._resolve_requested = True before "
        "the wait) and let _stop_met honour it, or in run() yield to the pending handlers "
        "(await workflow.wait_condition(workflow.all_handlers_finished)) before walking the "
        f"cadence; behind workflow.patched. T+0: {t0}; Slack posts: {len(posts)}"
    )


async def test_fallback_is_recorded_in_notifications(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    proof_vendors: VendorServers,
    open_policy: Policy,
) -> None:
    """PagerDuty down for good (past a 5 s budget): the page falls back to SMS, and the
    notifications table should say so (store/analytics/oncall.py counts outcome `fallback`
    as paged; the issue asks for "the fallback recorded")."""
    settings = _settings(dev_env, database_url, task_queue, proof_vendors)
    proof_vendors.pagerduty.fail_next("/v2/enqueue", status=503, times=10**6)
    async with running_worker(dev_env.client, settings, open_policy, repository):
        _, handle = await _start(dev_env, task_queue, Priority.P0, delivery_budget_seconds=5)
        await eventually(lambda: proof_vendors.twilio.messages, within=60)
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        final = await asyncio.wait_for(handle.result(), 60)
    rows = [
        (r.step_index, r.action, r.channel, r.target, r.outcome)
        for r in repository.notifications(final.escalation_key)
        if r.action == "page"
    ]
    assert ("page", "fallback") in {(r[1], r[4]) for r in rows} and (
        0,
        "page",
        "pagerduty",
        "dan",
        "failed",
    ) in rows, (
        "BUG (activities/delivery.py, _with_fallback/_once): a page that fell back to SMS is "
        "not recorded as a fallback. After the delivery budget ran out, nothing is recorded "
        "for the PagerDuty unit at all and the SMS unit is saved as 'delivered' (after a 4xx "
        "the primary is 'failed' and the SMS again 'delivered'); outcome 'fallback' only "
        "exists in the activity result and the timeline, never in `notifications`, although "
        "store/analytics/oncall.py counts it. Fix: save the fallback channel's unit with "
        "outcome 'fallback' (pass the outcome into _once from _with_fallback), and when "
        "use_fallback=True first save the primary unit as 'failed' with error 'delivery "
        f"budget exhausted'. Page rows recorded: {rows}"
    )


async def test_nul_character_in_ticket_text_is_refused_at_the_boundary(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    open_policy: Policy,
) -> None:
    """Found by fuzzing: PostgreSQL refuses NUL (U+0000) in text, and the API accepts it."""
    settings = make_settings(
        database_url,
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        escalation_time_scale=0.01,
    )
    ticket = f"NUL-{uuid.uuid4().hex[:6]}"
    with serve_api(settings) as url:
        async with (
            running_worker(dev_env.client, settings, open_policy, repository),
            httpx.AsyncClient(base_url=url, headers=ADMIN_HEADERS, timeout=30) as http,
        ):
            response = await http.post(
                "/v1/escalations",
                json={"ticket_id": ticket, "priority": "P3", "subject": "checkout\u0000down"},
            )
            stuck = ""
            if response.status_code < 400:
                await http.post(f"/v1/escalations/{ticket}/resolve", json={"by": "dan"})
                await asyncio.sleep(6)
                described = await dev_env.client.get_workflow_handle(
                    f"escalation-{ticket}"
                ).describe()
                pending = described.raw_description.pending_activities
                state = described.status.name if described.status else "?"
                stuck = (
                    f"; after resolve the workflow is {state}"
                    f" with {len(pending)} record_timeline activities failing: "
                    f"{sorted({(p.activity_type.name, p.attempt) for p in pending})[:3]}"
                )
            agents = await http.post(
                "/v1/agents/tickets", json={"items": [{"ticket_id": "T-1", "agent_id": "a\u0000"}]}
            )
    assert response.status_code == 422 and agents.status_code == 422, (
        "BUG (api/schemas.py and the other request models; stuck workflow in "
        "workflows/escalation.py): text with a NUL character (U+0000) is accepted - POST "
        f"/v1/escalations answered {response.status_code} - but PostgreSQL refuses NUL in "
        "text, so every record_timeline of that escalation fails and is retried forever "
        "(_STORE_RETRY has no limit): the timeline and the escalations row are never "
        "written, and the workflow never completes after resolve. POST /v1/agents/tickets "
        f"with a NUL agent_id answers {agents.status_code} (a 500). Fix: refuse control "
        "characters in every request string (a shared constrained str type in the request "
        "models, 422 naming the field); in the workflow, classify a store DataError as "
        "non-retryable (or give _STORE_RETRY a bounded budget with a recorded failure) so "
        f"poison input cannot stall an escalation{stuck}"
    )


async def test_lost_war_room_answer_opens_no_second_war_room(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    proof_vendors: VendorServers,
    open_policy: Policy,
) -> None:
    """Slack created the war room but the answer was lost (a timeout, or a worker killed
    right after the call): the retry must not open a second war room."""
    settings = _settings(dev_env, database_url, task_queue, proof_vendors)
    slack = proof_vendors.slack
    slack.fail_next("/conversations.create", lose_response=True, times=1)
    async with running_worker(dev_env.client, settings, open_policy, repository):
        ticket, handle = await _start(dev_env, task_queue, Priority.P0, time_scale=0.01)
        await eventually(lambda: len(slack.requests_to("/conversations.create")) >= 2, within=60)
        await asyncio.sleep(2)
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        await asyncio.wait_for(handle.result(), 60)
    rooms = sorted(c.name for c in slack.channels.values() if ticket in c.name)
    assert len(rooms) == 1, (
        "BUG (activities/delivery.py _war_room with activities/adapters/slack.py "
        "create_channel): when conversations.create succeeded but its answer was lost, the "
        "retried activity finds no record, calls create_channel again, gets name_taken and "
        "opens a second war room with a `-2` suffix; responders are invited to and the post "
        "goes into the duplicate. Fix: on name_taken for the escalation's own deterministic "
        "name, look the channel up (conversations.list/info, or keep the created id in the "
        "notifications row before inviting) and reuse it when it was created by us for this "
        "escalation, instead of suffixing. "
        f"Channels: {rooms}"
    )


async def test_pages_arrive_in_step_order_after_an_outage(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    proof_vendors: VendorServers,
    open_policy: Policy,
) -> None:
    """PagerDuty is down from before T+0 until a moment that falls between the T+0 page's
    retry at +15 s and the T+5 pages' retry at +18 s (retries back off 1, 2, 4, 8, 16 s...)."""
    settings = _settings(dev_env, database_url, task_queue, proof_vendors)
    pd = proof_vendors.pagerduty
    pd.fail_next("/v2/enqueue", status=503, times=10**6)
    async with running_worker(dev_env.client, settings, open_policy, repository):
        _, handle = await _start(dev_env, task_queue, Priority.P0, time_scale=0.01)  # T+5: 3 s
        first = (await eventually(lambda: pd.requests_to("/v2/enqueue"), within=30))[0]
        await asyncio.sleep(max(0.0, first.received_at + 16.5 - time.time()))
        pd.clear_faults()  # back between the T+0 page's retry at +15 s and the T+5 ones' at +18 s
        await eventually(lambda: len(pd.alerts) >= 3, within=60)
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        await asyncio.wait_for(handle.result(), 60)
    arrived = [a.dedup_key.rsplit(":", 2)[-2] for a in pd.alerts]  # s0 / s1, in arrival order
    assert arrived[0] == "s0", (
        "BUG (workflows/escalation.py, _dispatch/_deliver): after an outage the pages do not "
        "arrive in step order (issue 5: 'notifications arrive once the vendor recovers, in "
        "order'). Every delivery retries on its own back-off schedule (1, 2, 4, ... 30 s), so "
        "when the vendor comes back between two schedules a later step's page lands first "
        "(here the T+5 pages ~13 s before the T+0 page), and up to 30 s apart. Fix: per "
        "channel, let a step's delivery start only after the previous step's delivery on the "
        "same channel finished or fell back (keep the last delivery task per channel and "
        "await it in _deliver; behind workflow.patched), or cap the retry interval of a "
        "delivery whose predecessor is pending. "
        f"Alerts in arrival order: {[a.dedup_key for a in pd.alerts]}"
    )


async def test_store_outage_after_a_vendor_call_sends_no_duplicate(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    proof_vendors: VendorServers,
    open_policy: Policy,
    tmp_path: Path,
) -> None:
    """The store goes down while a Slack post is in flight (a slow Slack): the post succeeds
    but its record cannot be written. The retry must not post a second message."""
    cluster = PostgresCluster(tmp_path / "pg")
    await asyncio.to_thread(cluster.init)
    await asyncio.to_thread(cluster.start)
    engine = None
    try:
        url = await asyncio.to_thread(cluster.create_database, "proof")
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        repository = Repository(make_sessionmaker(engine))
        settings = _settings(dev_env, url, task_queue, proof_vendors)
        slack = proof_vendors.slack
        slack.fail_next("/chat.postMessage", status=None, delay=3.0, times=1)  # slow, then OK
        async with running_worker(dev_env.client, settings, open_policy, repository):
            ticket, handle = await _start(dev_env, task_queue, Priority.P1)
            await eventually(lambda: slack.requests_to("/chat.postMessage"), within=60)
            await asyncio.to_thread(cluster.stop)  # while the post is in flight
            await asyncio.sleep(4)
            await asyncio.to_thread(cluster.start)
            await eventually(
                lambda: any(r.channel == "slack" for r in repository.notifications("escalation-")),
                within=60,
            )
            await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
            await asyncio.wait_for(handle.result(), 60)
        posts = [m for m in slack.messages("#escalations") if ticket in m["text"]]
        assert len(posts) == 1, (
            "BUG (activities/delivery.py, DeliveryActivities._once): when the store fails "
            "after a successful vendor call, _save raises, the attempt fails, and the retry "
            "finds no record and sends again: a database outage of a few seconds duplicates "
            "every Slack post/email/SMS in flight (the same window as a worker kill, but hit "
            "by every delivery in flight during the outage). Fix: once the vendor accepted, "
            "retry the _save in-process (with backoff, heartbeating) until the store is back "
            "instead of failing the attempt; only a crash then reopens the window. "
            f"Slack messages for the ticket: {len(posts)}"
        )
    finally:
        if engine is not None:
            engine.dispose()
        await asyncio.to_thread(cluster.stop)
