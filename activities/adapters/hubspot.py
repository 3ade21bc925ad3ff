"""HubSpot CRM v3 read adapter: a company's tier, ARR, health score and CSM
(vendor-apis.md section 7.1).

`GET {HUBSPOT_API_URL}/crm/v3/objects/companies/{id}?properties=name,<tier>,<arr>,<health>,
<csm>` with `Authorization: Bearer <private app token>` (scope crm.objects.companies.read);
by the requester's email domain, `POST .../companies/search` with one `domain EQ <domain>`
filter, the same properties and `limit: 1` (no result is `not_found`; a 404 there is not, it
means a wrong base URL: `refused`).
Tier, ARR, health and CSM are portal-specific custom properties, so their internal names are
settings (HUBSPOT_TIER_PROPERTY, HUBSPOT_ARR_PROPERTY, HUBSPOT_HEALTH_PROPERTY,
HUBSPOT_CSM_PROPERTY). HubSpot returns **every property value as a string** (or null); numbers
are parsed here. The lookup never raises: see activities/adapters/crm.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Final
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
    CachedCrmReader,
    CrmLookup,
    CustomerProfile,
    LookupKey,
    parse_number,
    parse_text,
)
from escalation.settings import Settings

VENDOR: Final = "hubspot"


class HubSpotAdapter(CachedCrmReader):
    """Reads companies from HubSpot. Live when HUBSPOT_TOKEN is set."""

    vendor: ClassVar[str] = VENDOR
    id_refusal: ClassVar[str] = "not a HubSpot company id"
    not_configured_reason: ClassVar[str] = "HUBSPOT_TOKEN is not set"

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

    def is_account_id(self, account_id: str) -> bool:
        """HubSpot company ids are numeric (`hs_object_id`)."""
        return account_id.strip().isdigit()

    def _names(self) -> dict[str, str]:
        settings = self._settings
        return {
            "tier": settings.hubspot_tier_property,
            "arr": settings.hubspot_arr_property,
            "health_score": settings.hubspot_health_property,
            "csm": settings.hubspot_csm_property,
        }

    async def _fetch(self, asked: str, key: LookupKey) -> CrmLookup:
        settings = self._settings
        names = self._names()
        wanted = list(dict.fromkeys(["name", *names.values()]))
        timeout = settings.crm_timeout_seconds
        base = f"{settings.hubspot_api_url.rstrip('/')}/crm/v3/objects/companies"
        headers = {
            "Authorization": f"Bearer {settings.hubspot_token}",
            "Accept": "application/json",
        }
        request: dict[str, Any]
        if key == "id":
            request = {
                "method": "GET",
                "url": f"{base}/{quote(asked, safe='')}",
                "params": {"properties": ",".join(wanted)},
            }
        else:
            # The search endpoint, with the by-id read's properties (vendor-apis.md 7.1).
            request = {
                "method": "POST",
                "url": f"{base}/search",
                "json": {
                    "filterGroups": [
                        {"filters": [{"propertyName": "domain", "operator": "EQ", "value": asked}]}
                    ],
                    "properties": wanted,
                    "limit": 1,
                },
            }
        try:
            async with asyncio.timeout(timeout):
                response = await send_request(
                    VENDOR, self._client, headers=headers, timeout=timeout, **request
                )
            data = json_object(response)
        except TimeoutError:
            return self._failed(asked, "unavailable", f"timeout after {timeout} s", key)
        except RetryableVendorError as exc:
            return self._failed(asked, "unavailable", exc.message, key)
        except PermanentVendorError as exc:
            if exc.status == 404 and key == "id":
                return self._failed(asked, "not_found", "no such company", key)
            return self._failed(asked, "refused", exc.message, key)
        except Exception as exc:  # a CRM must never break an escalation
            return self._failed(asked, "unavailable", f"unexpected error: {exc!r}", key)
        if key == "domain":
            results = data.get("results")
            first = results[0] if isinstance(results, list) and results else None
            if not isinstance(first, dict):
                return self._failed(asked, "not_found", "no company with this domain", key)
            data = first
        properties: dict[str, Any] = data.get("properties") or {}
        if not isinstance(properties, dict):
            properties = {}
        profile = CustomerProfile(
            crm=VENDOR,
            account_id=str(data.get("id") or asked),
            name=parse_text(properties.get("name")),
            tier=parse_text(properties.get(names["tier"])),
            arr=parse_number(properties.get(names["arr"])),
            health_score=parse_number(properties.get(names["health_score"])),
            csm=parse_text(properties.get(names["csm"])),
        )
        return CrmLookup(
            crm=VENDOR, account_id=asked, status="found", lookup_key=key, profile=profile
        )
