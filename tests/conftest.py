"""Shared fixtures: real PostgreSQL databases, real Temporal servers (time-skipping test server
and dev server, binaries from the temporal-*-bin packages), and a worker factory.

Local vendor servers live in tests/vendors/plugin.py.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from escalation.policy import Policy, load_policy
from escalation.settings import DEFAULT_POLICY_PATH, Settings
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.repository import Repository
from workflows.search_attributes import ALL_KEYS

pytest_plugins = ["tests.vendors.plugin"]

BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _database_url(name: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test module, dropped afterwards."""
    name = f"esc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _database_url(name)
    upgrade(url)
    yield url
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def repository(database_url: str) -> Iterator[Repository]:
    engine = make_engine(database_url)
    yield Repository(make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(DEFAULT_POLICY_PATH)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    # The time-skipping server starts with no custom search attributes: register ours.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_KEYS
            },
        )
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=ALL_KEYS,
        dev_server_extra_args=[
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            "--log-level",
            "error",
        ],
    )
    yield env
    await env.shutdown()


# Every API test talks to an API that requires keys: make_settings seeds this admin key (and
# the pepper it is hashed with) unless the test sets its own; send ADMIN_HEADERS with requests.
TEST_API_KEY_PEPPER = "test-pepper-not-secret-0123456789"
TEST_ADMIN_TOKEN = "test-admin-token-not-secret"
ADMIN_HEADERS = {"authorization": f"Bearer {TEST_ADMIN_TOKEN}"}
_TEST_ACCESS = {
    "escalation_api_key_pepper": TEST_API_KEY_PEPPER,
    "escalation_api_keys": f"test-admin:admin:{TEST_ADMIN_TOKEN}",
}


def make_settings(database_url: str, task_queue: str, **overrides: object) -> Settings:
    """Settings with no vendor credentials (every adapter writes to the outbox, every vendor
    URL on loopback) unless the test passes some; the machine's environment never leaks in.
    API access: the test admin key above, unless the test passes its own pepper/keys."""
    from tests.vendors.plugin import offline_settings

    values: dict[str, object] = {
        "database_url": database_url,
        "temporal_task_queue": task_queue,
        "escalation_policy": DEFAULT_POLICY_PATH,
    }
    values.update(overrides)
    for name, default in _TEST_ACCESS.items():
        if not values.get(name):
            values[name] = default
    return offline_settings(**values)


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, policy: Policy, repository: Repository
) -> AsyncIterator[Worker]:
    """A real worker with the real activities, running until the block ends."""
    from worker.main import escalation_worker

    async with escalation_worker(client, settings, policy, repository) as worker, worker:
        yield worker


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:10]}"


def without_business_hours(policy: Policy) -> Policy:
    """The policy with every team open around the clock, so tests that assert a cadence do not
    depend on the wall clock the time-skipping server starts from."""
    data = policy.model_dump(mode="json")
    for team in data["teams"]:
        team["business_hours"] = None
    for schedule in data["schedules"]:
        schedule["business_hours"] = None
        schedule["after_hours"] = None
    return Policy.model_validate(data)
