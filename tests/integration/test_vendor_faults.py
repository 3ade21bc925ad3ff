"""Vendor faults: 429 with Retry-After and bursts of 5xx are retried (and Retry-After is
honoured); a 400 is recorded, the channel's fallback runs, and the escalation goes on."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from escalation import activity_names as names
from escalation.models import EscalationInput, EscalationState, ResolveInput
from escalation.policy import Policy
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings, running_worker
from tests.integration.waiting import eventually
from tests.vendors.plugin import VendorServers

pytestmark = pytest.mark.integration


async def _start(
    dev_env: WorkflowEnvironment, task_queue: str, **extra: object
) -> WorkflowHandle[object, EscalationState]:
    ticket = f"F{uuid.uuid4().hex[:8]}"
    return await dev_env.client.start_workflow(
        names.ESCALATION_WORKFLOW,
        EscalationInput(ticket_id=ticket, priority=Priority.P0, route=RouteKey.OUTAGE, **extra),  # type: ignore[arg-type]
        id=f"escalation-{ticket}",
        task_queue=task_queue,
        result_type=EscalationState,
    )


def _settings(
    dev_env: WorkflowEnvironment, database_url: str, task_queue: str, servers: VendorServers
):  # type: ignore[no-untyped-def]
    live = servers.settings().model_dump()
    for key in ("database_url", "temporal_task_queue", "escalation_policy", "temporal_address"):
        live.pop(key)
    return make_settings(
        database_url,
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        **live,
    )


async def test_429_and_5xx_are_retried_honouring_retry_after(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    vendor_servers: VendorServers,
    policy: Policy,
    repository: Repository,
) -> None:
    pd, slack = vendor_servers.pagerduty, vendor_servers.slack
    pd.fail_next("/v2/enqueue", status=429, headers={"Retry-After": "2"}, times=1)
    pd.fail_next("/v2/enqueue", status=500, times=3)
    slack.fail_next_error(
        "chat.postMessage", "ratelimited", status=429, headers={"Retry-After": "1"}
    )
    settings = _settings(dev_env, database_url, task_queue, vendor_servers)
    async with running_worker(dev_env.client, settings, policy, repository):
        handle = await _start(dev_env, task_queue)
        alerts = await eventually(lambda: pd.alerts)
        posted = await eventually(lambda: slack.messages("#incidents"))
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        final = await asyncio.wait_for(handle.result(), 30)

    attempts = [r for r in pd.requests_to("/v2/enqueue") if r.json["event_action"] == "trigger"]
    assert len(attempts) == 5  # 429, three 500s, then accepted
    assert attempts[1].received_at - attempts[0].received_at >= 2.0, "Retry-After not honoured"
    assert len(alerts) == 1 and alerts[0].trigger_count == 1
    assert len(posted) == 1
    slack_attempts = slack.requests_to("/chat.postMessage")
    assert len(slack_attempts) == 2
    assert slack_attempts[1].received_at - slack_attempts[0].received_at >= 1.0
    outcomes = {
        (r.channel, r.outcome)
        for r in repository.notifications(final.escalation_key)
        if r.step_index == 0
    }
    assert ("pagerduty", "delivered") in outcomes and ("slack", "delivered") in outcomes
    assert vendor_servers.schema_violations() == {}


async def test_400_is_recorded_falls_back_and_the_cadence_goes_on(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    vendor_servers: VendorServers,
    policy: Policy,
    repository: Repository,
) -> None:
    pd, twilio = vendor_servers.pagerduty, vendor_servers.twilio
    pd.fail_next("/v2/enqueue", status=400, times=1)
    settings = _settings(dev_env, database_url, task_queue, vendor_servers)
    async with running_worker(dev_env.client, settings, policy, repository):
        handle = await _start(dev_env, task_queue, time_scale=0.01)  # T+5m = 3 s
        # The primary's page was refused: the fallback texts dan's phone instead.
        sms = await eventually(lambda: twilio.messages)
        assert sms[0]["to"] == "+15555550104"
        # ... and T+5 still pages the secondary and the VP.
        await eventually(lambda: len(pd.alerts) >= 2, within=30)
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="erin"))
        final = await asyncio.wait_for(handle.result(), 30)

    rows = repository.notifications(final.escalation_key)
    failed = [r for r in rows if r.outcome == "failed"]
    assert [(r.channel, r.target, r.step_index) for r in failed] == [("pagerduty", "dan", 0)]
    assert "HTTP 400" in (failed[0].error or "")
    # The SMS stands in for the refused page: recorded as the fallback it is.
    assert any(r.channel == "sms" and r.target == "dan" and r.outcome == "fallback" for r in rows)
    assert [s.index for s in final.steps if not s.skipped][:2] == [0, 1]
    assert vendor_servers.schema_violations() == {}


async def test_lost_response_is_retried_and_pagerduty_dedups_it(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    vendor_servers: VendorServers,
    policy: Policy,
    repository: Repository,
) -> None:
    """PagerDuty handled the trigger but the answer was lost (a timeout): the activity retries
    with the same dedup_key, so PagerDuty still has one alert, and we record one delivery."""
    pd = vendor_servers.pagerduty
    pd.fail_next("/v2/enqueue", lose_response=True, times=1)
    settings = _settings(dev_env, database_url, task_queue, vendor_servers)
    async with running_worker(dev_env.client, settings, policy, repository):
        handle = await _start(dev_env, task_queue)
        await eventually(lambda: len(pd.requests_to("/v2/enqueue")) >= 2)
        await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        final = await asyncio.wait_for(handle.result(), 30)
    triggers = [r for r in pd.requests_to("/v2/enqueue") if r.json["event_action"] == "trigger"]
    assert len(triggers) == 2 and triggers[0].json["dedup_key"] == triggers[1].json["dedup_key"]
    assert len(pd.alerts) == 1
    pages = [r for r in repository.notifications(final.escalation_key) if r.channel == "pagerduty"]
    assert [(p.target, p.outcome) for p in pages] == [("dan", "delivered")]
