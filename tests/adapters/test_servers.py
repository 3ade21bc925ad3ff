"""The local vendor servers themselves: fault scripting, recording, and that their schema
checks really catch bad requests (otherwise an empty `schema_violations` proves nothing)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.vendors import schemas
from tests.vendors.servers import (
    JiraServer,
    OpsgenieServer,
    PagerDutyServer,
    SlackServer,
    StatuspageServer,
    TwilioServer,
)

TRIGGER: dict[str, Any] = {
    "routing_key": PagerDutyServer.default_routing_key,
    "event_action": "trigger",
    "dedup_key": "k",
    "payload": {"summary": "s", "source": "src", "severity": "critical"},
}


def test_shared_dir_defaults_beside_the_checkout_and_can_be_overridden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ESCALATION_SHARED_DIR", raising=False)
    default = schemas.shared_dir()
    assert default == Path(schemas.__file__).resolve().parents[3] / "shared"
    assert (schemas.specs_dir() / "README.md").is_file()
    monkeypatch.setenv("ESCALATION_SHARED_DIR", str(tmp_path))
    assert schemas.shared_dir() == tmp_path.resolve()
    with pytest.raises(FileNotFoundError, match="ESCALATION_SHARED_DIR"):
        schemas.specs_dir()


def test_subset_source_is_stripped() -> None:
    assert "x-subset-source" not in schemas.load_spec(schemas.JIRA_SUBSET)


async def test_faults_are_consumed_in_order_and_filtered_by_method(
    pagerduty_server: PagerDutyServer,
) -> None:
    pagerduty_server.fail_next("/v2/enqueue", status=500, times=2)
    pagerduty_server.fail_next("/v2/*", status=429, headers={"Retry-After": "1"})
    pagerduty_server.fail_next("/v2/enqueue", status=400, method="GET")  # never matches
    url = f"{pagerduty_server.base_url}/v2/enqueue"
    async with httpx.AsyncClient(trust_env=False) as http:
        statuses = [(await http.post(url, json=TRIGGER)).status_code for _ in range(4)]
        last = await http.post(url, json=TRIGGER)
    assert statuses == [500, 500, 429, 202]
    assert last.json() == {"status": "success", "message": "Event processed", "dedup_key": "k"}
    assert len(pagerduty_server.requests_to("/v2/enqueue", method="POST")) == 5
    assert len(pagerduty_server.alerts) == 1  # faulted requests change no state


async def test_fault_without_body_sends_the_vendor_error_body(slack_server: SlackServer) -> None:
    slack_server.fail_next("/api/chat.postMessage", status=429)  # prefix is optional
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(f"{slack_server.base_url}/chat.postMessage", json={})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {"ok": False, "error": "ratelimited"}


async def test_slow_fault_answers_late_but_normally(pagerduty_server: PagerDutyServer) -> None:
    pagerduty_server.fail_next("/v2/enqueue", status=None, delay=0.3)
    async with httpx.AsyncClient(trust_env=False) as http:
        started = time.monotonic()
        response = await http.post(f"{pagerduty_server.base_url}/v2/enqueue", json=TRIGGER)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 202


async def test_strict_mode_refuses_invalid_requests() -> None:
    with PagerDutyServer(strict=True) as server:
        async with httpx.AsyncClient(trust_env=False) as http:
            bad = {**TRIGGER, "payload": {**TRIGGER["payload"], "component": 7}}
            response = await http.post(f"{server.base_url}/v2/enqueue", json=bad)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert server.schema_violations == [
        "POST /v2/enqueue: $.payload.component: 7 is not of type 'string'"
    ]


async def test_pagerduty_refuses_what_pagerduty_refuses(pagerduty_server: PagerDutyServer) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        bad = {**TRIGGER, "payload": {**TRIGGER["payload"], "severity": "high"}}
        response = await http.post(f"{pagerduty_server.base_url}/v2/enqueue", json=bad)
        ack = {"routing_key": "r", "event_action": "acknowledge"}
        no_key = await http.post(f"{pagerduty_server.base_url}/v2/enqueue", json=ack)
    assert response.status_code == 400 and "severity" in response.json()["errors"][0]
    assert no_key.status_code == 400
    assert any("severity" in v for v in pagerduty_server.schema_violations)
    assert any("dedup_key" in v for v in pagerduty_server.schema_violations)


async def test_slack_checks_charset_auth_and_block_limits(slack_server: SlackServer) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{slack_server.base_url}/chat.postMessage",
            json={
                "channel": "#incidents",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {"type": "button", "text": {"type": "plain_text", "text": "x" * 80}}
                        ],
                    }
                ],
            },
            headers={"Authorization": f"Bearer {slack_server.token}"},
        )
    assert response.json()["ok"] is True
    assert response.json()["warning"] == "missing_charset"
    violations = "\n".join(slack_server.schema_violations)
    assert "missing_charset" in violations and "is too long" in violations


async def test_jira_checks_adf_and_labels(jira_server: JiraServer) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{jira_server.base_url}/rest/api/3/issue",
            json={
                "fields": {
                    "project": {"key": "OPS"},
                    "issuetype": {"name": "Bug"},
                    "summary": "s",
                    "description": "plain text",
                    "labels": ["has space"],
                }
            },
            auth=(jira_server.email, jira_server.api_token),
        )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"description", "labels"}
    violations = "\n".join(jira_server.schema_violations)
    assert "$.fields.description" in violations and "$.fields.labels[0]" in violations


async def test_opsgenie_checks_documented_limits(opsgenie_server: OpsgenieServer) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{opsgenie_server.base_url}/v2/alerts",
            json={"message": "m" * 131, "priority": "P9"},
            headers={"Authorization": f"GenieKey {opsgenie_server.api_key}"},
        )
    assert response.status_code == 202  # Opsgenie accepts first, judges later
    violations = "\n".join(opsgenie_server.schema_violations)
    assert "longer than 130" in violations and "'P9' is not one of" in violations


async def test_twilio_checks_e164_and_one_of_groups(twilio_server: TwilioServer) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{twilio_server.base_url}/2010-04-01/Accounts/{twilio_server.account_sid}/Messages.json",
            data={"To": "555-0100"},
            auth=(twilio_server.account_sid, twilio_server.auth_token),
        )
    assert response.status_code == 400 and response.json()["code"] == 21211
    violations = "\n".join(twilio_server.schema_violations)
    assert "not E.164" in violations
    assert "one of From, MessagingServiceSid" in violations
    assert "one of Body, MediaUrl, ContentSid" in violations


async def test_statuspage_checks_the_hand_written_schema(
    statuspage_server: StatuspageServer,
) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(
            f"{statuspage_server.base_url}/pages/{statuspage_server.page_id}/incidents",
            json={"incident": {"name": "n", "impact_override": "apocalyptic"}},
            headers={"Authorization": f"OAuth {statuspage_server.api_key}"},
        )
    assert response.status_code == 201
    assert statuspage_server.schema_violations == [
        f"POST /v1/pages/{statuspage_server.page_id}/incidents: $.incident.impact_override: "
        "'apocalyptic' is not one of ['none', 'maintenance', 'minor', 'major', 'critical']"
    ]


async def test_servers_stop_and_release_their_port() -> None:
    server = SlackServer().start()
    url = server.base_url
    server.stop()
    async with httpx.AsyncClient(trust_env=False) as http:
        with pytest.raises(httpx.ConnectError):
            await http.post(f"{url}/chat.postMessage", json={})
