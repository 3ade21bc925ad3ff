"""What the CRM read adapters (HubSpot, Salesforce) share: the customer profile they return,
the lookup result, and the rules that keep a CRM from ever blocking an escalation.

A lookup fills customer tier, ARR, health score and CSM when the ticket system did not send
them. It **never raises**: every outcome is a `CrmLookup` whose `status` says what happened:

* `found`: `profile` is set (fields the CRM does not hold are None and listed in
  `profile.missing`);
* `not_found`: the CRM has no such record (or the id or domain is malformed: no request);
* `not_configured`: no credentials, nothing was sent (the read adapters' outbox mode: there
  is nothing to write, so nothing goes to the outbox);
* `unavailable`: timeout, network error, 429 or 5xx (or Salesforce's exhausted API quota);
* `refused`: the CRM refused the call (401/403/400, e.g. an expired token or a configured
  property that does not exist): a configuration problem, worth an alert.

Two keys: `lookup` by the CRM's own account id, `lookup_domain` by the requester's email domain
(HubSpot company `domain`, Salesforce Account `Website`) when the event's customer id is the
help desk's. `lookup_key` says which; the cache keeps the two apart.

Each call is bounded by CRM_TIMEOUT_SECONDS (default 2 s) as a whole, not only per socket
operation. `found` and `not_found` are cached for CRM_CACHE_TTL_SECONDS in the `TtlCache`
passed in (failures are not cached, so the next escalation tries again).

How callers record it: the activity that enriches an escalation calls `lookup`, uses
`result.profile` when `result.found`, and otherwise continues with what the ticket said; in
both cases it writes `result.timeline_detail()` as a timeline event (kind `crm_lookup`), so the
escalation shows "CRM unavailable: timeout after 2.0 s" instead of failing.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, Field, computed_field

from activities.adapters.cache import TtlCache
from escalation.crm_domain import is_hostname
from escalation.vocabulary import CustomerTier

LookupStatus = Literal["found", "not_found", "not_configured", "unavailable", "refused"]
LookupKey = Literal["id", "domain"]
PROFILE_FIELDS = ("tier", "arr", "health_score", "csm")


class CustomerProfile(BaseModel):
    """A customer account as the CRM describes it."""

    crm: str
    account_id: str
    name: str | None = None
    tier: str | None = Field(default=None, description="the CRM's tier value, as stored")
    arr: float | None = Field(default=None, description="annual recurring revenue")
    health_score: float | None = None
    csm: str | None = Field(default=None, description="customer success manager (name or id)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def customer_tier(self) -> CustomerTier | None:
        """`tier` as our CustomerTier when it names one (case-insensitive), else None."""
        if not self.tier:
            return None
        try:
            return CustomerTier(self.tier.strip().lower())
        except ValueError:
            return None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def missing(self) -> list[str]:
        """The profile fields the CRM record did not fill."""
        return [name for name in PROFILE_FIELDS if getattr(self, name) is None]


class CrmLookup(BaseModel):
    """The outcome of one CRM lookup; never an exception."""

    crm: str
    account_id: str = Field(description="What was asked for: the account id, or the domain.")
    status: LookupStatus
    lookup_key: LookupKey = "id"
    profile: CustomerProfile | None = None
    reason: str | None = None
    cached: bool = False

    @property
    def found(self) -> bool:
        return self.status == "found" and self.profile is not None

    def timeline_detail(self) -> dict[str, Any]:
        """What to record on the escalation's timeline (no customer data beyond the id)."""
        detail: dict[str, Any] = {
            "crm": self.crm,
            "account_id": self.account_id,
            "lookup_key": self.lookup_key,
            "status": self.status,
            "cached": self.cached,
        }
        if self.reason:
            detail["reason"] = self.reason
        if self.profile is not None:
            detail["missing"] = self.profile.missing
        return detail


class CrmReader(Protocol):
    """A CRM read adapter."""

    @property
    def vendor(self) -> str: ...

    @property
    def live(self) -> bool: ...

    def is_account_id(self, account_id: str) -> bool:
        """True when `account_id` has the shape of this CRM's own ids (no request)."""
        ...

    async def lookup(self, account_id: str) -> CrmLookup: ...

    async def lookup_domain(self, domain: str) -> CrmLookup:
        """The account whose website domain is `domain` (a valid hostname, else not_found
        without a request)."""
        ...


class CachedCrmReader(ABC):
    """The lookup flow both CRM read adapters share: checks before any request, the cache of
    `found` and `not_found` results, and the outcome helpers.

    A subclass sets `vendor`, `id_refusal` (the reason for an id of the wrong shape) and
    `not_configured_reason`, and provides `live`, `is_account_id` and `_fetch` (the request).
    Cache keys are `f"{vendor}:{id}"` and `f"{vendor}:domain:{domain}"`.
    """

    vendor: ClassVar[str]
    id_refusal: ClassVar[str]
    not_configured_reason: ClassVar[str]
    _cache: TtlCache[CrmLookup]

    @property
    @abstractmethod
    def live(self) -> bool: ...

    @abstractmethod
    def is_account_id(self, account_id: str) -> bool:
        """True when `account_id` has the shape of this CRM's own ids (no request)."""

    @abstractmethod
    async def _fetch(self, asked: str, key: LookupKey) -> CrmLookup:
        """One request to the CRM; never raises."""

    async def lookup(self, account_id: str) -> CrmLookup:
        """The account `account_id` (this CRM's own id) as a CrmLookup."""
        account_id = account_id.strip()
        if not self.live:
            return self._not_configured(account_id, "id")
        if not self.is_account_id(account_id):
            return self._failed(account_id, "not_found", self.id_refusal)
        return await self._cached(f"{self.vendor}:{account_id}", account_id, "id")

    async def lookup_domain(self, domain: str) -> CrmLookup:
        """The first account whose website domain equals `domain`."""
        domain = domain.strip().lower()
        if not self.live:
            return self._not_configured(domain, "domain")
        if not is_hostname(domain):
            return self._failed(domain, "not_found", "not a valid hostname", "domain")
        return await self._cached(f"{self.vendor}:domain:{domain}", domain, "domain")

    async def _cached(self, cache_key: str, asked: str, key: LookupKey) -> CrmLookup:
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached.model_copy(update={"cached": True})
        result = await self._fetch(asked, key)
        if result.status in ("found", "not_found"):
            self._cache.set(cache_key, result)
        return result

    @classmethod
    def _not_configured(cls, asked: str, key: LookupKey) -> CrmLookup:
        return CrmLookup(
            crm=cls.vendor,
            account_id=asked,
            status="not_configured",
            lookup_key=key,
            reason=cls.not_configured_reason,
        )

    @classmethod
    def _failed(
        cls, asked: str, status: LookupStatus, reason: str, key: LookupKey = "id"
    ) -> CrmLookup:
        return CrmLookup(
            crm=cls.vendor, account_id=asked, status=status, lookup_key=key, reason=reason[:300]
        )


def parse_number(value: Any) -> float | None:
    """A number from a CRM value: JSON numbers as they are, strings such as "1,200,000.50"
    or "$ 1200000" parsed; None for empty or unparsable values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = re.sub(r"[\s,$€£]", "", str(value))
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_text(value: Any) -> str | None:
    """A non-empty string from a CRM value, else None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
