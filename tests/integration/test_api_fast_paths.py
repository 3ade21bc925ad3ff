"""The acknowledge round trip's fast paths, over real HTTP (uvicorn), PostgreSQL and the Temporal
dev server: key rows reused for a second (api/auth.py VerifiedKeys) with revocation still
refusing the very next request, on every replica; GET /v1/escalations/{ticket} reading the
timeline while the workflow answers its query when the escalation key is already known."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from escalation.apikeys import Role, new_api_key
from escalation.policy import Policy
from escalation.settings import Settings
from store.api_keys import ApiKeyStore
from store.repository import Repository
from tests.conftest import ADMIN_HEADERS, TEST_API_KEY_PEPPER, make_settings, running_worker
from tests.integration.api_server import serve_app

pytestmark = pytest.mark.integration

PEPPER = TEST_API_KEY_PEPPER.encode()


@contextmanager
def serve(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """Like tests/integration/api_server.serve_api, but hands back the app as well (its
    state holds the caches under test)."""
    app = create_app(settings)
    with serve_app(app) as url:
        yield url, app


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def key_store(repository: Repository) -> ApiKeyStore:
    return ApiKeyStore(repository.sessions)


@pytest.fixture
def settings(dev_env: WorkflowEnvironment, database_url: str, task_queue: str) -> Settings:
    return make_settings(
        database_url,
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
    )


@pytest.fixture
def replicas(settings: Settings) -> Iterator[list[tuple[str, FastAPI]]]:
    """Two API processes' worth of state (two apps, two caches) on one database."""
    with serve(settings) as first, serve(settings) as second:
        yield [first, second]


@pytest.fixture
async def clients(
    replicas: list[tuple[str, FastAPI]],
) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=replicas[0][0], timeout=30) as first,
        httpx.AsyncClient(base_url=replicas[1][0], timeout=30) as second,
    ):
        yield [first, second]


async def test_a_revoked_key_is_refused_on_the_next_request_by_every_replica(
    clients: list[httpx.AsyncClient], key_store: ApiKeyStore
) -> None:
    token, record = new_api_key(f"warm-{uuid.uuid4().hex[:6]}", Role.RESPONDER, PEPPER)
    await asyncio.to_thread(key_store.create, record)
    for http in clients:  # both replicas now hold the key's row
        for _ in range(3):
            assert (await http.get("/v1/escalations", headers=bearer(token))).status_code == 200
    await asyncio.to_thread(key_store.revoke, record.name)
    for http in clients:
        refused = await http.get("/v1/escalations", headers=bearer(token))
        assert refused.status_code == 401, refused.text
        assert refused.json()["detail"] == "API key revoked"
        assert refused.headers["www-authenticate"].startswith("Bearer")


