"""HubSpot CRM v3 read adapter: a company's tier, ARR, health score and CSM
(vendor-apis.md section 7.1).

`GET {HUBSPOT_API_URL}/crm/v3/objects/companies/{id}?properties=name,<tier>,<arr>,<health>,
<csm>` with `Authorization: Bearer <private app token>` (scope crm.objects.companies.read).
Tier, ARR, health and CSM are portal-specific custom properties, so their internal names are
settings (HUBSPOT_TIER_PROPERTY, HUBSPOT_ARR_PROPERTY, HUBSPOT_HEALTH_PROPERTY,
HUBSPOT_CSM_PROPERTY). HubSpot returns **every property value as a string** (or null); numbers
are parsed here. The lookup never raises: see activities/adapters/crm.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final
from urllib.parse import quote

import httpx

from activities.adapters.base import (
    OutboxSink,
    PermanentVendorError,
    RetryableVendorError,
    send_request,
)
from activities.adapters.cache import TtlCache
from activities.adapters.common import json_object
from activities.adapters.crm import (
    CrmLookup,
    CustomerProfile,
    LookupStatus,
    parse_number,
    parse_text,
)
from escalation.settings import Settings

VENDOR: Final = "hubspot"


class HubSpotAdapter:
    """Reads companies from HubSpot. Live when HUBSPOT_TOKEN is set."""

    vendor: Final = VENDOR

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        outbox: OutboxSink,
        *,
        cache: TtlCache[CrmLookup] | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox  # unused: a read has nothing to put in the outbox
        self._cache: TtlCache[CrmLookup] = (
            cache if cache is not None else TtlCache(ttl_seconds=settings.crm_cache_ttl_seconds)
        )

    @property
    def live(self) -> bool:
        """True when lookups really go to HubSpot, False when they report not_configured."""
        return self._settings.live_adapters()[VENDOR]

    async def lookup(self, account_id: str) -> CrmLookup:
        """The company `account_id` (HubSpot's numeric company id) as a CrmLookup."""
        company_id = account_id.strip()
        if not self.live:
            return CrmLookup(
                crm=VENDOR,
                account_id=company_id,
                status="not_configured",
                reason="HUBSPOT_TOKEN is not set",
            )
        if not company_id.isdigit():
            return CrmLookup(
                crm=VENDOR,
                account_id=company_id,
                status="not_found",
                reason="not a HubSpot company id",
            )
        key = f"{VENDOR}:{company_id}"
        cached = self._cache.get(key)
        if cached is not None:
            return cached.model_copy(update={"cached": True})
        result = await self._fetch(company_id)
        if result.status in ("found", "not_found"):
            self._cache.set(key, result)
        return result

    async def _fetch(self, company_id: str) -> CrmLookup:
        settings = self._settings
        names = {
            "tier": settings.hubspot_tier_property,
            "arr": settings.hubspot_arr_property,
            "health_score": settings.hubspot_health_property,
            "csm": settings.hubspot_csm_property,
        }
        wanted = ",".join(dict.fromkeys(["name", *names.values()]))
        timeout = settings.crm_timeout_seconds
        url = (
            f"{settings.hubspot_api_url.rstrip('/')}/crm/v3/objects/companies/"
            f"{quote(company_id, safe='')}"
        )
        try:
            async with asyncio.timeout(timeout):
                response = await send_request(
                    VENDOR,
                    self._client,
                    "GET",
                    url,
                    params={"properties": wanted},
                    headers={
                        "Authorization": f"Bearer {settings.hubspot_token}",
                        "Accept": "application/json",
                    },
                    timeout=timeout,
                )
            data = json_object(response)
        except TimeoutError:
            return self._failed(company_id, "unavailable", f"timeout after {timeout} s")
        except RetryableVendorError as exc:
            return self._failed(company_id, "unavailable", exc.message)
        except PermanentVendorError as exc:
            if exc.status == 404:
                return self._failed(company_id, "not_found", "no such company")
            return self._failed(company_id, "refused", exc.message)
        except Exception as exc:  # a CRM must never break an escalation
            return self._failed(company_id, "unavailable", f"unexpected error: {exc!r}")
        properties: dict[str, Any] = data.get("properties") or {}
        if not isinstance(properties, dict):
            properties = {}
        profile = CustomerProfile(
            crm=VENDOR,
            account_id=str(data.get("id") or company_id),
            name=parse_text(properties.get("name")),
            tier=parse_text(properties.get(names["tier"])),
            arr=parse_number(properties.get(names["arr"])),
            health_score=parse_number(properties.get(names["health_score"])),
            csm=parse_text(properties.get(names["csm"])),
        )
        return CrmLookup(crm=VENDOR, account_id=company_id, status="found", profile=profile)

    @staticmethod
    def _failed(company_id: str, status: LookupStatus, reason: str) -> CrmLookup:
        return CrmLookup(crm=VENDOR, account_id=company_id, status=status, reason=reason[:300])
