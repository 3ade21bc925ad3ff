"""Vendor outages, all during one run, each escalation meeting one or two of them:

* PagerDuty answers 500 for a minute: the pages of escalation A (default delivery budget)
  are retried and arrive once PagerDuty is back, one alert each, in step order; A's later
  steps still run on time meanwhile (nothing waits on a vendor).
* Slack answers 429 with Retry-After for 20 s: A's #incidents post arrives after, and the
  retries honour Retry-After.
* SMTP refuses connections for 20 s (the server is stopped and started again on the same
  port): escalation C's email arrives once it is back.
* Down for good (past a small `delivery_budget_seconds`): escalation B's pages fall back to
  SMS and its Slack post to email while PagerDuty and Slack are still down; escalation D's
  email falls back to Slack while SMTP is down. The fallback shows in the timeline
  (`delivery_retries_exhausted`, then the action delivered with outcome `fallback`).

(That the fallback is also recorded with outcome `fallback` in `notifications` is checked in
test_found_bugs.py: today it is not.)
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.adapters.email import make_message_id
from escalation import activity_names as names
from escalation.models import EscalationInput, EscalationState, PlanRequest, ResolveInput
from escalation.policy import Policy
from escalation.vocabulary import CustomerTier, Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings, running_worker
from tests.integration.waiting import eventually
from tests.proof.history import History
from tests.proof.oracle import judge
from tests.proof.servers import ProofSmtpServer
from tests.vendors.plugin import VendorServers

pytestmark = pytest.mark.integration

PD_DOWN = 60.0
SLACK_DOWN = 20.0
SMTP_DOWN_FROM, SMTP_DOWN_TO = 25.0, 45.0
RETRY_AFTER = 3
SCALE = 0.01  # P0: T+5 = 3 s, T+15 = 9 s, T+30 = 18 s


async def test_vendor_outages_recover_in_order_and_fall_back(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    repository: Repository,
    proof_vendors: VendorServers,
    open_policy: Policy,
) -> None:
    pd, slack, twilio = proof_vendors.pagerduty, proof_vendors.slack, proof_vendors.twilio
    smtp = proof_vendors.smtp
    assert isinstance(smtp, ProofSmtpServer)
    live = proof_vendors.settings().model_dump()
    for key in ("database_url", "temporal_task_queue"):
        live.pop(key)
    live.update(temporal_address=dev_env.client.service_client.config.target_host)
    settings = make_settings(database_url, task_queue, **live)
    tag = uuid.uuid4().hex[:6]
    client = dev_env.client

    async def start(name: str, priority: Priority, budget: float = 600) -> Any:
        ticket = f"ch-{tag}-{name}"
        handle: WorkflowHandle[object, EscalationState] = await client.start_workflow(
            names.ESCALATION_WORKFLOW,
            EscalationInput(
                ticket_id=ticket,
                priority=priority,
                route=RouteKey.OUTAGE,
                subject=f"chaos {ticket}",
                customer_name="Globex",
                customer_tier=CustomerTier.ENTERPRISE,
                time_scale=SCALE,
                delivery_budget_seconds=budget,
            ),
            id=f"escalation-{ticket}",
            task_queue=task_queue,
            result_type=EscalationState,
        )
        return ticket, handle

    outage_log: list[str] = []
    async with running_worker(client, settings, open_policy, repository):
        pd.fail_next("/v2/enqueue", status=500, times=10**6)
        slack.fail_next("/*", status=429, headers={"Retry-After": str(RETRY_AFTER)}, times=10**6)
        t0 = time.time()
        a_ticket, a = await start("101", Priority.P0)
        b_ticket, b = await start("102", Priority.P0, budget=8)

        async def outages() -> None:
            await asyncio.sleep(max(0.0, t0 + SLACK_DOWN - time.time()))
            slack.clear_faults()
            outage_log.append(f"slack back at {time.time() - t0:.1f}s")
            await asyncio.sleep(max(0.0, t0 + SMTP_DOWN_FROM - time.time()))
            await asyncio.to_thread(smtp.stop)
            outage_log.append(f"smtp down at {time.time() - t0:.1f}s")
            await asyncio.sleep(max(0.0, t0 + SMTP_DOWN_TO - time.time()))
            await asyncio.to_thread(smtp.start)
            outage_log.append(f"smtp back at {time.time() - t0:.1f}s")
            await asyncio.sleep(max(0.0, t0 + PD_DOWN - time.time()))
            pd.clear_faults()
            outage_log.append(f"pagerduty back at {time.time() - t0:.1f}s")

        chaos = asyncio.create_task(outages())
        await asyncio.sleep(max(0.0, t0 + SMTP_DOWN_FROM + 1 - time.time()))
        c_ticket, c = await start("103", Priority.P1)  # T+0 email to the manager: SMTP down
        d_ticket, d = await start("104", Priority.P1, budget=8)
        await chaos

        # A: all four pages (dan at T+0; erin, ivy at T+5) once PagerDuty is back.
        a_key = f"escalation-{a_ticket}.{a.first_execution_run_id[:8]}.g0"
        a_pages = [f"{a_key}:s0:dan", f"{a_key}:s1:erin", f"{a_key}:s1:ivy"]
        await eventually(lambda: all(pd.alert(k) for k in a_pages), within=90)
        pages_back = time.time() - t0
        # C: its email, held while SMTP was down, arrives.
        c_key = f"escalation-{c_ticket}.{c.first_execution_run_id[:8]}.g0"
        c_mail = make_message_id(f"{c_key}:s0:a1:email:email:ivy", settings.smtp_from)
        await eventually(
            lambda: any(m.header("Message-ID") == c_mail for m in smtp.messages), within=60
        )
        for handle in (a, b, c, d):
            await handle.signal(names.SIGNAL_RESOLVE, ResolveInput(by="dan"))
        finals = {h.id: await asyncio.wait_for(h.result(), 90) for h in (a, b, c, d)}
        histories = {h.id: await History.fetch(h) for h in (a, b, c, d)}

    print(f"\nvendor outages: {'; '.join(outage_log)}; A's pages all in at {pages_back:.1f}s")

    # ---- A: pages arrived after PagerDuty came back, once each, in step order.
    triggers = [
        r for r in pd.requests_to("/v2/enqueue") if (r.json or {}).get("event_action") == "trigger"
    ]
    accepted = {}
    for request in triggers:
        key = request.json["dedup_key"]
        if key in a_pages and request.received_at >= t0 + PD_DOWN - 0.5:
            accepted.setdefault(key, request.received_at)
    assert sorted(accepted) == sorted(a_pages), accepted
    assert all(len([a for a in pd.alerts if a.dedup_key == k]) == 1 for k in a_pages)
    order = sorted(a_pages, key=lambda k: accepted[k])
    print(
        f"  A: {len([r for r in triggers if r.json['dedup_key'] in a_pages])} trigger calls "
        f"for 3 pages; accepted at {[round(accepted[k] - t0, 1) for k in a_pages]}s"
    )
    assert order[0] == a_pages[0], f"T+5 pages arrived before the T+0 page: {order}"
    # ... while A's steps ran on time: nothing waited on PagerDuty.
    verdict = judge(
        policy=open_policy,
        request=PlanRequest(
            ticket_id=a_ticket, priority=Priority.P0, route=RouteKey.OUTAGE, customer_name="Globex"
        ),
        final=finals[a.id],
        history=histories[a.id],
        scale=SCALE,
        key=finals[a.id].escalation_key,
        smtp_from=settings.smtp_from,
    )
    assert not verdict.wrong, verdict.wrong
    assert all(verdict.ran.values()) and max(verdict.lags) < 5.0, (verdict.ran, verdict.lags)
    print(f"  A: steps ran {sum(verdict.ran.values())}/4, at most {max(verdict.lags):.1f}s late")
    # Slack: A's #incidents post arrived after the 429s, honouring Retry-After.
    posts = slack.requests_to("/chat.postMessage")
    a_posts = [
        r
        for r in posts
        if a_ticket in str((r.json or {}).get("text"))
        and (r.json or {}).get("channel") == "#incidents"
    ]
    gaps = [y.received_at - x.received_at for x, y in itertools.pairwise(a_posts)]
    incidents = [m for m in slack.messages("#incidents") if a_ticket in m["text"]]
    assert len(incidents) == 1, incidents
    assert all(g >= RETRY_AFTER - 0.2 for g in gaps[: len(gaps) - 1]), gaps
    print(f"  Slack: A's post took {len(a_posts)} calls, gaps {[round(g, 1) for g in gaps]}s")

    # ---- B: down for good (budget 8 s): pages -> SMS, Slack -> email, while still down.
    b_key = f"escalation-{b_ticket}.{b.first_execution_run_id[:8]}.g0"
    b_sms = [m for m in twilio.messages if b_ticket in m["body"]]
    assert sorted(m["to"] for m in b_sms) == ["+15555550104", "+15555550105"], b_sms
    assert not any(a.dedup_key.startswith(b_key) for a in pd.alerts), "B paged after fallback"
    b_mails = [m for m in smtp.messages if m.header("X-Escalation-Id") == b_key]
    b_slack_fallback = make_message_id(f"{b_key}:s0:a1:slack:email:#incidents", settings.smtp_from)
    assert any(m.header("Message-ID") == b_slack_fallback for m in b_mails), [
        m.header("Message-ID") for m in b_mails
    ]
    b_events = Counter(
        (e.kind, (e.detail or {}).get("outcome"))
        for e in repository.timeline(finals[b.id].escalation_key)
    )
    assert b_events[("delivery_retries_exhausted", None)] >= 3, b_events
    assert b_events[("action_delivered", "fallback")] >= 3, b_events
    print(
        f"  B: fell back to {len(b_sms)} SMS and the Slack post to email; timeline {dict(b_events)}"
    )

    # ---- C: the email held while SMTP was down arrived after it came back.
    c_index = next(i for i, m in enumerate(smtp.messages) if m.header("Message-ID") == c_mail)
    assert smtp.received_at[c_index] >= t0 + SMTP_DOWN_TO - 0.5
    # ---- D: its email fell back to Slack (#escalations) while SMTP was down.
    d_posts = [
        str((r.json or {}).get("text"))
        for r in slack.requests_to("/chat.postMessage")
        if d_ticket in str((r.json or {}).get("text"))
    ]
    assert any("email to" in text for text in d_posts), d_posts
    print(f"  C: email in {smtp.received_at[c_index] - t0:.1f}s after start; D: email -> Slack")
    assert proof_vendors.schema_violations() == {}
