"""API -> workflow -> vendors, over HTTP, on the real dev server and PostgreSQL.

Vendors are local HTTP/SMTP servers implementing the endpoints we use; every request they
receive is validated against the vendor schemas in ../shared/vendor-specs/.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from escalation.policy import Policy
from escalation.settings import Settings
from store.repository import Repository
from tests.conftest import ADMIN_HEADERS, make_settings, running_worker
from tests.integration.api_server import serve_api
from tests.integration.waiting import eventually
from tests.vendors.plugin import VendorServers

pytestmark = pytest.mark.integration


def _settings(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    servers: VendorServers,
    **extra: Any,
) -> Settings:
    live = servers.settings()
    return make_settings(
        database_url,
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        **{
            k: v
            for k, v in live.model_dump().items()
            if k
            not in ("database_url", "temporal_task_queue", "escalation_policy", "temporal_address")
        },
        **extra,
    )


@pytest.fixture
def api_settings(
    dev_env: WorkflowEnvironment, database_url: str, task_queue: str, vendor_servers: VendorServers
) -> Settings:
    return _settings(dev_env, database_url, task_queue, vendor_servers)


@pytest.fixture
def api_url(api_settings: Settings) -> Iterator[str]:
    with serve_api(api_settings) as url:
        yield url


def _p0(ticket: str) -> dict[str, Any]:
    return {
        "ticket_id": ticket,
        "priority": "P0",
        "route": "outage",
        "subject": "Checkout returns 502 for all EU customers",
        "reason": "Need help because every checkout fails",
        "customer": {"name": "Globex", "tier": "enterprise"},
    }


async def test_p0_over_http_reaches_every_vendor_and_ack_stops_paging(
    dev_env: WorkflowEnvironment,
    api_settings: Settings,
    api_url: str,
    vendor_servers: VendorServers,
    policy: Policy,
    repository: Repository,
) -> None:
    pd, slack, smtp = vendor_servers.pagerduty, vendor_servers.slack, vendor_servers.smtp
    ticket = f"ZD-{uuid.uuid4().hex[:6]}"
    async with (
        running_worker(dev_env.client, api_settings, policy, repository),
        httpx.AsyncClient(base_url=api_url, timeout=30, headers=ADMIN_HEADERS) as http,
    ):
        created = await http.post("/v1/escalations", params={"wait": "true"}, json=_p0(ticket))
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["created"] is True
        assert body["workflow_id"] == f"escalation-{ticket}"
        # ?wait=true: the answer carries the state once the worker loaded the plan.
        assert body["state"]["status"] == "paging" and body["state"]["priority"] == "P0"

        again = await http.post("/v1/escalations", json=_p0(ticket))
        assert again.status_code == 200 and again.json()["created"] is False
        assert again.json()["state"] is None  # by default the API does not wait for a worker

        # T+0: PagerDuty trigger, Slack message in #incidents, email to the team manager,
        # Statuspage incident.
        triggers = await eventually(lambda: pd.requests_to("/v2/enqueue"))
        event = triggers[0].json
        assert event["event_action"] == "trigger"
        assert event["payload"]["severity"] == "critical"
        assert event["payload"]["custom_details"]["ticket_id"] == ticket
        posted = await eventually(lambda: slack.requests_to("/chat.postMessage"))
        assert posted[0].json["channel"] == "#incidents"
        action_ids = [
            e["action_id"]
            for b in posted[0].json["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert action_ids == ["escalation.ack", "escalation.resolve", "escalation.reassign"]
        mails = await eventually(lambda: smtp.messages)
        assert "ivy@example.com" in mails[0].rcpt_tos
        await eventually(
            lambda: vendor_servers.statuspage.requests_to("/pages/*/incidents", "POST")
        )

        acked = await http.post(f"/v1/escalations/{ticket}/acknowledge", json={"by": "dan"})
        assert acked.status_code == 200, acked.text
        assert acked.json()["status"] == "acknowledged"

        # Acknowledge reaches every channel: the PagerDuty alert and the Slack message.
        dedup = event["dedup_key"]
        await eventually(lambda: (a := pd.alert(dedup)) is not None and a.status == "acknowledged")
        updates = await eventually(lambda: slack.requests_to("/chat.update"))
        updated_ts = updates[0].json["ts"]
        assert any(m.get("ts") == updated_ts for m in slack.messages(updates[0].json["channel"]))
        assert "Acknowledged by dan" in updates[0].json["text"]

        detail = (await http.get(f"/v1/escalations/{ticket}")).json()
        assert detail["state"]["acknowledged_by"] == "dan"
        assert detail["state"]["acknowledged_via"] == "api"

        resolved = await http.post(
            f"/v1/escalations/{ticket}/resolve", json={"by": "dan", "resolution": "rollback"}
        )
        assert resolved.status_code == 200, resolved.text
        await eventually(
            lambda: pd.alert(dedup) is not None and pd.alert(dedup).status == "resolved"
        )  # type: ignore[union-attr]

        late = await http.post(f"/v1/escalations/{ticket}/acknowledge", json={"by": "erin"})
        assert late.status_code == 409
        row = await eventually(
            lambda: (
                (r := repository.latest_escalation(ticket)) is not None
                and r.status == "resolved"
                and r
            )
        )
        assert row.acknowledged_by == "dan" and row.resolved_by == "dan"

    assert vendor_servers.schema_violations() == {}
    assert not any(s.errors for s in (pd, slack, vendor_servers.statuspage))


async def test_api_errors_name_the_problem(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers=ADMIN_HEADERS) as http:
        bad = await http.post("/v1/escalations", json={"ticket_id": "T-1", "priority": "P7"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "priority"]
        unknown_route = await http.post(
            "/v1/escalations", json={"ticket_id": "T-1", "priority": "P1", "route": "moon"}
        )
        assert (
            unknown_route.status_code == 422 and "route" in unknown_route.json()["detail"][0]["loc"]
        )
        unknown_team = await http.post(
            "/v1/escalations", json={"ticket_id": "T-1", "priority": "P1", "team": "nope"}
        )
        assert unknown_team.status_code == 422 and "team" in json.dumps(unknown_team.json())
        malformed = await http.post(
            "/v1/escalations", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 422
        missing = await http.post("/v1/escalations/NOPE-1/acknowledge", json={"by": "dan"})
        assert missing.status_code == 404
        assert "NOPE-1" in missing.json()["detail"]
        assert (await http.get("/v1/escalations/NOPE-1")).status_code == 404
        no_by = await http.post("/v1/escalations/NOPE-1/acknowledge", json={})
        assert no_by.status_code == 422 and no_by.json()["detail"][0]["loc"] == ["body", "by"]
        health = await http.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        docs = await http.get("/openapi.json")
        assert "/v1/escalations/{ticket_id}/acknowledge" in docs.json()["paths"]


async def test_list_and_reassign_and_notes(
    dev_env: WorkflowEnvironment,
    api_settings: Settings,
    api_url: str,
    policy: Policy,
    repository: Repository,
) -> None:
    ticket = f"ZD-{uuid.uuid4().hex[:6]}"
    async with (
        running_worker(dev_env.client, api_settings, policy, repository),
        httpx.AsyncClient(base_url=api_url, timeout=30, headers=ADMIN_HEADERS) as http,
    ):
        body = {**_p0(ticket), "priority": "P2", "route": "technical"}
        assert (await http.post("/v1/escalations", json=body)).status_code == 201
        note = await http.post(
            f"/v1/escalations/{ticket}/notes", json={"by": "alice", "text": "tried a restart"}
        )
        assert note.status_code == 202
        moved = await http.post(
            f"/v1/escalations/{ticket}/reassign", json={"to_team": "engineering", "by": "alice"}
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["team"] == "engineering" and moved.json()["bounces"] == 1
        same = await http.post(
            f"/v1/escalations/{ticket}/reassign", json={"to_team": "engineering", "by": "alice"}
        )
        assert same.status_code == 409
        bad_team = await http.post(
            f"/v1/escalations/{ticket}/reassign", json={"to_team": "mars", "by": "alice"}
        )
        assert bad_team.status_code == 422

        async def listed() -> dict[str, Any] | None:
            items = (
                await http.get("/v1/escalations", params={"priority": "P2", "team": "engineering"})
            ).json()["items"]
            return next((i for i in items if i["ticket_id"] == ticket and i["bounces"] == 1), None)

        row = None
        for _ in range(100):
            row = await listed()
            if row:
                break
            await asyncio.sleep(0.05)
        assert row is not None and row["status"] == "paging"
        detail = (await http.get(f"/v1/escalations/{ticket}")).json()
        kinds = [e["kind"] for e in detail["timeline"]]
        assert "note_added" in kinds and "reassigned" in kinds
        assert (
            await http.post(f"/v1/escalations/{ticket}/resolve", json={"by": "dan"})
        ).status_code == 200


async def test_circuit_breaker_arbitration_and_agent_confirmation_over_http(
    dev_env: WorkflowEnvironment,
    api_settings: Settings,
    api_url: str,
    policy: Policy,
    repository: Repository,
) -> None:
    ticket = f"ZD-{uuid.uuid4().hex[:6]}"
    body = {
        **_p0(ticket),
        "priority": "P2",
        "route": "technical",
        "original_agent": "agent-ana",
        "original_agent_email": "ana@support.example",
        "helpdesk": "zendesk",
        "helpdesk_ticket_id": "4711",
    }
    async with (
        running_worker(dev_env.client, api_settings, policy, repository),
        httpx.AsyncClient(base_url=api_url, timeout=30, headers=ADMIN_HEADERS) as http,
    ):
        assert (await http.post("/v1/escalations", json=body)).status_code == 201
        for team in ("engineering", "l2"):
            moved = await http.post(
                f"/v1/escalations/{ticket}/reassign", json={"to_team": team, "by": "alice"}
            )
            assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == "arbitration" and moved.json()["bounces"] == 2
        refused = await http.post(
            f"/v1/escalations/{ticket}/reassign", json={"to_team": "engineering", "by": "bob"}
        )
        assert refused.status_code == 409 and "circuit breaker" in refused.json()["detail"]
        bad = await http.post(
            f"/v1/escalations/{ticket}/arbitrate", json={"owner_team": "moon", "by": "frank"}
        )
        assert bad.status_code == 422
        decided = await http.post(
            f"/v1/escalations/{ticket}/arbitrate",
            json={"owner_team": "engineering", "by": "frank", "reason": "bug in sync"},
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["team"] == "engineering"
        assert decided.json()["owner_locked_by"] == "frank"
        resolved = await http.post(
            f"/v1/escalations/{ticket}/resolve",
            json={"by": "dan", "resolution": "patched", "necessary": True, "preventable": "tool"},
        )
        assert resolved.status_code == 200, resolved.text
        confirmed = await http.post(f"/v1/escalations/{ticket}/confirm", json={"by": "agent-ana"})
        assert confirmed.status_code == 202
        row = await eventually(
            lambda: (
                (r := repository.latest_escalation(ticket)) is not None
                and r.status == "resolved"
                and r
            )
        )
        kinds = await eventually(
            lambda: "agent_confirmed" in (k := [e.kind for e in repository.timeline(row.key)]) and k
        )
        assert "circuit_breaker_open" in kinds and "arbitrated" in kinds
