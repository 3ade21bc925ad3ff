"""GitHub Issues adapter: file a bug in GITHUB_REPOSITORY (vendor-apis.md section 4.3; schema
`github/issues-create.subset.openapi.json`).

`POST {GITHUB_API_URL}/repos/{owner}/{repo}/issues` with `Authorization: Bearer <token>`,
`Accept: application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`.

GitHub has no idempotency key, so `create_bug` labels the issue with a marker derived from the
escalation key (`esc-<key>`, at most 50 characters as GitHub requires; hashed when longer) and
first lists the repository's issues with that label (`GET /repos/{owner}/{repo}/issues?labels=
<marker>&state=all`: the list endpoint, unlike search, is not eventually consistent), so a
retry after an ambiguous failure finds the issue instead of filing a second. GitHub silently
drops labels when the token lacks push access: the token needs Issues write permission.
GitHub has no priority field: the priority becomes a `priority: <name>` label.

Errors: 429, 5xx, and 403 with `x-ratelimit-remaining: 0` or a rate-limit message (primary and
secondary limits) are retryable, the delay from Retry-After or else `x-ratelimit-reset`
(epoch seconds); 400/401/403/404/410 (issues disabled)/422 are permanent.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final
from urllib.parse import quote

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxSink,
    PermanentVendorError,
    RetryableVendorError,
    parse_retry_after,
    raise_for_vendor_status,
)
from activities.adapters.common import (
    json_body,
    json_object,
    seconds_until_epoch,
    to_outbox,
    truncate,
)
from escalation.settings import Settings

VENDOR: Final = "github"
API_VERSION: Final = "2022-11-28"
MAX_LABEL: Final = 50
MAX_TITLE: Final = 256
MAX_BODY: Final = 65_536


def github_escalation_label(escalation_key: str) -> str:
    """The marker label of the issue filed for `escalation_key` (at most 50 characters)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", escalation_key.strip()).strip("-") or "unknown"
    label = f"esc-{cleaned}"
    if len(label) <= MAX_LABEL:
        return label
    digest = hashlib.sha256(escalation_key.encode("utf-8")).hexdigest()[:12]
    return f"{label[: MAX_LABEL - len(digest) - 1]}~{digest}"


class GitHubIssuesAdapter:
    """Files bugs as GitHub issues. Live when GITHUB_TOKEN and GITHUB_REPOSITORY are set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to GitHub, False when they go to the outbox."""
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
        """File the issue, or return the one already filed for `escalation_key`.
        external_id is `#<number>`; detail["url"] the issue's html_url."""
        marker = github_escalation_label(escalation_key)
        all_labels: list[str] = []
        wanted = [*labels, f"priority: {priority.strip()}" if priority.strip() else "", marker]
        for label in wanted:
            cleaned = truncate(" ".join(label.split()), MAX_LABEL)
            if cleaned and cleaned not in all_labels:
                all_labels.append(cleaned)
        body: dict[str, Any] = {
            "title": truncate(" ".join(summary.split()) or "(no summary)", MAX_TITLE),
            "body": truncate(description, MAX_BODY),
            "labels": all_labels,
        }
        operation = "create_bug"
        if not self.live:
            return await to_outbox(
                self._outbox,
                vendor=VENDOR,
                operation=operation,
                idempotency_key=idempotency_key,
                payload=body,
            )
        existing = await self._find(marker)
        if existing is not None:
            return self._receipt(existing, created=False, marker=marker)
        response = await self._send("POST", self._repo_path("/issues"), json=body)
        issue = json_object(response)
        if not isinstance(issue.get("number"), int):
            raise PermanentVendorError(VENDOR, f"create issue: no number in {response.text[:200]}")
        return self._receipt(issue, created=True, marker=marker)

    async def _find(self, marker: str) -> dict[str, Any] | None:
        response = await self._send(
            "GET",
            self._repo_path("/issues"),
            params={"labels": marker, "state": "all", "per_page": "10", "direction": "asc"},
        )
        listed = json_body(response)
        for item in listed if isinstance(listed, list) else []:
            # The issues list includes pull requests; they carry a `pull_request` key.
            if isinstance(item, dict) and "pull_request" not in item and item.get("number"):
                return item
        return None

    def _receipt(self, issue: dict[str, Any], *, created: bool, marker: str) -> DeliveryReceipt:
        return DeliveryReceipt(
            vendor=VENDOR,
            operation="create_bug",
            delivered=True,
            external_id=f"#{issue.get('number')}",
            detail={
                "id": issue.get("id"),
                "number": issue.get("number"),
                "url": issue.get("html_url"),
                "created": created,
                "label": marker,
            },
        )

    def _repo_path(self, suffix: str) -> str:
        owner, _, repo = (self._settings.github_repository or "/").partition("/")
        return f"/repos/{quote(owner, safe='')}/{quote(repo, safe='')}{suffix}"

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self._settings.github_api_url.rstrip('/')}{path}"
        try:
            response = await self._client.request(
                method,
                url,
                headers={
                    "Authorization": f"Bearer {self._settings.github_token}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": API_VERSION,
                },
                **kwargs,
            )
        except httpx.TransportError as exc:
            raise RetryableVendorError(VENDOR, f"network error: {exc!r}") from exc
        if response.status_code == 403 and _rate_limited(response):
            raise RetryableVendorError(
                VENDOR,
                f"HTTP 403 (rate limited): {response.text[:300]}",
                status=403,
                retry_after=_rate_limit_delay(response),
            )
        try:
            raise_for_vendor_status(VENDOR, response)
        except RetryableVendorError as exc:
            if exc.retry_after is None:
                exc.retry_after = _rate_limit_delay(response)
            raise
        return response


def _rate_limited(response: httpx.Response) -> bool:
    if response.headers.get("x-ratelimit-remaining") == "0":
        return True
    if response.headers.get("retry-after"):
        return True
    message = str(json_object(response).get("message") or "").lower()
    return "rate limit" in message


def _rate_limit_delay(response: httpx.Response) -> float | None:
    explicit = parse_retry_after(response.headers.get("retry-after"))
    if explicit is not None:
        return explicit
    return seconds_until_epoch(response.headers.get("x-ratelimit-reset"))
