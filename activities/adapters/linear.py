"""Linear GraphQL adapter: file a bug with `issueCreate` (vendor-apis.md section 4.2; schema
`linear/issueCreate.subset.graphql`).

`POST LINEAR_API_URL` (`https://api.linear.app/graphql`) with `{"query", "variables"}` and
`Authorization: <personal API key>` (no `Bearer` prefix; an OAuth token is sent as given when
it already starts with `Bearer `).

Idempotency: the issue `id` is supplied by us, derived from the idempotency key (SHA-256 of the
key shaped as a UUID version 4, since Linear asks for v4 format), so a retry sends the same id
and cannot create a second issue. When `issueCreate` reports errors (a retry after an
ambiguous failure makes it refuse the taken id), the adapter looks the id up
(`issue(id:)`, outside the vendor subset) and returns the existing issue with
`detail["created"] = False`.

GraphQL errors arrive in `errors[]`, also with HTTP 200: they are checked on every response.
`RATELIMITED` (any status), 429 and 5xx are retryable (the delay from Retry-After, else
`X-RateLimit-Requests-Reset`, epoch milliseconds); authentication and validation errors are
permanent. Linear labels are ids, not names: the escalation's label names are listed in the
description instead.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any, Final

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxSink,
    PermanentVendorError,
    RetryableVendorError,
    parse_retry_after,
)
from activities.adapters.common import json_body, to_outbox, truncate
from activities.adapters.tracker import priority_rank
from escalation.settings import Settings

VENDOR: Final = "linear"
MAX_TITLE: Final = 255

ISSUE_CREATE: Final = (
    "mutation EscalationIssueCreate($input: IssueCreateInput!) { "
    "issueCreate(input: $input) { success lastSyncId issue { id identifier url } } }"
)
ISSUE_BY_ID: Final = "query EscalationIssue($id: String!) { issue(id: $id) { id identifier url } }"


def linear_issue_id(idempotency_key: str) -> str:
    """A deterministic UUID (version 4 format, RFC 4122 variant) for an idempotency key."""
    digest = hashlib.sha256(f"escalation-routing:{idempotency_key}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def linear_priority(priority: str) -> int:
    """Linear's 0 (none), 1 (Urgent) .. 4 (Low) from P0..P3 or a Jira priority name."""
    return priority_rank(priority) or 0


class LinearAdapter:
    """Files bugs in LINEAR_TEAM_ID. Live when LINEAR_API_KEY and LINEAR_TEAM_ID are set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to Linear, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def create_bug(
        self,
        *,
        escalation_key: str,
        summary: str,
        description: str,
        priority: str,
        labels: list[str],
        idempotency_key: str,
    ) -> DeliveryReceipt:
        """Create the issue (or return the one this idempotency key already created).
        external_id is the identifier (ENG-123); detail["id"] the issue UUID."""
        issue_id = linear_issue_id(idempotency_key)
        text = description.strip()
        footer = [f"Escalation: `{escalation_key}`"]
        if labels:
            footer.append("Labels: " + ", ".join(label.strip() for label in labels if label))
        issue_input: dict[str, Any] = {
            "id": issue_id,
            "teamId": self._settings.linear_team_id or "",
            "title": truncate(" ".join(summary.split()) or "(no summary)", MAX_TITLE),
            "description": (text + "\n\n" if text else "") + "\n".join(footer),
            "priority": linear_priority(priority),
        }
        request: dict[str, Any] = {"query": ISSUE_CREATE, "variables": {"input": issue_input}}
        operation = "create_bug"
        if not self.live:
            return await to_outbox(
                self._outbox,
                vendor=VENDOR,
                operation=operation,
                idempotency_key=idempotency_key,
                payload=request,
                external_id=issue_id,
            )
        data, errors = await self._graphql(request)
        if errors:
            existing = await self._find(issue_id)
            if existing is not None:
                return self._receipt(existing, created=False)
            raise PermanentVendorError(VENDOR, f"issueCreate: {_messages(errors)}")
        payload = data.get("issueCreate") if isinstance(data, dict) else None
        issue = payload.get("issue") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or payload.get("success") is not True:
            raise PermanentVendorError(VENDOR, f"issueCreate did not succeed: {payload!r}")
        if not isinstance(issue, dict):
            issue = {"id": issue_id}
        return self._receipt(issue, created=True)

    async def _find(self, issue_id: str) -> dict[str, Any] | None:
        data, errors = await self._graphql({"query": ISSUE_BY_ID, "variables": {"id": issue_id}})
        issue = data.get("issue") if isinstance(data, dict) else None
        if errors or not isinstance(issue, dict) or not issue.get("id"):
            return None
        return issue

    def _receipt(self, issue: dict[str, Any], *, created: bool) -> DeliveryReceipt:
        identifier = issue.get("identifier") or issue.get("id")
        return DeliveryReceipt(
            vendor=VENDOR,
            operation="create_bug",
            delivered=True,
            external_id=str(identifier) if identifier else None,
            detail={"id": issue.get("id"), "url": issue.get("url"), "created": created},
        )

    async def _graphql(self, request: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
        """One GraphQL call: (data, errors); raises for transport, HTTP and rate limits."""
        key = self._settings.linear_api_key or ""
        try:
            response = await self._client.post(
                self._settings.linear_api_url,
                json=request,
                headers={"Authorization": key, "Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise RetryableVendorError(VENDOR, f"network error: {exc!r}") from exc
        body = json_body(response)
        errors = _errors(body)
        status = response.status_code
        if status == 429 or status >= 500 or any(_code(e) == "RATELIMITED" for e in errors):
            raise RetryableVendorError(
                VENDOR,
                f"HTTP {status}: {_messages(errors) or response.text[:300]}",
                status=status,
                retry_after=_retry_after(response),
            )
        if status in (401, 403) or any(_code(e) == "AUTHENTICATION_ERROR" for e in errors):
            raise PermanentVendorError(
                VENDOR, f"HTTP {status}: {_messages(errors) or 'authentication failed'}", status
            )
        if not 200 <= status < 300 and not errors:
            raise PermanentVendorError(VENDOR, f"HTTP {status}: {response.text[:300]}", status)
        data = body.get("data") if isinstance(body, dict) else None
        return data, errors


def _errors(body: Any) -> list[dict[str, Any]]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _code(error: dict[str, Any]) -> str:
    extensions = error.get("extensions")
    if not isinstance(extensions, dict):
        return ""
    return str(extensions.get("code") or "").upper()


def _messages(errors: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for error in errors:
        extensions = error.get("extensions")
        friendly = None
        if isinstance(extensions, dict):
            friendly = extensions.get("userPresentableMessage")
        out.append(str(friendly or error.get("message") or error))
    return "; ".join(out)


def _retry_after(response: httpx.Response) -> float | None:
    explicit = parse_retry_after(response.headers.get("Retry-After"))
    if explicit is not None:
        return explicit
    reset = response.headers.get("X-RateLimit-Requests-Reset")
    try:
        value = float(reset) if reset else None
    except ValueError:
        value = None
    if value is None:
        return None
    if value > 1e11:  # epoch milliseconds
        value /= 1000.0
    return max(0.0, value - time.time())
