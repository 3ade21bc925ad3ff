"""API keys: roles and permissions, key generation, hashing for storage, ``ESCALATION_API_KEYS``.

Pure code: no database here. The store persists :class:`ApiKeyRecord` rows (unique index on
``key_id``) and the API turns ``Authorization: Bearer <token>`` into a record with
:func:`key_id_for` (which row to load) and :func:`verify_api_key` (is it really that key).

Tokens
    Generated keys look like ``esc_<key id>_<secret>``: the key id is 12 lowercase hex characters
    (not secret; it names the row and can appear in logs and ``escalation keys list``), the secret
    is ``secrets.token_urlsafe(32)`` (256 bits). Keys seeded from ``ESCALATION_API_KEYS`` keep the
    secret the operator chose as the whole bearer token (``Bearer s3cret``); their key id is
    derived from the token with the pepper (``ext-`` + 16 hex characters), so any token maps to
    exactly one row without a scan.

Hashing: HMAC-SHA256 with a server-side pepper, chosen over scrypt/PBKDF2 because
    * generated keys carry 256 bits of entropy: a slow KDF adds nothing against guessing them,
      but would cost tens of milliseconds of CPU on *every* authenticated request and hand an
      attacker a cheap way to burn server CPU with bogus tokens;
    * seeded keys can be weak (``s3cret``). A fast unkeyed hash of those would fall to a
      dictionary attack once the database leaks; keyed with a pepper that lives outside the
      database (the process environment), a database dump alone verifies nothing;
    * the pepper also lets a seeded token be turned into its key id without a slow KDF, which a
      per-row salt cannot (the salt is in the row we are trying to find).
    The message is bound to the key id (``domain tag | key id | token``), so equal secrets in two
    rows never share a hash. The stored value is ``hmac-sha256$<hex>``; the prefix names the
    scheme so it can be migrated later. Rotating the pepper invalidates every stored hash: keys
    must be re-created (seeded ones are re-seeded at start). Verification compares digests with
    :func:`hmac.compare_digest`.

``ESCALATION_API_KEYS`` format
    Comma-separated ``name:role:secret`` entries, e.g.
    ``helpdesk:ticket-system:s3cret,oncall:responder:t0ken``. ``name`` is 1-64 characters from
    ``A-Z a-z 0-9 . _ -`` starting with a letter or digit, unique across entries; ``role`` is one
    of :class:`Role`; ``secret`` is everything after the second colon (it may contain ``:`` but
    not ``,``) and must be non-empty. Blank entries (a trailing comma) are ignored. Errors name the
    entry by position and name and never echo the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = [
    "API_KEYS_ENV",
    "MAX_TOKEN_LENGTH",
    "MIN_PEPPER_BYTES",
    "ROLE_PERMISSIONS",
    "VERIFIED_KEY_TTL_SECONDS",
    "ApiKeyConfigError",
    "ApiKeyRecord",
    "ApiKeySeed",
    "Permission",
    "Role",
    "generate_token",
    "hash_token",
    "key_id_for",
    "new_api_key",
    "parse_api_keys",
    "record_for",
    "records_from_env",
    "role_allows",
    "verify_api_key",
]

API_KEYS_ENV = "ESCALATION_API_KEYS"
TOKEN_PREFIX = "esc_"
MIN_PEPPER_BYTES = 16
MAX_TOKEN_LENGTH = 512
"""Longer bearer tokens are rejected without hashing."""
VERIFIED_KEY_TTL_SECONDS = 1.0
"""How long an API process may reuse a key row it read from the store (``api/auth.py``)
without reading it again. A revocation (or a seeded key's new role) waits this long after
committing before it returns (``store/api_keys.py``), so once ``escalation keys revoke``
has answered, no API process still holds the key as active: the next request is a 401."""

_HASH_SCHEME = "hmac-sha256"
_GENERATED_ID_BYTES = 6  # 12 hex characters
_SECRET_BYTES = 32
_GENERATED_TOKEN = re.compile(r"esc_(?P<key_id>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Role(StrEnum):
    """What an API key is for. Spelled as in ``ESCALATION_API_KEYS``."""

    TICKET_SYSTEM = "ticket-system"
    RESPONDER = "responder"
    MANAGER = "manager"
    VIEWER = "viewer"
    ADMIN = "admin"


class Permission(StrEnum):
    """Actions the API guards; each endpoint requires exactly one."""

    INTAKE = "intake"  # POST /v1/tickets/events
    START_ESCALATION = "start_escalation"  # POST /v1/escalations
    RESPOND = "respond"  # acknowledge, resolve, reassign, notes
    MANAGE = "manage"  # arbitration, schedules, overrides, time off
    READ = "read"  # GET endpoints, dashboard, reports
    ADMIN = "admin"  # key management, codec endpoints, everything else


ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.TICKET_SYSTEM: frozenset(
            {Permission.INTAKE, Permission.START_ESCALATION, Permission.READ}
        ),
        Role.RESPONDER: frozenset({Permission.RESPOND, Permission.READ}),
        Role.MANAGER: frozenset({Permission.MANAGE, Permission.RESPOND, Permission.READ}),
        Role.VIEWER: frozenset({Permission.READ}),
        Role.ADMIN: frozenset(Permission),
    }
)


def role_allows(role: Role, permission: Permission) -> bool:
    """Whether a key with ``role`` may perform ``permission`` (admin may do everything)."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


class ApiKeyConfigError(ValueError):
    """``ESCALATION_API_KEYS`` (or a key being created) is invalid; the message says which entry."""


class ApiKeySeed(BaseModel):
    """One parsed ``ESCALATION_API_KEYS`` entry (the secret still in clear, but never repr'd)."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    secret: SecretStr


class ApiKeyRecord(BaseModel):
    """What the store persists for a key: never the token itself."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    name: str
    role: Role
    secret_hash: str


def _check_pepper(pepper: bytes) -> None:
    if len(pepper) < MIN_PEPPER_BYTES:
        raise ValueError(f"API key pepper must be at least {MIN_PEPPER_BYTES} bytes")


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ApiKeyConfigError(
            f"invalid key name {name!r}: use 1-64 characters from A-Z a-z 0-9 . _ -, "
            "starting with a letter or digit"
        )


def generate_token() -> tuple[str, str]:
    """A new random bearer token and its key id: ``("esc_<id>_<secret>", "<id>")``."""
    key_id = secrets.token_hex(_GENERATED_ID_BYTES)
    return f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}", key_id


