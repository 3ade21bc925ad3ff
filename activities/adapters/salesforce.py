"""Salesforce REST read adapter: an Account's tier, ARR, health score and CSM
(vendor-apis.md section 7.2).

`GET {SALESFORCE_INSTANCE_URL}/services/data/{SALESFORCE_API_VERSION}/sobjects/Account/{Id}
?fields=Name,<tier>,<arr>,<health>,<csm>` with `Authorization: Bearer <OAuth access token>`.
Tier, ARR, health and CSM are org-specific custom fields (`__c`), so their API names are
settings (SALESFORCE_TIER_FIELD, SALESFORCE_ARR_FIELD, SALESFORCE_HEALTH_FIELD,
SALESFORCE_CSM_FIELD). Currency fields come as JSON numbers.

Errors are a JSON array `[{"message", "errorCode", "fields"}]`: 404 NOT_FOUND is `not_found`;
403 REQUEST_LIMIT_EXCEEDED (the org's 24 h API quota) is `unavailable`; 401
INVALID_SESSION_ID (expired token: refreshing it is the deployment's job) and 400
INVALID_FIELD (a configured field that does not exist) are `refused`. The lookup never
raises: see activities/adapters/crm.py.
"""

from __future__ import annotations

import asyncio
import re
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

VENDOR: Final = "salesforce"
SALESFORCE_ID: Final = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


class SalesforceAdapter:
    """Reads Accounts from Salesforce. Live when SALESFORCE_INSTANCE_URL and
    SALESFORCE_TOKEN are set."""

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
        """True when lookups really go to Salesforce, False when they report not_configured."""
        return self._settings.live_adapters()[VENDOR]

    async def lookup(self, account_id: str) -> CrmLookup:
        """The Account `account_id` (15- or 18-character Salesforce id) as a CrmLookup."""
        record_id = account_id.strip()
        if not self.live:
            return CrmLookup(
                crm=VENDOR,
                account_id=record_id,
                status="not_configured",
                reason="SALESFORCE_INSTANCE_URL and SALESFORCE_TOKEN are not set",
            )
        if not SALESFORCE_ID.match(record_id):
            return self._failed(record_id, "not_found", "not a Salesforce record id")
        key = f"{VENDOR}:{record_id}"
        cached = self._cache.get(key)
        if cached is not None:
            return cached.model_copy(update={"cached": True})
        result = await self._fetch(record_id)
        if result.status in ("found", "not_found"):
            self._cache.set(key, result)
        return result

    async def _fetch(self, record_id: str) -> CrmLookup:
        settings = self._settings
        names = {
            "tier": settings.salesforce_tier_field,
            "arr": settings.salesforce_arr_field,
            "health_score": settings.salesforce_health_field,
            "csm": settings.salesforce_csm_field,
        }
        wanted = ",".join(dict.fromkeys(["Name", *names.values()]))
        timeout = settings.crm_timeout_seconds
        version = settings.salesforce_api_version.strip("/")
        url = (
            f"{(settings.salesforce_instance_url or '').rstrip('/')}/services/data/{version}"
            f"/sobjects/Account/{quote(record_id, safe='')}"
        )
        try:
            async with asyncio.timeout(timeout):
                response = await send_request(
                    VENDOR,
                    self._client,
                    "GET",
                    url,
                    params={"fields": wanted},
                    headers={
                        "Authorization": f"Bearer {settings.salesforce_token}",
                        "Accept": "application/json",
                    },
                    timeout=timeout,
                )
            data = json_object(response)
        except TimeoutError:
            return self._failed(record_id, "unavailable", f"timeout after {timeout} s")
        except RetryableVendorError as exc:
            return self._failed(record_id, "unavailable", exc.message)
        except PermanentVendorError as exc:
            if exc.status == 404:
                return self._failed(record_id, "not_found", "no such Account")
            if "REQUEST_LIMIT_EXCEEDED" in exc.message:
                return self._failed(record_id, "unavailable", exc.message)
            return self._failed(record_id, "refused", exc.message)
        except Exception as exc:  # a CRM must never break an escalation
            return self._failed(record_id, "unavailable", f"unexpected error: {exc!r}")
        record: dict[str, Any] = data
        profile = CustomerProfile(
            crm=VENDOR,
            account_id=str(record.get("Id") or record_id),
            name=parse_text(record.get("Name")),
            tier=parse_text(record.get(names["tier"])),
            arr=parse_number(record.get(names["arr"])),
            health_score=parse_number(record.get(names["health_score"])),
            csm=parse_text(record.get(names["csm"])),
        )
        return CrmLookup(crm=VENDOR, account_id=record_id, status="found", profile=profile)

    @staticmethod
    def _failed(record_id: str, status: LookupStatus, reason: str) -> CrmLookup:
        return CrmLookup(crm=VENDOR, account_id=record_id, status=status, reason=reason[:300])
