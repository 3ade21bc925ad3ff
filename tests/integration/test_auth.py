"""Access: API keys and roles over real HTTP (uvicorn), PostgreSQL and the Temporal dev server.

The 401/403 matrix is built from the app's own routes, so a route added later is covered (and a
route that forgets to declare its permission fails `test_every_route_declares_a_permission`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from api.app import create_app
from api.auth import permission_of, public_reason
from escalation.apikeys import Permission, Role, new_api_key, role_allows
from escalation.cli import app as cli
from escalation.policy import Policy
from escalation.settings import Settings
from store.api_keys import ApiKeyStore
from store.repository import Repository
from tests.conftest import TEST_API_KEY_PEPPER, make_settings, running_worker
from tests.integration.api_server import serve_api
from tests.integration.waiting import eventually

pytestmark = pytest.mark.integration

PEPPER = TEST_API_KEY_PEPPER.encode()
TOKENS = {role: f"tok-{role.value}-{uuid.uuid4().hex}" for role in Role}
NAMES = {role: f"k-{role.value}" for role in Role}
SEEDS = ",".join(f"{NAMES[role]}:{role.value}:{TOKENS[role]}" for role in Role)

# Public on purpose: liveness, the OpenAPI document and its pages. Vendor webhooks are
# authenticated by the vendor's signature on the raw body instead of an API key.
PUBLIC_PATHS = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
PUBLIC_PREFIXES = ("/v1/webhooks/",)


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
        escalation_api_keys=SEEDS,
    )


@pytest.fixture
def api_url(settings: Settings) -> Iterator[str]:
    with serve_api(settings) as url:
        yield url


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


def _permission(dependant: Dependant) -> Permission | None:
    for dependency in dependant.dependencies:
        found = permission_of(dependency.call) or _permission(dependency)
        if found is not None:
            return found
    return None


def _declared_public(dependant: Dependant) -> bool:
    return any(
        public_reason(d.call) is not None or _declared_public(d) for d in dependant.dependencies
    )


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _api_routes(settings: Settings) -> Iterator[Any]:
    """Every APIRoute with its full path (FastAPI >= 0.16x keeps included routers nested)."""
    routes = create_app(settings).routes
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    for route in iterate(routes) if iterate else routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def guarded_routes(settings: Settings) -> list[tuple[str, str, Permission | None]]:
    """(method, path, permission) of every non-public API route of the app."""
    found = []
    for route in _api_routes(settings):
        if not _public(route.path) and not _declared_public(route.dependant):
            for method in sorted(set(route.methods) - {"HEAD"}):
                found.append((method, route.path, _permission(route.dependant)))
    return found


def _concrete(path: str) -> str:
    """Fill every path parameter with a plausible id."""
    out, depth, start = [], 0, 0
    for index, char in enumerate(path):
        if char == "{":
            out.append(path[start:index])
            depth += 1
        elif char == "}":
            depth -= 1
            start = index + 1
            out.append("MATRIX-1")
    out.append(path[start:])
    return "".join(out)


_in_flight = asyncio.Semaphore(8)  # a few at a time: the API's database pool is the limit


async def _call(
    http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> httpx.Response:
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    async with _in_flight:
        return await http.request(method, _concrete(path), json=body, headers=headers)


def test_every_route_declares_a_permission(settings: Settings) -> None:
    undeclared = [f"{m} {p}" for m, p, perm in guarded_routes(settings) if perm is None]
    assert not undeclared, (
        "routes without credentials: add dependencies=[Depends(require(Permission.X))] from "
        "api.auth, or Depends(public('why')) when something else authenticates them: "
        f"{undeclared}"
    )


def test_the_existing_routes_need_the_permissions_of_issue_5(settings: Settings) -> None:
    needed = {(m, p): perm for m, p, perm in guarded_routes(settings)}
    respond = Permission.RESPOND
    assert needed[("POST", "/v1/escalations")] is Permission.START_ESCALATION
    assert needed[("GET", "/v1/escalations")] is Permission.READ
    assert needed[("GET", "/v1/escalations/{ticket_id}")] is Permission.READ
    for action in ("acknowledge", "resolve", "reassign", "notes"):
        assert needed[("POST", f"/v1/escalations/{{ticket_id}}/{action}")] is respond
    assert needed[("POST", "/codec/encode")] is Permission.READ
    assert needed[("POST", "/codec/decode")] is Permission.READ


async def test_401_403_matrix_over_every_route(
    settings: Settings, http: httpx.AsyncClient, key_store: ApiKeyStore
) -> None:
    revoked_token, revoked = new_api_key(f"revoked-{uuid.uuid4().hex[:6]}", Role.ADMIN, PEPPER)
    await asyncio.to_thread(key_store.create, revoked)
    await asyncio.to_thread(key_store.revoke, revoked.name)

    unauthenticated = {
        "no header": {},
        "unknown key": bearer("not-a-key"),
        "well-formed unknown key": bearer("esc_0123456789ab_" + "A" * 43),
        "wrong scheme": {"authorization": f"Basic {TOKENS[Role.ADMIN]}"},
        "bearer without a key": {"authorization": "Bearer"},
        "revoked key": bearer(revoked_token),
        "oversized key": bearer("x" * 5000),
    }
    routes = [r for r in guarded_routes(settings) if r[2] is not None]  # (undeclared: above)
    assert len(routes) >= 9

    async def check_anonymous(method: str, path: str, label: str, headers: dict[str, str]) -> str:
        response = await _call(http, method, path, headers)
        if response.status_code != 401:
            return f"{method} {path} [{label}]: {response.status_code}"
        if not response.headers.get("www-authenticate", "").startswith("Bearer"):
            return f"{method} {path} [{label}]: 401 without WWW-Authenticate"
        return ""

    async def check_role(method: str, path: str, permission: Permission, role: Role) -> str:
        response = await _call(http, method, path, bearer(TOKENS[role]))
        if role_allows(role, permission):
            if response.status_code in (401, 403):
                return f"{method} {path} [{role}]: {response.status_code}, but allowed"
        elif response.status_code != 403:
            return f"{method} {path} [{role}]: {response.status_code}, want 403"
        elif role.value not in response.json()["detail"]:
            return f"{method} {path} [{role}]: 403 does not name the role"
        return ""

    checks = [
        check_anonymous(method, path, label, headers)
        for method, path, _ in routes
        for label, headers in unauthenticated.items()
    ] + [
        check_role(method, path, permission, role)
        for method, path, permission in routes
        if permission is not None
        for role in Role
    ]
    failures = [f for f in await asyncio.gather(*checks) if f]
    assert not failures, "\n".join(failures)


async def test_public_endpoints_need_no_key(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/docs")).status_code == 200
    document = (await http.get("/openapi.json")).json()
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    operation = document["paths"]["/v1/escalations"]["post"]
    assert operation["security"] == [{"ApiKey": []}]


async def test_auth_answers_before_validation_and_use_is_recorded(
    http: httpx.AsyncClient, key_store: ApiKeyStore
) -> None:
    # No key: 401 even for a body that would be a 422, so the schema is not probed anonymously.
    anonymous = await http.post("/v1/escalations", json={"priority": "P9"})
    assert anonymous.status_code == 401
    viewer = await http.post(
        "/v1/escalations", json={"priority": "P9"}, headers=bearer(TOKENS[Role.VIEWER])
    )
    assert viewer.status_code == 403
    listed = await http.get("/v1/escalations", headers=bearer(TOKENS[Role.VIEWER]))
    assert listed.status_code == 200
    keys = {k.name: k for k in await asyncio.to_thread(key_store.list_keys)}
    assert keys[NAMES[Role.VIEWER]].last_used_at is not None


async def test_every_mutation_is_attributed_to_its_key_in_the_timeline(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    http: httpx.AsyncClient,
    policy: Policy,
    repository: Repository,
) -> None:
    ticket = f"AUTH-{uuid.uuid4().hex[:6]}"
    teams = [t.id for t in policy.teams]
    async with running_worker(dev_env.client, settings, policy, repository):
        created = await http.post(
            "/v1/escalations",
            json={"ticket_id": ticket, "priority": "P2", "route": "billing", "subject": "Refund"},
            headers=bearer(TOKENS[Role.TICKET_SYSTEM]),
        )
        assert created.status_code == 201, created.text
        team = created.json()["state"]["team"] if created.json()["state"] else None
        responder, manager = bearer(TOKENS[Role.RESPONDER]), bearer(TOKENS[Role.MANAGER])
        acked = await http.post(
            f"/v1/escalations/{ticket}/acknowledge", json={"by": "dan"}, headers=responder
        )
        assert acked.status_code == 200, acked.text
        assert acked.json()["acknowledged_by"] == "dan"  # the person stays the actor
        noted = await http.post(
            f"/v1/escalations/{ticket}/notes",
            json={"by": "dan", "text": "on it"},
            headers=responder,
        )
        assert noted.status_code == 202
        other = next(t for t in teams if t != (team or acked.json()["team"]))
        moved = await http.post(
            f"/v1/escalations/{ticket}/reassign",
            json={"by": "ivy", "to_team": other, "reason": "billing owns it"},
            headers=manager,
        )
        assert moved.status_code == 200, moved.text
        resolved = await http.post(
            f"/v1/escalations/{ticket}/resolve",
            json={"by": "ivy", "resolution": "refunded"},
            headers=bearer(TOKENS[Role.ADMIN]),
        )
        assert resolved.status_code == 200, resolved.text

        wanted = {
            "escalation_started": NAMES[Role.TICKET_SYSTEM],
            "acknowledged": NAMES[Role.RESPONDER],
            "note_added": NAMES[Role.RESPONDER],
            "reassigned": NAMES[Role.MANAGER],
            "resolved": NAMES[Role.ADMIN],
        }

        async def timeline() -> dict[str, dict[str, str]]:
            detail = await http.get(
                f"/v1/escalations/{ticket}", headers=bearer(TOKENS[Role.VIEWER])
            )
            assert detail.status_code == 200, detail.text
            return {item["kind"]: item for item in detail.json()["timeline"]}

        deadline = asyncio.get_running_loop().time() + 30
        while not set(wanted) <= set(items := await timeline()):
            assert asyncio.get_running_loop().time() < deadline, sorted(items)
            await asyncio.sleep(0.1)
    for kind, key_name in wanted.items():
        assert items[kind]["detail"].get("api_key") == key_name, (kind, items[kind])
    assert items["acknowledged"]["actor"] == "dan"
    assert items["resolved"]["actor"] == "ivy"
    assert items["step_started"]["detail"].get("api_key") is None  # the system acts alone


async def test_seeding_at_start_is_idempotent(settings: Settings, key_store: ApiKeyStore) -> None:
    before = {k.key_id for k in await asyncio.to_thread(key_store.list_keys, include_revoked=True)}
    for _ in range(2):
        with serve_api(settings) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                response = await client.get("/v1/escalations", headers=bearer(TOKENS[Role.ADMIN]))
                assert response.status_code == 200
    after = await asyncio.to_thread(key_store.list_keys, include_revoked=True)
    assert {k.key_id for k in after} == before
    assert {NAMES[r] for r in Role} <= {k.name for k in after if k.active}


def test_api_refuses_to_start_without_a_pepper(database_url: str, task_queue: str) -> None:
    from escalation.apikeys import ApiKeyConfigError

    unpeppered = make_settings(database_url, task_queue).model_copy(
        update={"escalation_api_key_pepper": None}
    )
    with pytest.raises(ApiKeyConfigError, match="ESCALATION_API_KEY_PEPPER"):
        create_app(unpeppered)
    bad_seed = make_settings(database_url, task_queue, escalation_api_keys="helpdesk:boss:x")
    with pytest.raises(ApiKeyConfigError, match="unknown role 'boss'"):
        create_app(bad_seed)


# -------------------------------------------------------------------- escalation keys


@pytest.fixture
def cli_env(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> dict[str, str | None]:
    monkeypatch.chdir(tmp_path)  # no .escalation/ state from a developer's `escalation dev`
    return {
        "DATABASE_URL": database_url,
        "ESCALATION_API_KEY_PEPPER": TEST_API_KEY_PEPPER,
        "ESCALATION_API_KEYS": None,
    }


async def test_keys_cli_create_list_revoke_against_the_running_api(
    http: httpx.AsyncClient, cli_env: dict[str, str | None]
) -> None:
    runner = CliRunner()
    name = f"bot-{uuid.uuid4().hex[:6]}"

    created = runner.invoke(cli, ["keys", "create", name, "--role", "viewer"], env=cli_env)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("esc_") and "shown only now" in created.stderr
    assert (await http.get("/v1/escalations", headers=bearer(token))).status_code == 200
    forbidden = await http.post(
        "/v1/escalations/X-1/acknowledge", json={"by": "x"}, headers=bearer(token)
    )
    assert forbidden.status_code == 403

    again = runner.invoke(cli, ["keys", "create", name, "--role", "admin"], env=cli_env)
    assert again.exit_code == 1 and "already named" in again.output

    listed = runner.invoke(cli, ["keys", "list"], env=cli_env)
    assert listed.exit_code == 0 and name in listed.stdout and token not in listed.stdout

    revoked = runner.invoke(cli, ["keys", "revoke", name], env=cli_env)
    assert revoked.exit_code == 0, revoked.output
    rejected = await http.get("/v1/escalations", headers=bearer(token))
    assert rejected.status_code == 401 and rejected.json()["detail"] == "API key revoked"

    assert name not in runner.invoke(cli, ["keys", "list"], env=cli_env).stdout
    assert name in runner.invoke(cli, ["keys", "list", "--all"], env=cli_env).stdout
    missing = runner.invoke(cli, ["keys", "revoke", name], env=cli_env)
    assert missing.exit_code == 1 and "no active key" in missing.output


def test_keys_cli_reports_configuration_errors(cli_env: dict[str, str | None]) -> None:
    runner = CliRunner()
    bad_role = runner.invoke(cli, ["keys", "create", "x", "--role", "boss"], env=cli_env)
    assert bad_role.exit_code == 2
    bad_name = runner.invoke(cli, ["keys", "create", "no spaces", "--role", "viewer"], env=cli_env)
    assert bad_name.exit_code == 1 and "invalid key name" in bad_name.output
    no_pepper = {**cli_env, "ESCALATION_API_KEY_PEPPER": None}
    unpeppered = runner.invoke(cli, ["keys", "create", "x", "--role", "viewer"], env=no_pepper)
    assert unpeppered.exit_code == 2 and "ESCALATION_API_KEY_PEPPER" in unpeppered.output


def test_keys_cli_asks_for_migrations_on_an_empty_database(
    cli_env: dict[str, str | None], tmp_path: Any
) -> None:
    empty = {**cli_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = CliRunner().invoke(cli, ["keys", "list"], env=empty)
    assert result.exit_code == 2 and "escalation migrate" in result.output


async def test_revocation_takes_effect_on_the_next_request(
    http: httpx.AsyncClient, key_store: ApiKeyStore
) -> None:
    token, record = new_api_key(f"short-{uuid.uuid4().hex[:6]}", Role.RESPONDER, PEPPER)
    await asyncio.to_thread(key_store.create, record)
    assert (await http.get("/v1/escalations", headers=bearer(token))).status_code == 200
    await asyncio.to_thread(key_store.revoke, record.name)
    await eventually(lambda: True)
    assert (await http.get("/v1/escalations", headers=bearer(token))).status_code == 401


async def test_seeding_on_postgresql_reports_and_survives_concurrent_replicas(
    key_store: ApiKeyStore,
) -> None:
    from escalation.apikeys import records_from_env

    tag = uuid.uuid4().hex[:6]
    seeds = records_from_env(f"a-{tag}:viewer:s-{tag}-1,b-{tag}:responder:s-{tag}-2", PEPPER)
    first = await asyncio.to_thread(key_store.seed, seeds)
    assert first.created == [f"a-{tag}", f"b-{tag}"]
    assert (await asyncio.to_thread(key_store.seed, seeds)).unchanged == first.created

    # Several API replicas starting at once with a new entry: one row, no error.
    fresh = records_from_env(f"c-{tag}:admin:s-{tag}-3", PEPPER)
    results = await asyncio.gather(*(asyncio.to_thread(key_store.seed, fresh) for _ in range(6)))
    assert sum(len(r.created) for r in results) == 1
    rows = [k for k in await asyncio.to_thread(key_store.list_keys) if k.name == f"c-{tag}"]
    assert len(rows) == 1
