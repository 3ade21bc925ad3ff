"""Fixtures for tests/integration/ (the session-wide servers and databases: tests/conftest.py).

The intake modules' API + worker set-up lives in intake_fixtures.py; it is exposed here rather
than imported into each test module because a test parameter named like an imported fixture is
a redefinition to the linters (F811). A module that defines its own `api_url`, `http` or
`store` (test_auth.py, test_intake_store.py, ...) overrides these, as pytest does for any
conftest fixture; `api_url` and `http` need the module to define `settings`.
"""

from tests.integration.intake_fixtures import api_url, http, store

__all__ = ["api_url", "http", "store"]
