"""Authentication and roles for the HTTP API.

Every route but ``/healthz`` (and ``/docs``, ``/openapi.json``, and vendor webhooks, which are
verified by their signatures) declares the permission it needs with :func:`require`, or says
why it is public with :func:`public`::

    @router.post("/things", dependencies=[Depends(require(Permission.MANAGE))])
    async def create_thing(...): ...

    @router.post("/{id}/act")
    async def act(principal: Annotated[Principal, Depends(require(Permission.RESPOND))]): ...

A request carries ``Authorization: Bearer <API key>``. No header, a malformed one, an unknown,
revoked or wrong key: 401 with ``WWW-Authenticate: Bearer``. A valid key whose role lacks the
permission: 403 naming both. The key is looked up by its key id (one indexed row, see
escalation/apikeys.py) and verified in constant time; revocation takes effect on the next request.
An active key's row is reused for at most ``VERIFIED_KEY_TTL_SECONDS`` (:class:`VerifiedKeys`),
so a burst of requests reads it once; the token is still verified against it on every request,
and a revocation waits out that lifetime before it returns (store/api_keys.py), which keeps
"revoked: the next request is a 401" true across API processes.
Mutations pass :attr:`Principal.name` into the workflow input (``api_key_name``), so the
escalation's timeline names the key next to the person in ``by``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import OperationalError, ProgrammingError

from escalation.apikeys import (
    MAX_TOKEN_LENGTH,
    MIN_PEPPER_BYTES,
    VERIFIED_KEY_TTL_SECONDS,
    ApiKeyConfigError,
    ApiKeyRecord,
    Permission,
    Role,
    key_id_for,
    records_from_env,
    role_allows,
)
from escalation.apikeys import verify_api_key as _verify
from escalation.settings import Settings
from store.api_keys import ApiKeyStore, StoredApiKey

log = structlog.get_logger("escalation.api.auth")

__all__ = [
    "Access",
    "Principal",
    "VerifiedKeys",
    "api_key_pepper",
    "authenticate",
    "bearer_scheme",
    "get_api_keys",
    "is_loopback",
    "permission_of",
    "public",
    "public_reason",
    "require",
]

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer <key>` (`escalation keys create`).",
)
_TOUCH_EVERY = timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is calling: the API key's name and role (never the token)."""

    key_id: str
    name: str
    role: Role

    def allows(self, permission: Permission) -> bool:
        return role_allows(self.role, permission)