def key_id_for(token: str, pepper: bytes) -> str:
    """The id of the row a presented token belongs to (if it belongs to any).

    Generated tokens carry their id; any other token (a seeded secret) gets a keyed derivation,
    so the id reveals nothing about a weak secret without the pepper.
    """
    _check_pepper(pepper)
    match = _GENERATED_TOKEN.fullmatch(token)
    if match:
        return match["key_id"]
    digest = hmac.new(pepper, b"escalation-api-key-id\0" + token.encode("utf-8"), hashlib.sha256)
    return "ext-" + digest.hexdigest()[:16]


def hash_token(token: str, key_id: str, pepper: bytes) -> str:
    """The value stored as ``secret_hash`` for ``token`` in row ``key_id``."""
    _check_pepper(pepper)
    message = b"escalation-api-key\0" + key_id.encode("utf-8") + b"\0" + token.encode("utf-8")
    return f"{_HASH_SCHEME}${hmac.new(pepper, message, hashlib.sha256).hexdigest()}"


def verify_api_key(token: str, record: ApiKeyRecord, pepper: bytes) -> bool:
    """Whether ``token`` is the key stored in ``record`` (constant-time comparison)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    expected = hash_token(token, record.key_id, pepper)
    return hmac.compare_digest(expected.encode("utf-8"), record.secret_hash.encode("utf-8"))


def record_for(name: str, role: Role, token: str, pepper: bytes) -> ApiKeyRecord:
    """The storable record for a known token (used for seeded keys)."""
    _check_name(name)
    if not token:
        raise ApiKeyConfigError(f"key {name!r}: the secret is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise ApiKeyConfigError(f"key {name!r}: the secret is longer than {MAX_TOKEN_LENGTH}")
    key_id = key_id_for(token, pepper)
    return ApiKeyRecord(
        key_id=key_id, name=name, role=role, secret_hash=hash_token(token, key_id, pepper)
    )


def new_api_key(name: str, role: Role, pepper: bytes) -> tuple[str, ApiKeyRecord]:
    """Create a key: the bearer token (show it once, never store it) and the record to store."""
    token, key_id = generate_token()
    record = record_for(name, role, token, pepper)
    assert record.key_id == key_id
    return token, record


def parse_api_keys(value: str, env_name: str = API_KEYS_ENV) -> list[ApiKeySeed]:
    """Parse ``name:role:secret,name:role:secret`` (see the module docstring).

    Raises :class:`ApiKeyConfigError` naming the first bad entry (1-based position and name).
    """
    seeds: list[ApiKeySeed] = []
    seen_names: dict[str, int] = {}
    seen_secrets: dict[str, str] = {}
    roles = ", ".join(role.value for role in Role)
    for position, raw in enumerate(value.split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        fields = entry.split(":", 2)
        if len(fields) != 3:
            # Do not echo the entry: a lone field is most likely a secret.
            raise ApiKeyConfigError(
                f"{env_name} entry {position}: expected name:role:secret, "
                f"got {len(fields)} field(s)"
            )
        name, role_text, secret = (field.strip() for field in fields)
        where = f"{env_name} entry {position} ({name or '<empty name>'}:{role_text}:***)"
        try:
            _check_name(name)
        except ApiKeyConfigError as exc:
            raise ApiKeyConfigError(f"{where}: {exc}") from None
        try:
            role = Role(role_text)
        except ValueError:
            raise ApiKeyConfigError(
                f"{where}: unknown role {role_text!r} (expected one of {roles})"
            ) from None
        if not secret:
            raise ApiKeyConfigError(f"{where}: the secret is empty")
        if len(secret) > MAX_TOKEN_LENGTH:
            raise ApiKeyConfigError(f"{where}: the secret is longer than {MAX_TOKEN_LENGTH}")
        if name in seen_names:
            raise ApiKeyConfigError(
                f"{where}: duplicate name {name!r} (also entry {seen_names[name]})"
            )
        if secret in seen_secrets:
            raise ApiKeyConfigError(
                f"{where}: same secret as key {seen_secrets[secret]!r}; secrets must be unique"
            )
        seen_names[name] = position
        seen_secrets[secret] = name
        seeds.append(ApiKeySeed(name=name, role=role, secret=SecretStr(secret)))
    return seeds


def records_from_env(value: str, pepper: bytes) -> list[ApiKeyRecord]:
    """Parse ``ESCALATION_API_KEYS`` and hash every entry, ready for the store to upsert."""
    return [
        record_for(seed.name, seed.role, seed.secret.get_secret_value(), pepper)
        for seed in parse_api_keys(value)
    ]