async def test_a_revocation_racing_a_request_is_in_force_when_revoke_returns(
    clients: list[httpx.AsyncClient], key_store: ApiKeyStore
) -> None:
    """Requests keep coming while the key is revoked: whatever they saw before, the first
    request sent after revoke() returned is a 401."""
    token, record = new_api_key(f"race-{uuid.uuid4().hex[:6]}", Role.VIEWER, PEPPER)
    await asyncio.to_thread(key_store.create, record)
    revoked = asyncio.Event()

    async def hammer(http: httpx.AsyncClient) -> list[tuple[bool, int]]:
        # Bounded by time, not by a request count: revoke() takes >= 1.5 s (sleep + grace),
        # and a fast server answers more than a fixed count of requests in that time.
        seen: list[tuple[bool, int]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline:
            after_revoke = revoked.is_set()
            answer = await http.get("/v1/escalations?limit=1", headers=bearer(token))
            seen.append((after_revoke, answer.status_code))
            if after_revoke:
                break
        return seen

    async def revoke() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(key_store.revoke, record.name)
        revoked.set()

    revoking = asyncio.create_task(revoke())
    answers = await asyncio.gather(*(hammer(http) for http in clients))
    await revoking
    for seen in answers:
        assert seen[0] == (False, 200)
        assert all(status == 401 for after, status in seen if after), seen[-5:]
        assert any(after for after, _ in seen)


async def test_a_wrong_secret_for_a_known_key_id_is_refused(
    clients: list[httpx.AsyncClient], key_store: ApiKeyStore
) -> None:
    token, record = new_api_key(f"id-{uuid.uuid4().hex[:6]}", Role.VIEWER, PEPPER)
    await asyncio.to_thread(key_store.create, record)
    http = clients[0]
    assert (await http.get("/v1/escalations", headers=bearer(token))).status_code == 200
    forged = token[: -len("x" * 43)] + ("A" * 43)  # same key id, another secret
    assert forged != token and forged.split("_")[1] == record.key_id
    refused = await http.get("/v1/escalations", headers=bearer(forged))
    assert refused.status_code == 401 and refused.json()["detail"] == "invalid API key"
    assert (await http.get("/v1/escalations", headers=bearer(token))).status_code == 200


async def test_a_new_key_works_at_once_and_a_role_is_still_enforced(
    clients: list[httpx.AsyncClient], key_store: ApiKeyStore
) -> None:
    token, record = new_api_key(f"new-{uuid.uuid4().hex[:6]}", Role.VIEWER, PEPPER)
    http = clients[0]
    unknown = await http.get("/v1/escalations", headers=bearer(token))
    assert unknown.status_code == 401  # not known yet: never remembered as such
    await asyncio.to_thread(key_store.create, record)
    assert (await http.get("/v1/escalations", headers=bearer(token))).status_code == 200
    forbidden = await http.post(
        "/v1/escalations/NOPE-1/acknowledge", json={"by": "x"}, headers=bearer(token)
    )
    assert forbidden.status_code == 403


def _kinds(detail: dict[str, Any]) -> list[str]:
    return [item["kind"] for item in detail["timeline"]]


async def test_get_shows_state_and_timeline_whether_or_not_the_key_is_known(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    replicas: list[tuple[str, FastAPI]],
    clients: list[httpx.AsyncClient],
    policy: Policy,
    repository: Repository,
) -> None:
    ticket = f"FAST-{uuid.uuid4().hex[:6]}"
    (_, app), (_, cold_app) = replicas
    http, cold = clients
    keys = app.state.gateway.escalation_keys
    async with running_worker(dev_env.client, settings, policy, repository):
        created = await http.post(
            "/v1/escalations?wait=true",
            json={"ticket_id": ticket, "priority": "P2", "route": "billing", "subject": "Refund"},
            headers=ADMIN_HEADERS,
        )
        assert created.status_code == 201, created.text
        assert created.json()["state"] is not None, "no worker answered within 5 s"
        key = created.json()["state"]["escalation_key"]
        assert keys.get(ticket) == key  # learnt from the answer
        acked = await http.post(
            f"/v1/escalations/{ticket}/acknowledge", json={"by": "dan"}, headers=ADMIN_HEADERS
        )
        assert acked.status_code == 200, acked.text

        async def acknowledged_in_timeline() -> dict[str, Any]:
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                got = await http.get(f"/v1/escalations/{ticket}", headers=ADMIN_HEADERS)
                assert got.status_code == 200, got.text
                detail: dict[str, Any] = got.json()
                if "acknowledged" in _kinds(detail):
                    return detail
                assert asyncio.get_running_loop().time() < deadline, _kinds(detail)
                await asyncio.sleep(0.1)

        warm = await acknowledged_in_timeline()
        assert warm["state"]["status"] == "acknowledged"
        assert warm["state"]["escalation_key"] == key
        assert _kinds(warm)[0] == "escalation_started"
        # A replica that never saw the ticket reads the same thing (the sequential path).
        assert cold_app.state.gateway.escalation_keys.get(ticket) is None
        fresh = await cold.get(f"/v1/escalations/{ticket}", headers=ADMIN_HEADERS)
        assert fresh.status_code == 200
        assert fresh.json()["timeline"][: len(warm["timeline"])] == warm["timeline"]
        assert cold_app.state.gateway.escalation_keys.get(ticket) == key

        # A stale key (the ticket's previous escalation, say): the timeline read for it is
        # thrown away and the current escalation's timeline is read.
        keys.remember(ticket, f"escalation-{ticket}.0ld0ld00")
        corrected = await http.get(f"/v1/escalations/{ticket}", headers=ADMIN_HEADERS)
        assert corrected.status_code == 200
        assert corrected.json()["timeline"][: len(warm["timeline"])] == warm["timeline"]
        assert keys.get(ticket) == key

        # No escalation for the ticket: 404 as before, and the hint is dropped.
        missing = f"NONE-{uuid.uuid4().hex[:6]}"
        keys.remember(missing, f"escalation-{missing}.00000000")
        absent = await http.get(f"/v1/escalations/{missing}", headers=ADMIN_HEADERS)
        assert absent.status_code == 404, absent.text
        assert keys.get(missing) is None
