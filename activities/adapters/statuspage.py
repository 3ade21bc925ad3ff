"""Atlassian Statuspage adapter: open and resolve incidents on the public status page.

Wire format: vendor-apis.md section 5.3. `Authorization: OAuth <api key>`, JSON bodies wrapped
in `incident`, base `{STATUSPAGE_API_URL}/pages/{STATUSPAGE_PAGE_ID}`. Statuspage has no
idempotency key, so `create_incident` first lists unresolved incidents and reuses the one whose
metadata carries the same escalation id (`metadata["escalation"]["id"]`; without it, the same
metadata as a whole). Rate limit: 1 request/s per token, answered with 420 or 429 (retryable).

Component impact: `incident.components` maps component id -> status (`operational`,
`under_maintenance`, `degraded_performance`, `partial_outage`, `major_outage`). By default every
id in `component_ids` gets the status matching the incident's impact; `components=` sets
statuses per component explicitly (ids there are added to `component_ids`);
`update_components` changes them on an open incident, and `resolve_incident(components=...)`
can put them back to `operational` with the final update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, get_args
from urllib.parse import quote

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxMessage,
    OutboxSink,
    PermanentVendorError,
    send_request,
)
from escalation.settings import Settings

VENDOR: Final = "statuspage"
MAX_NAME: Final = 255
MAX_BODY: Final = 25_000

Impact = Literal["none", "minor", "major", "critical"]
ComponentStatus = Literal[
    "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"
]
COMPONENT_STATUSES: Final[frozenset[str]] = frozenset(get_args(ComponentStatus))

# The component status that matches an incident's impact.
COMPONENT_STATUS: Final[dict[str, str]] = {
    "none": "operational",
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
}


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _component_map(components: Mapping[str, str]) -> dict[str, str]:
    """Check a component id -> status map locally (PermanentVendorError when invalid)."""
    checked: dict[str, str] = {}
    for component_id, status in components.items():
        if not component_id.strip():
            raise PermanentVendorError(VENDOR, "component id must not be empty")
        if status not in COMPONENT_STATUSES:
            allowed = ", ".join(sorted(COMPONENT_STATUSES))
            raise PermanentVendorError(
                VENDOR, f"component {component_id!r}: status {status!r} is not one of {allowed}"
            )
        checked[component_id] = status
    return checked


def _same_escalation(incident_metadata: object, wanted: dict[str, dict[str, str]]) -> bool:
    if not isinstance(incident_metadata, dict) or not wanted:
        return False
    wanted_id = wanted.get("escalation", {}).get("id")
    if wanted_id:
        found = incident_metadata.get("escalation")
        return isinstance(found, dict) and str(found.get("id")) == wanted_id
    return incident_metadata == wanted


class StatuspageAdapter:
    """Manages incidents on STATUSPAGE_PAGE_ID. Live when STATUSPAGE_API_KEY and
    STATUSPAGE_PAGE_ID are set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to Statuspage, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def create_incident(
        self,
        *,
        name: str,
        body: str,
        impact: Impact,
        component_ids: list[str],
        metadata: dict[str, dict[str, str]],
        idempotency_key: str,
        components: Mapping[str, ComponentStatus] | None = None,
    ) -> DeliveryReceipt:
        """Open a realtime incident (status `investigating`), or return the unresolved one
        already opened for the same escalation. external_id is the incident id;
        detail["reused"] says whether it already existed. `components` sets the status of
        individual components (overriding the impact's default for `component_ids`)."""
        explicit = _component_map(components or {})
        incident: dict[str, Any] = {
            "name": _truncate(name.strip() or "Service incident", MAX_NAME),
            "status": "investigating",
            "impact_override": impact,
            "body": _truncate(body, MAX_BODY),
            "deliver_notifications": True,
            "metadata": metadata,
        }
        all_ids = list(dict.fromkeys([*component_ids, *explicit]))
        if all_ids:
            incident["component_ids"] = all_ids
            incident["components"] = {
                cid: explicit.get(cid, COMPONENT_STATUS[impact]) for cid in all_ids
            }
        payload: dict[str, Any] = {"incident": incident}
        operation = "create_incident"
        if not self.live:
            return await self._to_outbox(operation, idempotency_key, payload)

        response = await send_request(
            VENDOR, self._client, "GET", self._url("/incidents/unresolved"), **self._auth()
        )
        listed = _json(response)
        for existing in listed if isinstance(listed, list) else []:
            if isinstance(existing, dict) and _same_escalation(existing.get("metadata"), metadata):
                return self._receipt(operation, existing, reused=True)

        response = await send_request(
            VENDOR,
            self._client,
            "POST",
            self._url("/incidents"),
            json=payload,
            **self._auth(),
        )
        created = _json(response)
        return self._receipt(operation, created if isinstance(created, dict) else {}, reused=False)

    async def resolve_incident(
        self,
        *,
        incident_id: str,
        body: str,
        idempotency_key: str,
        components: Mapping[str, ComponentStatus] | None = None,
    ) -> DeliveryReceipt:
        """Mark the incident resolved, posting `body` as the final update (and, with
        `components`, setting those components' statuses, typically `operational`)."""
        payload: dict[str, Any] = {
            "incident": {"status": "resolved", "body": _truncate(body, MAX_BODY)}
        }
        if components:
            checked = _component_map(components)
            payload["incident"]["component_ids"] = list(checked)
            payload["incident"]["components"] = checked
        operation = "resolve_incident"
        return await self._patch(operation, incident_id, payload, idempotency_key)

    async def update_components(
        self,
        *,
        incident_id: str,
        components: Mapping[str, ComponentStatus],
        idempotency_key: str,
        body: str | None = None,
    ) -> DeliveryReceipt:
        """Change component statuses on an open incident (with `body`, also post an update)."""
        checked = _component_map(components)
        if not checked:
            raise PermanentVendorError(VENDOR, "update_components: no components given")
        incident: dict[str, Any] = {"component_ids": list(checked), "components": checked}
        if body:
            incident["body"] = _truncate(body, MAX_BODY)
        return await self._patch(
            "update_components", incident_id, {"incident": incident}, idempotency_key
        )

    async def _patch(
        self, operation: str, incident_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> DeliveryReceipt:
        if not self.live:
            return await self._to_outbox(operation, idempotency_key, payload)
        response = await send_request(
            VENDOR,
            self._client,
            "PATCH",
            self._url(f"/incidents/{quote(incident_id, safe='')}"),
            json=payload,
            **self._auth(),
        )
        data = _json(response)
        result = data if isinstance(data, dict) else {}
        receipt = self._receipt(operation, result, reused=False)
        if receipt.external_id is None:
            receipt.external_id = incident_id
        return receipt

    def _receipt(
        self, operation: str, incident: dict[str, Any], *, reused: bool
    ) -> DeliveryReceipt:
        incident_id = incident.get("id")
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(incident_id) if incident_id else None,
            detail={
                "reused": reused,
                "status": incident.get("status"),
                "shortlink": incident.get("shortlink"),
            },
        )

    def _url(self, path: str) -> str:
        page = quote(self._settings.statuspage_page_id or "", safe="")
        return f"{self._settings.statuspage_api_url.rstrip('/')}/pages/{page}{path}"

    def _auth(self) -> dict[str, Any]:
        return {
            "headers": {
                "Authorization": f"OAuth {self._settings.statuspage_api_key}",
                "Accept": "application/json",
            }
        }

    async def _to_outbox(
        self, operation: str, idempotency_key: str, payload: dict[str, Any]
    ) -> DeliveryReceipt:
        await self._outbox.write(
            OutboxMessage(
                vendor=VENDOR, operation=operation, idempotency_key=idempotency_key, payload=payload
            )
        )
        return DeliveryReceipt(
            vendor=VENDOR, operation=operation, delivered=False, detail={"outbox": True}
        )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
