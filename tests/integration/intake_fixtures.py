"""Set-up shared by the intake tests over HTTP (test_ticket_intake.py, test_intake_crm.py,
test_zendesk_trigger_webhook.py): the real API (uvicorn) and a real worker on the Temporal dev
server, for the `settings` fixture each of those modules defines (its task queue, keys, secrets
and vendor URLs), and Zendesk's webhook signature.

tests/integration/conftest.py exposes the fixtures `api_url`, `http` and `store`; test modules
import `zendesk_signed_headers` from here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from escalation.policy import Policy
from escalation.settings import Settings
from store.intake import IntakeRepository
from store.repository import Repository
from tests.conftest import running_worker
from tests.integration.api_server import serve_api

__all__ = ["api_url", "http", "store", "zendesk_signed_headers"]


@pytest.fixture(scope="module")
def api_url(settings: Settings) -> Iterator[str]:
    with serve_api(settings) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    api_url: str,
    policy: Policy,
    repository: Repository,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the module's API, with a worker running for as long as the module's tests."""
    async with (
        running_worker(dev_env.client, settings, policy, repository),
        httpx.AsyncClient(base_url=api_url, timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def store(repository: Repository) -> IntakeRepository:
    return IntakeRepository(repository.sessions)


def zendesk_signed_headers(
    body: bytes, *, secret: str, webhook_id: str, age: float = 0
) -> dict[str, str]:
    """The headers Zendesk sends with a webhook (either kind): base64 HMAC-SHA256 of the
    timestamp + body, the timestamp `age` seconds old, a fresh invocation id per delivery."""
    stamp = (datetime.now(UTC) - timedelta(seconds=age)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "content-type": "application/json",
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Id": webhook_id,
        "X-Zendesk-Webhook-Invocation-Id": str(uuid.uuid4().int % 10**12),
    }


def crm_ticket_event(customer: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A plain how-to ticket event for `customer` (the CRM enrichment tests fill the rest)."""
    body: dict[str, Any] = {
        "ticket_id": f"T-{uuid.uuid4().hex[:10]}",
        "event_type": "created",
        "subject": "Exporting invoices",
        "description": "How do I export my invoices to CSV?",
        "created_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "product_area": "reports",
        "customer": customer,
    }
    body.update(changes)
    return body


async def post_ticket_event(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> Any:
    """POST /v1/tickets/events, expecting 200; the answer's JSON."""
    answer = await http.post("/v1/tickets/events", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()
