"""GitHubIssuesAdapter against the local GitHub server."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.github import GitHubIssuesAdapter, github_escalation_label
from activities.adapters.tracker import BugTracker
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import GitHubServer


def adapter(
    server: GitHubServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> GitHubIssuesAdapter:
    return GitHubIssuesAdapter(live_settings(github=server), http, outbox)


async def file_bug(github: GitHubIssuesAdapter, key: str = "escalation-T-1") -> DeliveryReceipt:
    return await github.create_bug(
        escalation_key=key,
        summary="[P1] Checkout failing for ACME",
        description="Escalated from Zendesk #4711\n\n- step 1",
        priority="High",
        labels=["bug", "escalation"],
        idempotency_key=f"{key}:s0:bug",
    )


async def test_searches_by_label_then_creates(
    github_server: GitHubServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    github = adapter(github_server, http, outbox)
    assert isinstance(github, BugTracker)
    receipt = await file_bug(github)

    assert receipt.external_id == "#1" and receipt.detail["created"] is True
    assert receipt.detail["url"] == "https://github.com/acme/platform/issues/1"
    search, create = github_server.requests
    assert (search.method, search.path) == ("GET", "/repos/acme/platform/issues")
    assert search.query["labels"] == ["esc-escalation-T-1"] and search.query["state"] == ["all"]
    assert create.header("authorization") == f"Bearer {github_server.token}"
    assert create.json == {
        "title": "[P1] Checkout failing for ACME",
        "body": "Escalated from Zendesk #4711\n\n- step 1",
        "labels": ["bug", "escalation", "priority: High", "esc-escalation-T-1"],
    }
    assert github_server.schema_violations == []


async def test_second_create_returns_the_existing_issue_and_skips_pull_requests(
    github_server: GitHubServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    github_server.add_pull_request(title="fix", labels=["esc-escalation-T-1"])
    github = adapter(github_server, http, outbox)
    github_server.fail_next("/repos/*/issues", method="POST", lose_response=True)
    with pytest.raises(RetryableVendorError):
        await file_bug(github)
    again = await file_bug(github)
    other = await file_bug(github, key="escalation-T-2")

    assert again.external_id == "#2" and again.detail["created"] is False
    assert other.external_id == "#3"
    assert len(github_server.issues_with_label("esc-escalation-T-1")) == 1


def test_marker_label_fits_githubs_50_characters() -> None:
    long_key = "escalation-" + "x" * 80
    label = github_escalation_label(long_key)
    assert len(label) <= 50 and label == github_escalation_label(long_key)
    assert label != github_escalation_label(long_key + "y")


@pytest.mark.parametrize("status", [404, 410, 422])
async def test_4xx_is_permanent(
    status: int, github_server: GitHubServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    github_server.fail_next("/repos/*/issues", method="POST", status=status)
    with pytest.raises(PermanentVendorError) as caught:
        await file_bug(adapter(github_server, http, outbox))
    assert caught.value.status == status


async def test_forbidden_without_rate_limit_is_permanent(
    github_server: GitHubServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    github_server.fail_next("/repos/*/issues", method="GET", status=403)
    with pytest.raises(PermanentVendorError) as caught:
        await file_bug(adapter(github_server, http, outbox))
    assert caught.value.status == 403


async def test_rate_limits_are_retryable(
    github_server: GitHubServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    github = adapter(github_server, http, outbox)
    github_server.rate_limit_next(status=403)  # primary limit: 403 + remaining 0
    with pytest.raises(RetryableVendorError) as primary:
        await file_bug(github)
    assert primary.value.status == 403
    assert primary.value.retry_after is not None and 0 < primary.value.retry_after <= 61
    github_server.fail_next("/repos/*/issues", status=429)  # secondary limit, retry-after 60
    with pytest.raises(RetryableVendorError) as secondary:
        await file_bug(github)
    assert secondary.value.status == 429 and secondary.value.retry_after == 60.0
    assert github_server.issues == []


async def test_5xx_is_retryable(
    github_server: GitHubServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    github_server.fail_next("/repos/*/issues", method="POST", status=503)
    with pytest.raises(RetryableVendorError):
        await file_bug(adapter(github_server, http, outbox))


async def test_outbox_mode_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    github = GitHubIssuesAdapter(offline_settings(), http, outbox)
    assert not github.live
    receipt = await file_bug(github)
    assert not receipt.delivered
    message = outbox.only()
    assert (message.vendor, message.operation) == ("github", "create_bug")
    assert message.idempotency_key == "escalation-T-1:s0:bug"
    assert message.payload["labels"][-1] == "esc-escalation-T-1"
