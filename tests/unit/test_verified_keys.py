"""The API's short-lived cache of key rows (api/auth.py VerifiedKeys) and the revocation grace
that keeps "revoked: the next request is a 401" true with it (store/api_keys.py). Over HTTP
against PostgreSQL: tests/integration/test_api_fast_paths.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.auth import VerifiedKeys
from escalation.apikeys import VERIFIED_KEY_TTL_SECONDS, Role, new_api_key
from store.api_keys import REVOCATION_GRACE_SECONDS, ApiKeyStore, StoredApiKey
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade

PEPPER = b"unit-test-pepper-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _row(key_id: str = "abc123abc123", *, revoked: bool = False) -> StoredApiKey:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return StoredApiKey(
        key_id=key_id,
        name=f"k-{key_id}",
        role=Role.RESPONDER,
        secret_hash="hmac-sha256$00",
        source="cli",
        created_at=at,
        last_used_at=None,
        revoked_at=at if revoked else None,
    )


def test_an_entry_ages_from_before_its_read_and_expires_at_the_ttl() -> None:
    clock = Clock()
    keys = VerifiedKeys(ttl=1.0, clock=clock)
    read_at = clock()
    clock.now += 0.3  # the read took a while: the entry is already 0.3 s old
    keys.put(_row(), read_at=read_at)
    assert keys.get("abc123abc123") == _row()
    clock.now = read_at + 0.999
    assert keys.get("abc123abc123") is not None
    clock.now = read_at + 1.0
    assert keys.get("abc123abc123") is None


def test_revoked_rows_are_never_kept_and_a_revoked_read_drops_an_active_copy() -> None:
    clock = Clock()
    keys = VerifiedKeys(ttl=1.0, clock=clock)
    keys.put(_row(revoked=True), read_at=clock())
    assert keys.get("abc123abc123") is None
    keys.put(_row(), read_at=clock())
    keys.put(_row(revoked=True), read_at=clock())  # a later read saw the revocation
    assert keys.get("abc123abc123") is None


def test_recording_a_use_does_not_make_the_entry_younger() -> None:
    clock = Clock()
    keys = VerifiedKeys(ttl=1.0, clock=clock)
    keys.put(_row(), read_at=clock())
    clock.now += 0.9
    used = datetime(2026, 1, 2, tzinfo=UTC)
    keys.used("abc123abc123", used)
    found = keys.get("abc123abc123")
    assert found is not None and found.last_used_at == used
    clock.now += 0.1
    assert keys.get("abc123abc123") is None


def test_the_cache_is_bounded_and_a_zero_ttl_keeps_nothing() -> None:
    clock = Clock()
    keys = VerifiedKeys(ttl=1.0, clock=clock, max_entries=2)
    for key_id in ("a" * 12, "b" * 12, "c" * 12):
        keys.put(_row(key_id), read_at=clock())
    assert keys.get("a" * 12) is None
    assert keys.get("b" * 12) is not None and keys.get("c" * 12) is not None
    off = VerifiedKeys(ttl=0.0, clock=clock)
    off.put(_row(), read_at=clock())
    assert off.get("abc123abc123") is None


def test_a_revocation_outlives_every_copy_read_before_it_committed() -> None:
    """The argument of the design, with the real constants: a copy read before the revocation
    committed is expired once the revoker returns (it waits REVOCATION_GRACE_SECONDS)."""
    assert REVOCATION_GRACE_SECONDS > VERIFIED_KEY_TTL_SECONDS
    clock = Clock()
    keys = VerifiedKeys(clock=clock)
    assert keys.ttl == VERIFIED_KEY_TTL_SECONDS
    keys.put(_row(), read_at=clock())  # read just before the commit (at the same instant)
    clock.now += REVOCATION_GRACE_SECONDS  # the revoker returns
    assert keys.get("abc123abc123") is None


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    upgrade(url)
    return url


@pytest.fixture
def store(sqlite_url: str) -> Iterator[ApiKeyStore]:
    engine = make_engine(sqlite_url)
    yield ApiKeyStore(make_sessionmaker(engine), revocation_grace=0.3)
    engine.dispose()


def test_revoke_returns_only_after_the_grace(store: ApiKeyStore) -> None:
    _, record = new_api_key("oncall", Role.RESPONDER, PEPPER)
    store.create(record)
    started = time.monotonic()
    revoked = store.revoke("oncall")
    assert revoked is not None and not revoked.active
    assert time.monotonic() - started >= 0.3
    # The row is revoked for readers before the wait (committed first).
    found = store.find(record.key_id)
    assert found is not None and not found.active
    started = time.monotonic()
    assert store.revoke("oncall") is None  # nothing to revoke: no wait
    assert time.monotonic() - started < 0.3


def test_seeding_waits_only_when_it_revoked_or_changed_a_key(store: ApiKeyStore) -> None:
    from escalation.apikeys import records_from_env

    def timed(value: str) -> float:
        started = time.monotonic()
        store.seed(records_from_env(value, PEPPER))
        return time.monotonic() - started

    assert timed("desk:ticket-system:first-secret") < 0.3  # created
    assert timed("desk:ticket-system:first-secret") < 0.3  # unchanged
    assert timed("desk:viewer:first-secret") >= 0.3  # role changed
    assert timed("desk:viewer:second-secret") >= 0.3  # old key revoked, new one inserted
