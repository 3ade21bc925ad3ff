"""The API key store on SQLite (the dev default), migrated with Alembic like production, and the
access set-up of `escalation dev`. PostgreSQL and HTTP are covered in tests/integration."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from escalation import keys_cli
from escalation.apikeys import (
    API_KEYS_ENV,
    Role,
    key_id_for,
    new_api_key,
    parse_api_keys,
    record_for,
    verify_api_key,
)
from store.api_keys import ApiKeyStore, KeyNameTaken
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade

PEPPER = b"unit-test-pepper-0123456789"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ApiKeyStore]:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield ApiKeyStore(make_sessionmaker(engine))
    engine.dispose()


def test_created_key_is_found_by_the_id_in_its_token_and_verifies(store: ApiKeyStore) -> None:
    token, record = new_api_key("helpdesk", Role.TICKET_SYSTEM, PEPPER)
    stored = store.create(record)
    assert stored.active and stored.source == "cli" and stored.last_used_at is None
    found = store.find(key_id_for(token, PEPPER))
    assert found is not None and found.name == "helpdesk" and found.role is Role.TICKET_SYSTEM
    assert verify_api_key(token, found.record, PEPPER)
    assert token not in found.secret_hash


def test_active_names_are_unique_and_a_revoked_name_can_be_created_again(
    store: ApiKeyStore,
) -> None:
    _, first = new_api_key("oncall", Role.RESPONDER, PEPPER)
    store.create(first)
    _, clash = new_api_key("oncall", Role.VIEWER, PEPPER)
    with pytest.raises(KeyNameTaken):
        store.create(clash)

    revoked = store.revoke("oncall")
    assert revoked is not None and not revoked.active
    assert store.revoke("oncall") is None  # nothing active under that name any more

    store.create(clash)  # rotation by name
    assert [k.role for k in store.list_keys()] == [Role.VIEWER]
    assert len(store.list_keys(include_revoked=True)) == 2
    old = store.find(first.key_id)
    assert old is not None and not old.active  # the revoked row stays, for attribution


def test_touch_records_last_use(store: ApiKeyStore) -> None:
    _, record = new_api_key("viewer", Role.VIEWER, PEPPER)
    store.create(record)
    store.touch(record.key_id)
    found = store.find(record.key_id)
    assert found is not None and found.last_used_at is not None
    # SQLite returns naive datetimes: the store hands out aware ones (the API compares them).
    assert found.last_used_at.tzinfo is not None and found.created_at.tzinfo is not None


def _seeds(value: str) -> list:
    return [
        record_for(s.name, s.role, s.secret.get_secret_value(), PEPPER)
        for s in parse_api_keys(value)
    ]


def test_seeding_is_idempotent_and_follows_role_and_secret_changes(store: ApiKeyStore) -> None:
    first = store.seed(_seeds("helpdesk:ticket-system:s3cret,oncall:responder:t0ken"))
    assert first.created == ["helpdesk", "oncall"]
    again = store.seed(_seeds("helpdesk:ticket-system:s3cret,oncall:responder:t0ken"))
    assert again.unchanged == ["helpdesk", "oncall"] and not again.created
    assert len(store.list_keys(include_revoked=True)) == 2

    role_changed = store.seed(_seeds("oncall:manager:t0ken"))
    assert role_changed.updated == ["oncall"]
    found = store.find(key_id_for("t0ken", PEPPER))
    assert found is not None and found.role is Role.MANAGER

    secret_changed = store.seed(_seeds("oncall:manager:n3w-t0ken"))
    assert secret_changed.replaced == ["oncall"] and secret_changed.created == ["oncall"]
    old = store.find(key_id_for("t0ken", PEPPER))
    assert old is not None and not old.active
    new = store.find(key_id_for("n3w-t0ken", PEPPER))
    assert new is not None and new.active and new.source == "env"


def test_seeding_leaves_a_revoked_key_revoked(store: ApiKeyStore) -> None:
    store.seed(_seeds("helpdesk:ticket-system:s3cret"))
    store.revoke("helpdesk")
    result = store.seed(_seeds("helpdesk:ticket-system:s3cret"))
    assert result.skipped_revoked == ["helpdesk"]
    assert store.list_keys() == []


def test_seeding_never_takes_over_a_key_created_by_hand(store: ApiKeyStore) -> None:
    _, record = new_api_key("helpdesk", Role.TICKET_SYSTEM, PEPPER)
    store.create(record)
    with pytest.raises(KeyNameTaken, match="escalation keys create"):
        store.seed(_seeds("helpdesk:admin:s3cret"))
    assert [k.role for k in store.list_keys()] == [Role.TICKET_SYSTEM]


def test_seeding_after_a_pepper_rotation_rehashes_generated_tokens(store: ApiKeyStore) -> None:
    token, _ = new_api_key("dev-admin", Role.ADMIN, PEPPER)
    store.seed([record_for("dev-admin", Role.ADMIN, token, PEPPER)])
    rotated = b"another-pepper-0123456789abcdef"
    result = store.seed([record_for("dev-admin", Role.ADMIN, token, rotated)])
    assert result.updated == ["dev-admin"]
    found = store.find(key_id_for(token, rotated))
    assert found is not None and verify_api_key(token, found.record, rotated)


# -------------------------------------------------------------------- escalation dev


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset the variables ensure_dev_access writes, and restore them afterwards (setenv first,
    so monkeypatch also undoes what the code under test writes to os.environ)."""
    for name in (keys_cli.PEPPER_ENV, API_KEYS_ENV, keys_cli.TRUST_LOCAL_UI_ENV):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("clean_env")
