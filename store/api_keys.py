"""API keys in the store: create, find, list, revoke, and seed from ``ESCALATION_API_KEYS``.

Only hashes are stored (:class:`escalation.apikeys.ApiKeyRecord`); the bearer token is shown once
by ``escalation keys create`` and never persisted. Rows are never deleted: a revoked key keeps its
row (``revoked_at``) so attributions in the timeline still name a key that can be listed.

Seeding is idempotent and safe to run from several API replicas at once:
    * an entry whose key id already has an active row updates that row's name, role and hash
      (same token; the hash changes only when the pepper was rotated);
    * an entry whose key id belongs to a *revoked* row is skipped: a revocation outlives the
      environment variable (remove the entry, or create a new secret);
    * an entry whose name is held by another *seeded* key (the secret changed) replaces it: the
      old row is revoked and the new one inserted;
    * an entry whose name is held by a key made with ``escalation keys create`` is an error:
      seeding never takes over a key an operator created by hand.
Removing an entry from the variable does not revoke its key; ``escalation keys revoke`` does.

API processes reuse a key row they read for at most
:data:`~escalation.apikeys.VERIFIED_KEY_TTL_SECONDS` (``api/auth.py``). So that a revocation still
takes effect on the very next request, :meth:`ApiKeyStore.revoke` (and a seeding that revoked or
changed a key) waits that long after its transaction committed before it returns: by then every
API process has dropped any copy read before the commit, and reads the revoked row. A row
changed behind the store's back (SQL by hand) is in force within that second, not at once.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from escalation.apikeys import (
    API_KEYS_ENV,
    VERIFIED_KEY_TTL_SECONDS,
    ApiKeyConfigError,
    ApiKeyRecord,
    Role,
)
from store.models_auth import ApiKey

Source = Literal["cli", "env"]
REVOCATION_GRACE_SECONDS = VERIFIED_KEY_TTL_SECONDS + 0.2
"""The cache lifetime, plus a margin for clocks that run at slightly different rates on other
machines and for a sleep that wakes a little early."""

__all__ = ["ApiKeyStore", "KeyNameTaken", "SeedResult", "StoredApiKey"]


class KeyNameTaken(ApiKeyConfigError):
    """An active key already has this name."""


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class StoredApiKey:
    """One row, detached from the session (never holds the token)."""

    key_id: str
    name: str
    role: Role
    secret_hash: str
    source: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def record(self) -> ApiKeyRecord:
        return ApiKeyRecord(
            key_id=self.key_id, name=self.name, role=self.role, secret_hash=self.secret_hash
        )

    @classmethod
    def of(cls, row: ApiKey) -> StoredApiKey:
        return cls(
            key_id=row.key_id,
            name=row.name,
            role=Role(row.role),
            secret_hash=row.secret_hash,
            source=row.source,
            created_at=_aware(row.created_at),
            last_used_at=_aware(row.last_used_at) if row.last_used_at else None,
            revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
        )


@dataclasses.dataclass
class SeedResult:
    """What seeding did, by key name (for the start-up log)."""

    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    replaced: list[str] = dataclasses.field(default_factory=list)
    skipped_revoked: list[str] = dataclasses.field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def _insert_ignoring_conflicts(session: Session, values: dict[str, Any]) -> bool:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, because rowcount is not reliable for INSERT .. ON CONFLICT with psycopg 3.
    statement = insert(ApiKey).values(**values).on_conflict_do_nothing()
    return session.execute(statement.returning(ApiKey.id)).first() is not None


class ApiKeyStore:
    """All SQL about API keys, behind one object that receives the session factory."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        revocation_grace: float = REVOCATION_GRACE_SECONDS,
    ) -> None:
        """``revocation_grace``: seconds a revocation waits after committing, longer than API
        processes reuse a key row they read (see the module docstring)."""
        self._sessions = sessions
        self._revocation_grace = revocation_grace

    def _outlive_cached_copies(self) -> None:
        """Return only once no API process can still hold a copy read before our commit."""
        if self._revocation_grace > 0:
            time.sleep(self._revocation_grace)

    def create(
        self, record: ApiKeyRecord, *, source: Source = "cli", now: datetime | None = None
    ) -> StoredApiKey:
        """Store a new key. Raises :class:`KeyNameTaken` if an active key has the name."""
        with self._sessions.begin() as session:
            if self._active_by_name(session, record.name) is not None:
                raise KeyNameTaken(f"an active key is already named {record.name!r}")
            row = ApiKey(
                key_id=record.key_id,
                name=record.name,
                role=record.role.value,
                secret_hash=record.secret_hash,
                source=source,
                created_at=now or _now(),
                last_used_at=None,
                revoked_at=None,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # a concurrent create won the race for the name
                raise KeyNameTaken(f"an active key is already named {record.name!r}") from None
            return StoredApiKey.of(row)

    def find(self, key_id: str) -> StoredApiKey | None:
        """The key with this id, active or revoked."""
        with self._sessions() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
            return StoredApiKey.of(row) if row is not None else None

    def list_keys(self, *, include_revoked: bool = False) -> list[StoredApiKey]:
        """Keys by name (then newest first)."""
        with self._sessions() as session:
            query = select(ApiKey).order_by(ApiKey.name, ApiKey.created_at.desc())
            if not include_revoked:
                query = query.where(ApiKey.revoked_at.is_(None))
            return [StoredApiKey.of(row) for row in session.scalars(query)]

    def revoke(self, name: str, *, now: datetime | None = None) -> StoredApiKey | None:
        """Revoke the active key with this name; None when there is none. Returns once every
        API process refuses the key (after the revocation grace, see the module docstring)."""
        with self._sessions.begin() as session:
            row = self._active_by_name(session, name)
            if row is None:
                return None
            row.revoked_at = now or _now()
            session.flush()
            revoked = StoredApiKey.of(row)
        self._outlive_cached_copies()
        return revoked

    def touch(self, key_id: str, *, now: datetime | None = None) -> None:
        """Record that the key was used (callers throttle this)."""
        with self._sessions.begin() as session:
            session.execute(
                update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=now or _now())
            )

    def seed(self, records: Iterable[ApiKeyRecord], *, now: datetime | None = None) -> SeedResult:
        """Make the store hold these seeded keys (see the module docstring); one transaction."""
        result = SeedResult()
        at = now or _now()
        with self._sessions.begin() as session:
            for record in records:
                by_id = session.scalar(select(ApiKey).where(ApiKey.key_id == record.key_id))
                if by_id is not None:
                    if by_id.revoked_at is not None:
                        result.skipped_revoked.append(record.name)
                        continue
                    wanted = (record.name, record.role.value, record.secret_hash)
                    if (by_id.name, by_id.role, by_id.secret_hash) == wanted:
                        result.unchanged.append(record.name)
                        continue
                    holder = self._active_by_name(session, record.name)
                    if holder is not None and holder.key_id != record.key_id:
                        self._check_replaceable(holder)
                        holder.revoked_at = at
                        session.flush()
                    by_id.name, by_id.role, by_id.secret_hash = wanted
                    result.updated.append(record.name)
                    continue
                holder = self._active_by_name(session, record.name)
                if holder is not None and holder.key_id == record.key_id:
                    # Another replica inserted this very key after our lookup by id.
                    result.unchanged.append(record.name)
                    continue
                if holder is not None:
                    self._check_replaceable(holder)
                    holder.revoked_at = at
                    session.flush()
                    result.replaced.append(record.name)
                inserted = _insert_ignoring_conflicts(
                    session,
                    {
                        "key_id": record.key_id,
                        "name": record.name,
                        "role": record.role.value,
                        "secret_hash": record.secret_hash,
                        "source": "env",
                        "created_at": at,
                    },
                )
                if inserted:
                    result.created.append(record.name)
                else:  # another replica seeded it at the same moment
                    result.unchanged.append(record.name)
        if result.replaced or result.updated:
            # A key was revoked or changed role: other API processes may hold its old row.
            self._outlive_cached_copies()
        return result

    @staticmethod
    def _active_by_name(session: Session, name: str) -> ApiKey | None:
        return session.scalar(
            select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
        )

    @staticmethod
    def _check_replaceable(holder: ApiKey) -> None:
        if holder.source != "env":
            raise KeyNameTaken(
                f"{API_KEYS_ENV}: the name {holder.name!r} belongs to a key created with "
                "`escalation keys create`; choose another name or revoke that key first"
            )
