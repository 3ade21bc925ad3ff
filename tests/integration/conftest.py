"""Fixtures for tests/integration/ (the session-wide servers and databases: tests/conftest.py).

The intake modules' API + worker set-up lives in intake_fixtures.py; it is exposed here rather
than imported into each test module because a test parameter named like an imported fixture is
a redefinition to the linters (F811). A module that defines its own `api_url`, `http` or
`store` (test_auth.py, test_intake_store.py, ...) overrides these, as pytest does for any
conftest fixture; `api_url` and `http` need the module to define `settings`.
"""

from collections.abc import AsyncIterator

import httpx
import pytest

from activities.adapters.registry import build_adapters
from activities.delivery import DeliveryActivities
from activities.outbox import StoreOutbox
from store.repository import Repository
from tests.integration.intake_fixtures import api_url, http, store
from tests.vendors.plugin import live_settings
from tests.vendors.servers import SlackServer

__all__ = ["api_url", "delivery", "http", "store"]


@pytest.fixture
async def delivery(
    slack_server: SlackServer, repository: Repository
) -> AsyncIterator[DeliveryActivities]:
    """The delivery activities with Slack live against the local Slack server (the other
    vendors without credentials write to the outbox)."""
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
        adapters = build_adapters(
            live_settings(slack=slack_server), client, StoreOutbox(repository)
        )
        yield DeliveryActivities(adapters, repository)
