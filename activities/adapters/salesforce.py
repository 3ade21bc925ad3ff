"""Salesforce REST read adapter: an Account's tier, ARR, health score and CSM
(vendor-apis.md section 7.2).

`GET {SALESFORCE_INSTANCE_URL}/services/data/{SALESFORCE_API_VERSION}/sobjects/Account/{Id}
?fields=Name,<tier>,<arr>,<health>,<csm>` with `Authorization: Bearer <OAuth access token>`.
Tier, ARR, health and CSM are org-specific custom fields (`__c`), so their API names are
settings (SALESFORCE_TIER_FIELD, SALESFORCE_ARR_FIELD, SALESFORCE_HEALTH_FIELD,
SALESFORCE_CSM_FIELD). Currency fields come as JSON numbers. By the requester's email domain:
`GET .../query?q=SELECT Id,<the same fields> FROM Account WHERE Website = '<domain>' LIMIT 1`;
only a valid hostname is ever put in the literal (and it is SOQL-escaped all the same), no
record is `not_found`. The match is exact: an Account whose Website holds
`https://www.globex.com` is not found by `globex.com`.

Errors are a JSON array `[{"message", "errorCode", "fields"}]`: 404 NOT_FOUND is `not_found`;
403 REQUEST_LIMIT_EXCEEDED (the org's 24 h API quota) is `unavailable`; 401
INVALID_SESSION_ID (expired token: refreshing it is the deployment's job) and 400
INVALID_FIELD (a configured field that does not exist) are `refused`. The lookup never
raises: see activities/adapters/crm.py.
"""

from __future__ import annotations

import asyncio
import re
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

VENDOR: Final = "salesforce"
SALESFORCE_ID: Final = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
SOQL_FIELD: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


class SalesforceAdapter(CachedCrmReader):
    """Reads Accounts from Salesforce. Live when SALESFORCE_INSTANCE_URL and
    SALESFORCE_TOKEN are set."""

    vendor: ClassVar[str] = VENDOR
    id_refusal: ClassVar[str] = "not a Salesforce record id"
    not_configured_reason: ClassVar[str] = (
        "SALESFORCE_INSTANCE_URL and SALESFORCE_TOKEN are not set"
    )

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

    def is_account_id(self, account_id: str) -> bool:
        """Salesforce record ids are 15 or 18 alphanumeric characters."""
        return bool(SALESFORCE_ID.match(account_id.strip()))

    def _names(self) -> dict[str, str]:
        settings = self._settings
        return {
            "tier": settings.salesforce_tier_field,
            "arr": settings.salesforce_arr_field,
            "health_score": settings.salesforce_health_field,
            "csm": settings.salesforce_csm_field,
        }

    async def _fetch(self, asked: str, key: LookupKey) -> CrmLookup:
        settings = self._settings
        names = self._names()
        wanted = list(dict.fromkeys(["Name", *names.values()]))
        timeout = settings.crm_timeout_seconds
        version = settings.salesforce_api_version.strip("/")
        base = f"{(settings.salesforce_instance_url or '').rstrip('/')}/services/data/{version}"
        if key == "id":
            url = f"{base}/sobjects/Account/{quote(asked, safe='')}"
            params = {"fields": ",".join(wanted)}
        else:
            bad = [name for name in wanted if not SOQL_FIELD.match(name)]
            if bad:  # configured names go into the query text: identifiers only
                return self._failed(asked, "refused", f"not a SOQL field name: {bad[0]!r}", key)
            fields = ",".join(dict.fromkeys(["Id", *wanted]))
            url = f"{base}/query"
            params = {
                "q": f"SELECT {fields} FROM Account WHERE Website = {soql_literal(asked)} LIMIT 1"
            }
        try:
            async with asyncio.timeout(timeout):
                response = await send_request(
                    VENDOR,
                    self._client,
                    "GET",
                    url,
                    params=params,
                    headers={
                        "Authorization": f"Bearer {settings.salesforce_token}",
                        "Accept": "application/json",
                    },
                    timeout=timeout,
                )
            data = json_object(response)
        except TimeoutError:
            return self._failed(asked, "unavailable", f"timeout after {timeout} s", key)
        except RetryableVendorError as exc:
            return self._failed(asked, "unavailable", exc.message, key)
        except PermanentVendorError as exc:
            if exc.status == 404 and key == "id":
                return self._failed(asked, "not_found", "no such Account", key)
            if "REQUEST_LIMIT_EXCEEDED" in exc.message:
                return self._failed(asked, "unavailable", exc.message, key)
            return self._failed(asked, "refused", exc.message, key)
        except Exception as exc:  # a CRM must never break an escalation
            return self._failed(asked, "unavailable", f"unexpected error: {exc!r}", key)
        record: dict[str, Any] = data
        if key == "domain":
            records = data.get("records")
            first = records[0] if isinstance(records, list) and records else None
            if not isinstance(first, dict):
                return self._failed(asked, "not_found", "no Account with this Website", key)
            record = first
        profile = CustomerProfile(
            crm=VENDOR,
            account_id=str(record.get("Id") or asked),
            name=parse_text(record.get("Name")),
            tier=parse_text(record.get(names["tier"])),
            arr=parse_number(record.get(names["arr"])),
            health_score=parse_number(record.get(names["health_score"])),
            csm=parse_text(record.get(names["csm"])),
        )
        return CrmLookup(
            crm=VENDOR, account_id=asked, status="found", lookup_key=key, profile=profile
        )


def soql_literal(value: str) -> str:
    """`value` as a SOQL string literal: quoted, with backslash and quote escaped (the SOQL
    escape sequences). Callers pass validated hostnames only, so this is the second guard."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
