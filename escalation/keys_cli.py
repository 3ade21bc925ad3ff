"""`escalation keys create|list|revoke`, and the access set-up of `escalation dev`.

Kept apart from cli.py so that module stays a list of commands; imports stay lazy, so
`escalation --help` does not load SQLAlchemy.

Local state (dev default), under ``.escalation/`` and readable by the owner only:
    ``api-key-pepper``   the pepper, generated once when ``ESCALATION_API_KEY_PEPPER`` is unset;
                         `escalation api` and `escalation keys` read it too, so keys made from a
                         second terminal verify against the API that `escalation dev` runs;
    ``dev-admin-key``    the dev admin key's token, when ``ESCALATION_API_KEYS`` is unset; it is
                         seeded as ``dev-admin:admin:<token>`` on every start (idempotent), and
                         `escalation demo` uses it when no ``--token`` is given.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from escalation.apikeys import API_KEYS_ENV, Role

if TYPE_CHECKING:
    from escalation.settings import Settings
    from store.api_keys import ApiKeyStore

PEPPER_ENV = "ESCALATION_API_KEY_PEPPER"
PEPPER_FILE = "api-key-pepper"
DEV_ADMIN_FILE = "dev-admin-key"
DEV_ADMIN_NAME = "dev-admin"
TRUST_LOCAL_UI_ENV = "ESCALATION_CODEC_TRUST_LOCAL_UI"

keys_app = typer.Typer(
    name="keys",
    help="API keys: create (the token is shown once), list, revoke. Uses DATABASE_URL.",
    no_args_is_help=True,
)
err = Console(stderr=True)


def _state_dir() -> Path:
    from escalation.settings import STATE_DIR

    return STATE_DIR


def _read_secret_file(path: Path) -> str | None:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return value or None


def _write_secret_file(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def load_local_pepper(state_dir: Path | None = None) -> None:
    """Use ``.escalation/api-key-pepper`` when ``ESCALATION_API_KEY_PEPPER`` is unset."""
    if os.environ.get(PEPPER_ENV):
        return
    value = _read_secret_file((state_dir or _state_dir()) / PEPPER_FILE)
    if value:
        os.environ[PEPPER_ENV] = value


def dev_admin_token(state_dir: Path | None = None) -> str | None:
    """The dev admin key `escalation dev` created, if any."""
    return _read_secret_file((state_dir or _state_dir()) / DEV_ADMIN_FILE)


def ensure_dev_access(state_dir: Path) -> str | None:
    """Set up access for `escalation dev` (environment of this process only).

    Generates the pepper once if unset; without ``ESCALATION_API_KEYS``, creates (once) and
    seeds a dev admin key and returns its token; lets the dev UI use the codec endpoint.
    """
    from escalation.apikeys import generate_token

    if not os.environ.get(PEPPER_ENV):
        path = state_dir / PEPPER_FILE
        if _read_secret_file(path) is None:
            _write_secret_file(path, secrets.token_urlsafe(32))
        load_local_pepper(state_dir)
    os.environ.setdefault(TRUST_LOCAL_UI_ENV, "true")
    if os.environ.get(API_KEYS_ENV):
        return None
    path = state_dir / DEV_ADMIN_FILE
    token = _read_secret_file(path)
    if token is None:
        token, _ = generate_token()
        _write_secret_file(path, token)
    os.environ[API_KEYS_ENV] = f"{DEV_ADMIN_NAME}:{Role.ADMIN.value}:{token}"
    return token


def check_access(settings: Settings) -> None:
    """Exit 2 with a clear message when the API could not verify keys with these settings."""
    from api.auth import Access
    from escalation.apikeys import ApiKeyConfigError
    from worker.client import payload_codec
    from worker.codec import CodecKeyError

    try:
        Access.configure(settings)
        payload_codec(settings)
    except (ApiKeyConfigError, CodecKeyError) as exc:
        err.print(f"[red]invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from None


@contextmanager
def _store() -> Iterator[tuple[Settings, ApiKeyStore]]:
    from escalation.settings import Settings
    from store.api_keys import ApiKeyStore
    from store.db import make_engine, make_sessionmaker

    load_local_pepper()
    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: show it without a traceback
        err.print(f"[red]invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from None
    engine = make_engine(settings.database_url)
    try:
        yield settings, ApiKeyStore(make_sessionmaker(engine))
    finally:
        engine.dispose()


def _pepper(settings: Settings) -> bytes:
    from api.auth import api_key_pepper
    from escalation.apikeys import ApiKeyConfigError

    try:
        return api_key_pepper(settings)
    except ApiKeyConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _database_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    return (OperationalError, ProgrammingError)


def _database_failed(settings: Settings, exc: Exception) -> typer.Exit:
    err.print(
        f"[red]cannot use the api_keys table in {settings.database_url}[/red]: "
        f"{type(exc).__name__}; run `escalation migrate` first"
    )
    return typer.Exit(2)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="unique name, e.g. helpdesk or oncall-bot")],
    role: Annotated[Role, typer.Option("--role", help="what the key may do")],
) -> None:
    """Create a key and print its token once (stdout); only its hash is stored."""
    from escalation.apikeys import ApiKeyConfigError, new_api_key

    with _store() as (settings, store):
        pepper = _pepper(settings)
        try:
            token, record = new_api_key(name, role, pepper)
            stored = store.create(record, source="cli")
        except ApiKeyConfigError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
        except _database_errors() as exc:
            raise _database_failed(settings, exc) from None
    err.print(
        f"created key [bold]{stored.name}[/bold] (role {stored.role.value}, key id "
        f"{stored.key_id}). The token below is shown only now: send it as "
        "`Authorization: Bearer <token>`."
    )
    print(token)


@keys_app.command("list")
def list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="include revoked keys")] = False,
) -> None:
    """List keys (names, roles, key ids; never tokens)."""
    with _store() as (settings, store):
        try:
            keys = store.list_keys(include_revoked=all_keys)
        except _database_errors() as exc:
            raise _database_failed(settings, exc) from None
    table = Table("name", "role", "key id", "source", "created", "last used", "status")
    for key in keys:
        table.add_row(
            key.name,
            key.role.value,
            key.key_id,
            key.source,
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}",
        )
    Console(width=140).print(table)


@keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="name of the active key")]) -> None:
    """Revoke a key: the next request with it gets 401."""
    with _store() as (settings, store):
        try:
            revoked = store.revoke(name)
        except _database_errors() as exc:
            raise _database_failed(settings, exc) from None
    if revoked is None:
        err.print(f"[red]no active key named {name!r}[/red]")
        raise typer.Exit(1)
    err.print(f"revoked key {revoked.name} (key id {revoked.key_id})")
    if revoked.source == "env":
        err.print(f"remove it from {API_KEYS_ENV} too; seeding leaves revoked keys revoked")