class VerifiedKeys:
    """Active key rows read from the store, reused for at most ``ttl`` seconds.

    An entry's age counts from the moment *before* its read began, so an entry is never
    younger than the data it holds: a revocation that committed before the read is in it,
    and one committed after is at most ``ttl`` old when the revoker returns (it waits
    ``VERIFIED_KEY_TTL_SECONDS``). Revoked rows and unknown ids are never kept: a new key
    works at once, a revoked one is read (and refused) every time. Bounded in size.
    """

    def __init__(
        self,
        ttl: float = VERIFIED_KEY_TTL_SECONDS,
        *,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, StoredApiKey]] = OrderedDict()

    def get(self, key_id: str) -> StoredApiKey | None:
        entry = self._entries.get(key_id)
        if entry is None:
            return None
        read_at, stored = entry
        if self.clock() - read_at >= self.ttl:
            del self._entries[key_id]
            return None
        return stored

    def put(self, stored: StoredApiKey, *, read_at: float) -> None:
        """Keep ``stored`` (read from the store by a read that began at ``read_at``)."""
        if not stored.active or self.ttl <= 0:
            self._entries.pop(stored.key_id, None)
            return
        self._entries[stored.key_id] = (read_at, stored)
        self._entries.move_to_end(stored.key_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def used(self, key_id: str, at: datetime) -> None:
        """Record a touch in the kept row, without making the entry any younger."""
        entry = self._entries.get(key_id)
        if entry is not None:
            read_at, stored = entry
            self._entries[key_id] = (read_at, dataclasses.replace(stored, last_used_at=at))

    def clear(self) -> None:
        self._entries.clear()


def api_key_pepper(settings: Settings) -> bytes:
    """The pepper the API verifies keys with; :class:`ApiKeyConfigError` when unusable."""
    pepper = settings.api_key_pepper_bytes()
    if pepper is None:
        raise ApiKeyConfigError(
            "ESCALATION_API_KEY_PEPPER is not set: the API cannot verify API keys without it "
            "(`escalation dev` generates one in .escalation/api-key-pepper; in production set "
            'a random value, e.g. python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    if len(pepper) < MIN_PEPPER_BYTES:
        raise ApiKeyConfigError(
            f"ESCALATION_API_KEY_PEPPER must be at least {MIN_PEPPER_BYTES} bytes"
        )
    return pepper


@dataclasses.dataclass(frozen=True)
class Access:
    """The API's key configuration, checked when the app is built (a bad pepper or a bad
    ``ESCALATION_API_KEYS`` fails at start, naming the variable) and applied in the lifespan."""

    pepper: bytes
    seeds: list[ApiKeyRecord]

    @classmethod
    def configure(cls, settings: Settings) -> Access:
        pepper = api_key_pepper(settings)
        return cls(pepper=pepper, seeds=records_from_env(settings.escalation_api_keys, pepper))

    async def start(self, app: FastAPI) -> None:
        """Seed ``ESCALATION_API_KEYS`` (idempotent); needs ``app.state.repository``."""
        app.state.api_key_pepper = self.pepper
        store = ApiKeyStore(app.state.repository.sessions)
        app.state.api_keys = store
        app.state.verified_keys = VerifiedKeys()
        if not self.seeds:
            return
        try:
            seeded = await asyncio.to_thread(store.seed, self.seeds)
        except (OperationalError, ProgrammingError) as exc:  # no api_keys table yet
            raise RuntimeError(
                f"cannot seed ESCALATION_API_KEYS ({type(exc).__name__}): "
                "run `escalation migrate` against DATABASE_URL first"
            ) from exc
        log.info(
            "api_keys_seeded",
            created=seeded.created,
            updated=seeded.updated,
            replaced=seeded.replaced,
            unchanged=seeded.unchanged,
            skipped_revoked=seeded.skipped_revoked,
        )
        if seeded.skipped_revoked:
            log.warning(
                "api_keys_seed_revoked",
                names=seeded.skipped_revoked,
                hint="these ESCALATION_API_KEYS entries are revoked; remove them",
            )


def get_api_keys(request: Request) -> ApiKeyStore:
    store: ApiKeyStore = request.app.state.api_keys
    return store


def get_verified_keys(request: Request) -> VerifiedKeys:
    verified: VerifiedKeys = request.app.state.verified_keys
    return verified


def _pepper(request: Request) -> bytes:
    pepper: bytes = request.app.state.api_key_pepper
    return pepper


def _unauthorized(detail: str, *, error: str | None = None) -> HTTPException:
    challenge = 'Bearer realm="escalation"'
    if error:
        challenge += f', error="{error}"'
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": challenge}
    )


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller's key, or 401."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>`")
    token = credentials.credentials.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise _unauthorized("invalid API key", error="invalid_token")
    pepper = _pepper(request)
    key_id = key_id_for(token, pepper)
    verified = get_verified_keys(request)
    stored = verified.get(key_id)
    if stored is None:
        read_at = verified.clock()
        stored = await asyncio.to_thread(get_api_keys(request).find, key_id)
        if stored is not None:
            verified.put(stored, read_at=read_at)
    if stored is None or not _verify(token, stored.record, pepper):
        log.warning("api_key_rejected", key_id=key_id, path=request.url.path)
        raise _unauthorized("invalid API key", error="invalid_token")
    if not stored.active:
        log.warning("api_key_revoked_used", key=stored.name, path=request.url.path)
        raise _unauthorized("API key revoked", error="invalid_token")
    now = datetime.now(UTC)
    if stored.last_used_at is None or now - stored.last_used_at > _TOUCH_EVERY:
        verified.used(key_id, now)  # first: concurrent requests need not touch it again
        await asyncio.to_thread(get_api_keys(request).touch, key_id, now=now)
    principal = Principal(key_id=stored.key_id, name=stored.name, role=stored.role)
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's :class:`Principal` when its role has ``permission``, else
    401 (no or bad key) / 403 (wrong role)."""

    async def dependency(
        principal: Annotated[Principal, Depends(authenticate)],
    ) -> Principal:
        if not principal.allows(permission):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"API key {principal.name!r} has role {principal.role.value!r}, which may not "
                f"{permission.value.replace('_', ' ')}",
            )
        return principal

    dependency.__name__ = f"require_{permission.value}"
    dependency.required_permission = permission  # type: ignore[attr-defined]
    return dependency


def public(reason: str) -> Callable[[], None]:
    """A no-op dependency that marks a route as deliberately reachable without an API key
    because something else authenticates it (a vendor signature, a signed survey link)::

        @router.get("/survey/{token}", dependencies=[Depends(public("signed survey link"))])

    The route audit in tests/integration/test_auth.py accepts only :func:`require` or this.
    """

    def dependency() -> None:
        return None

    dependency.__name__ = "public"
    dependency.public_reason = reason  # type: ignore[attr-defined]
    return dependency


def public_reason(call: object) -> str | None:
    """Why a :func:`public` route needs no key (None for any other dependency)."""
    reason = getattr(call, "public_reason", None)
    return reason if isinstance(reason, str) else None


def permission_of(call: object) -> Permission | None:
    """The permission a :func:`require` dependency checks (for tests and route audits)."""
    permission = getattr(call, "required_permission", None)
    return permission if isinstance(permission, Permission) else None


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