def test_dev_generates_the_pepper_and_a_dev_admin_key_once(tmp_path: Path) -> None:
    token = keys_cli.ensure_dev_access(tmp_path)
    assert token is not None and token.startswith("esc_")
    pepper = os.environ[keys_cli.PEPPER_ENV]
    assert len(pepper) >= 32
    assert os.environ[API_KEYS_ENV] == f"dev-admin:admin:{token}"
    assert os.environ[keys_cli.TRUST_LOCAL_UI_ENV] == "true"
    assert _mode(tmp_path / "api-key-pepper") == 0o600
    assert _mode(tmp_path / "dev-admin-key") == 0o600

    # A second start reuses both, so the printed key keeps working across restarts.
    del os.environ[keys_cli.PEPPER_ENV], os.environ[API_KEYS_ENV]
    assert keys_cli.ensure_dev_access(tmp_path) == token
    assert os.environ[keys_cli.PEPPER_ENV] == pepper
    assert keys_cli.dev_admin_token(tmp_path) == token


@pytest.mark.usefixtures("clean_env")
def test_dev_keeps_configured_keys_and_creates_no_admin_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_KEYS_ENV, "helpdesk:ticket-system:s3cret")
    monkeypatch.setenv(keys_cli.PEPPER_ENV, "operator-pepper-0123456789")
    assert keys_cli.ensure_dev_access(tmp_path) is None
    assert os.environ[API_KEYS_ENV] == "helpdesk:ticket-system:s3cret"
    assert os.environ[keys_cli.PEPPER_ENV] == "operator-pepper-0123456789"
    assert not (tmp_path / "dev-admin-key").exists()
    assert not (tmp_path / "api-key-pepper").exists()


def test_dev_server_gets_the_codec_endpoint_only_when_given() -> None:
    from escalation.cli import dev_server_command

    plain = dev_server_command(Path(".escalation"), 7233, 8233)
    assert "--ui-codec-endpoint" not in plain
    wired = dev_server_command(Path(".escalation"), 7233, 8233, "http://127.0.0.1:8000/codec")
    at = wired.index("--ui-codec-endpoint")
    assert wired[at + 1] == "http://127.0.0.1:8000/codec"


async def test_api_start_asks_for_migrations_when_the_table_is_missing(tmp_path: Path) -> None:
    from api.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(f"sqlite:///{tmp_path / 'empty.db'}", "q"))
    with pytest.raises(RuntimeError, match="escalation migrate"):
        async with app.router.lifespan_context(app):
            pass
