"""CRM enrichment of intake: fill the customer's tier, ARR and health score (and name the CSM)
from the configured CRM when the ticket event does not carry them.

Which account: the event's `customer.customer_id`, as the CRM knows it (a HubSpot company id,
a Salesforce Account id). A `hubspot:` or `salesforce:` prefix sends it to that CRM only;
without one every configured CRM is asked in turn (Salesforce, then HubSpot) until one finds
it. An id no configured CRM could hold (e.g. `zd-org-…` from a help-desk webhook) is looked
up by the requester's email domain instead (`customer.requester_email`; free-mail domains and
anything but a plain hostname are never sent, see escalation/crm_domain.py), in the same
order, with the same timeout, cache (keyed by domain) and outcome; `lookup_key` in the
outcome says which key was used. Without a usable domain it is `not_found` without a
request.

What counts as missing: `tier` left at `standard` (the schema's default: the ticket system
said nothing better), `arr` and `health_score` absent; the CSM is never in the event, so it
is always asked for. The ticket system's own values always win.

Never blocks, never fails intake: the whole enrichment is bounded by CRM_TIMEOUT_SECONDS
(each adapter call is bounded too), the adapters never raise, `found`/`not_found` answers are
cached for CRM_CACHE_TTL_SECONDS in one process-wide TtlCache (failures are not, so the next
event tries again), and the outcome, good or bad, is a `CrmEnrichment` in the intake response.
With no CRM configured nothing is asked and nothing is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from activities.adapters.base import OutboxMessage
from activities.adapters.cache import TtlCache
from activities.adapters.crm import CrmLookup, CrmReader, LookupKey
from activities.adapters.hubspot import HubSpotAdapter
from activities.adapters.salesforce import SalesforceAdapter
from escalation.crm_domain import requester_domain
from escalation.intake_results import CrmEnrichment
from escalation.settings import Settings
from escalation.triggers import TicketEvent
from escalation.vocabulary import CustomerTier

__all__ = ["CrmEnricher", "build_crm_enricher"]

_MAX_ARR = Decimal("1e12")  # the intake schema's bound on money


class _NoOutbox:
    """The read adapters take an outbox but never write to it (a read has nothing to send)."""

    async def write(self, message: OutboxMessage) -> None:
        raise AssertionError(f"a CRM read wrote to the outbox: {message!r}")


class CrmEnricher:
    """Fills an event's customer from the first live CRM that knows the account."""

    def __init__(
        self,
        readers: Sequence[CrmReader],
        *,
        timeout_seconds: float,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._readers = [r for r in readers if r.live]
        self._timeout = timeout_seconds
        self._http = http  # owned: closed by aclose()

    @property
    def configured(self) -> bool:
        return bool(self._readers)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def enrich(self, event: TicketEvent) -> tuple[TicketEvent, CrmEnrichment | None]:
        """The event with the CRM's values where it had none, and what happened."""
        if not self._readers:
            return event, None
        account = event.customer.customer_id
        readers, account_id, explicit = self._route(account)
        if not readers:
            return event, CrmEnrichment(
                account_id=account,
                status="not_found",
                missing=_missing(event),
                reason=f"no configured CRM for prefix of {account!r}",
            )
        if explicit or any(r.is_account_id(account_id) for r in readers):
            return await self._ask(event, readers, account_id, "id", None)
        check = requester_domain(event.customer.requester_email)
        if check.domain is None:
            # Neither key is usable: recorded without a request.
            return event, CrmEnrichment(
                crm=readers[-1].vendor,
                account_id=account,
                status="not_found",
                lookup_key="domain" if event.customer.requester_email else "id",
                missing=_missing(event),
                reason=f"{account!r} is not a CRM account id and {check.reason}",
            )
        return await self._ask(event, readers, account, "domain", check.domain)

    async def _ask(
        self,
        event: TicketEvent,
        readers: Sequence[CrmReader],
        account_id: str,
        key: LookupKey,
        domain: str | None,
    ) -> tuple[TicketEvent, CrmEnrichment]:
        """Ask the readers in turn (by id, or by `domain`) until one finds the account."""
        asked: list[CrmLookup] = []
        common: dict[str, Any] = {"account_id": account_id, "lookup_key": key, "domain": domain}
        try:
            async with asyncio.timeout(self._timeout):
                for reader in readers:
                    if domain is None:
                        asked.append(await reader.lookup(account_id))
                    else:
                        asked.append(await reader.lookup_domain(domain))
                    if asked[-1].found:
                        break
        except TimeoutError:
            return event, CrmEnrichment(
                crm=readers[len(asked)].vendor if len(asked) < len(readers) else None,
                status="unavailable",
                missing=_missing(event),
                reason=f"timeout after {self._timeout:g} s",
                **common,
            )
        # Found, else the failure worth reporting (a CRM that could not answer says more than
        # another that does not know the id), else the last "not found".
        last = next(
            (a for a in asked if a.found),
            next((a for a in asked if a.status != "not_found"), asked[-1]),
        )
        if not last.found or last.profile is None:
            return event, CrmEnrichment(
                crm=last.crm,
                status=last.status,
                cached=last.cached,
                missing=_missing(event),
                reason=last.reason,
                **common,
            )
        enriched, filled = _fill(event, last)
        return enriched, CrmEnrichment(
            crm=last.crm,
            status="found",
            cached=last.cached,
            filled=filled,
            missing=_missing(enriched, csm=last.profile.csm),
            csm=last.profile.csm,
            crm_account_id=last.profile.account_id,
            **common,
        )

    def _route(self, account: str) -> tuple[list[CrmReader], str, bool]:
        """The readers to ask, the id without its prefix, and whether a prefix chose them."""
        prefix, sep, rest = account.partition(":")
        if sep and prefix.lower() in ("hubspot", "salesforce"):
            return [r for r in self._readers if r.vendor == prefix.lower()], rest, True
        order = {"salesforce": 0, "hubspot": 1}
        return sorted(self._readers, key=lambda r: order.get(r.vendor, 9)), account, False


def _missing(event: TicketEvent, *, csm: str | None = None) -> list[str]:
    customer = event.customer
    out = []
    if customer.tier is CustomerTier.STANDARD:
        out.append("tier")
    if customer.arr is None:
        out.append("arr")
    if customer.health_score is None:
        out.append("health_score")
    if csm is None:
        out.append("csm")
    return out


def _fill(event: TicketEvent, lookup: CrmLookup) -> tuple[TicketEvent, list[str]]:
    """Only the fields the event lacks, and only values the intake schema accepts."""
    profile = lookup.profile
    assert profile is not None
    customer = event.customer
    update: dict[str, object] = {}
    tier = profile.customer_tier
    if customer.tier is CustomerTier.STANDARD and tier not in (None, CustomerTier.STANDARD):
        update["tier"] = tier
    if customer.arr is None and profile.arr is not None:
        arr = Decimal(str(profile.arr))
        if arr.is_finite() and Decimal(0) <= arr <= _MAX_ARR:
            update["arr"] = arr
    health = profile.health_score
    if customer.health_score is None and health is not None and 0 <= health <= 100:
        update["health_score"] = health
    if not customer.name and profile.name:
        update["name"] = profile.name[:200]
    if not update:
        return event, []
    values = event.model_dump()
    values["customer"] = {**values["customer"], **update}
    filled: list[str] = [n for n in ("tier", "arr", "health_score") if n in update]
    return TicketEvent.model_validate(values), filled


def build_crm_enricher(
    settings: Settings, *, cache: TtlCache[CrmLookup] | None = None
) -> CrmEnricher | None:
    """The enricher of a process (API or worker), or None when no CRM is configured (intake
    then never asks). It owns one HTTP client, like the worker's adapters share theirs."""
    live = settings.live_adapters()
    if not (live.get("hubspot") or live.get("salesforce")):
        return None
    http = httpx.AsyncClient(timeout=settings.crm_timeout_seconds)
    shared: TtlCache[CrmLookup] = (
        cache if cache is not None else TtlCache(ttl_seconds=settings.crm_cache_ttl_seconds)
    )
    outbox = _NoOutbox()
    readers: list[CrmReader] = [
        SalesforceAdapter(settings, http, outbox, cache=shared),
        HubSpotAdapter(settings, http, outbox, cache=shared),
    ]
    return CrmEnricher(readers, timeout_seconds=settings.crm_timeout_seconds, http=http)
