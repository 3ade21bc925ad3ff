"""JiraAdapter against the local Jira Cloud REST v3 server."""

from __future__ import annotations

import base64

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.jira import JiraAdapter, escalation_label, to_adf
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers import JiraServer


def adapter(server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox) -> JiraAdapter:
    return JiraAdapter(live_settings(jira=server), http, outbox)


async def file_bug(jira: JiraAdapter, key: str = "escalation-T-1") -> DeliveryReceipt:
    return await jira.create_bug(
        escalation_key=key,
        summary="[P1] Checkout failing for ACME\n(enterprise)",
        description="Escalated from Zendesk #4711\n\nSteps:\n1. open checkout\n2. pay",
        priority="Highest",
        labels=["escalation", "tier enterprise"],
        idempotency_key=f"{key}:s0:jira",
    )


async def test_create_bug_searches_then_files_a_valid_issue(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await file_bug(adapter(jira_server, http, outbox))

    assert receipt.delivered and receipt.external_id == "OPS-1"
    assert receipt.detail["created"] is True
    search, create = jira_server.requests
    assert (search.method, search.path) == ("GET", "/rest/api/3/search/jql")
    assert search.query["jql"] == [
        'project = "OPS" AND labels = "esc-escalation-T-1" ORDER BY created ASC'
    ]
    assert (create.method, create.path) == ("POST", "/rest/api/3/issue")
    token = base64.b64encode(b"jira-bot@example.com:jira-test-token").decode()
    assert create.header("authorization") == f"Basic {token}"
    assert create.json == {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Bug"},
            "summary": "[P1] Checkout failing for ACME (enterprise)",
            "description": {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "paragraph",
                        "content": [{"type": "text", "text": "Escalated from Zendesk #4711"}],
                    },
                    {
                        "type": "paragraph",
                        "content": [
                            {"type": "text", "text": "Steps:"},
                            {"type": "hardBreak"},
                            {"type": "text", "text": "1. open checkout"},
                            {"type": "hardBreak"},
                            {"type": "text", "text": "2. pay"},
                        ],
                    },
                ],
            },
            "labels": ["escalation", "tier-enterprise", "esc-escalation-T-1"],
            "priority": {"name": "Highest"},
        }
    }
    issue = jira_server.issue("OPS-1")
    assert issue is not None and "esc-escalation-T-1" in issue.labels
    assert jira_server.schema_violations == []


async def test_second_create_for_the_same_escalation_returns_the_existing_issue(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    jira = adapter(jira_server, http, outbox)
    first = await file_bug(jira)
    second = await file_bug(jira)
    other = await file_bug(jira, key="escalation-T-2")

    assert first.external_id == second.external_id == "OPS-1"
    assert second.detail["created"] is False
    assert other.external_id == "OPS-2"
    assert len(jira_server.issues_with_label("esc-escalation-T-1")) == 1
    assert len(jira_server.requests_to("/rest/api/3/issue", method="POST")) == 2


async def test_retry_after_a_lost_response_does_not_file_twice(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    jira = adapter(jira_server, http, outbox)
    jira_server.fail_next("/rest/api/3/issue", method="POST", lose_response=True)
    with pytest.raises(RetryableVendorError):
        await file_bug(jira)  # Jira created the issue, but the answer never arrived
    retried = await file_bug(jira)  # what Temporal's retry does
    assert retried.external_id == "OPS-1" and retried.detail["created"] is False
    assert len(jira_server.issues) == 1


async def test_long_summary_is_cut_to_255(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    await adapter(jira_server, http, outbox).create_bug(
        escalation_key="E 1/x",
        summary="word " * 200,
        description="",
        priority="",
        labels=[],
        idempotency_key="k",
    )
    fields = jira_server.last_request("/rest/api/3/issue").json["fields"]
    assert len(fields["summary"]) == 255 and "\n" not in fields["summary"]
    assert fields["labels"] == ["esc-E-1-x"]
    assert "priority" not in fields
    assert fields["description"] == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": []}],
    }
    assert jira_server.schema_violations == []


def test_escalation_label_is_jql_safe_and_bounded() -> None:
    assert escalation_label('ESC "1" OR x') == "esc-ESC-1-OR-x"
    long_label = escalation_label("k" * 400)
    assert len(long_label) <= 255 and long_label == escalation_label("k" * 400)
    assert long_label != escalation_label("k" * 401)
    assert to_adf("a\r\nb")["content"][0]["content"][1] == {"type": "hardBreak"}


async def test_add_comment_posts_adf(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    jira = adapter(jira_server, http, outbox)
    await file_bug(jira)
    receipt = await jira.add_comment(
        issue_key="OPS-1", text="Acknowledged by alice", idempotency_key="k"
    )
    issue = jira_server.issue("OPS-1")
    assert issue is not None and len(issue.comments) == 1
    assert receipt.external_id == issue.comments[0]["id"]
    assert jira_server.last_request().json == {
        "body": {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [{"type": "text", "text": "Acknowledged by alice"}],
                }
            ],
        }
    }
    assert jira_server.schema_violations == []


async def test_comment_on_unknown_issue_is_permanent(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    with pytest.raises(PermanentVendorError) as caught:
        await adapter(jira_server, http, outbox).add_comment(
            issue_key="OPS-404", text="x", idempotency_key="k"
        )
    assert caught.value.status == 404


async def test_400_is_permanent(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    jira_server.fail_next(
        "/rest/api/3/issue",
        method="POST",
        status=400,
        body={"errorMessages": [], "errors": {"priority": "Priority name 'Highest' is not valid"}},
    )
    with pytest.raises(PermanentVendorError) as caught:
        await file_bug(adapter(jira_server, http, outbox))
    assert caught.value.status == 400 and "Priority name" in caught.value.message
    assert jira_server.issues == {}


async def test_bad_credentials_are_permanent(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(jira=jira_server, jira_api_token="wrong")
    with pytest.raises(PermanentVendorError) as caught:
        await file_bug(JiraAdapter(settings, http, outbox))
    assert caught.value.status == 401


async def test_429_is_retryable_with_retry_after(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    jira_server.fail_next("/rest/api/3/search/jql", status=429, headers={"Retry-After": "5"})
    with pytest.raises(RetryableVendorError) as caught:
        await file_bug(adapter(jira_server, http, outbox))
    assert caught.value.status == 429 and caught.value.retry_after == 5.0
    assert jira_server.issues == {}


async def test_5xx_is_retryable(
    jira_server: JiraServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    jira_server.fail_next("/rest/api/3/issue", method="POST", status=503)
    with pytest.raises(RetryableVendorError) as caught:
        await file_bug(adapter(jira_server, http, outbox))
    assert caught.value.status == 503


async def test_outbox_mode_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    jira = JiraAdapter(offline_settings(), http, outbox)
    assert not jira.live
    receipt = await file_bug(jira)
    await jira.add_comment(issue_key="OPS-1", text="hi", idempotency_key="c1")

    assert not receipt.delivered and receipt.external_id is None
    created, comment = outbox.messages
    assert (created.vendor, created.operation) == ("jira", "create_bug")
    assert created.idempotency_key == "escalation-T-1:s0:jira"
    assert created.payload["fields"]["labels"][-1] == "esc-escalation-T-1"
    assert created.payload["fields"]["description"]["type"] == "doc"
    assert comment.operation == "add_comment" and comment.payload["body"]["type"] == "doc"
