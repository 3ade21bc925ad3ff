"""Jira Cloud REST v3 adapter: file a bug for an escalation, comment on it.

Wire format: vendor-apis.md section 4.1. Basic auth `email:api_token`; JSON bodies; rich text
(`description`, comment `body`) as Atlassian Document Format. Jira has no idempotency key, so
`create_bug` tags the issue with a label derived from the escalation key (`esc-<key>`) and
searches for it first (`GET /rest/api/3/search/jql`; the vendor subset spec has no search
operation): a retry after an ambiguous failure finds the issue instead of filing a second.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final
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

VENDOR: Final = "jira"
MAX_SUMMARY: Final = 255
MAX_LABEL: Final = 255
ISSUE_TYPE: Final = "Bug"
SEARCH_PATH: Final = "/rest/api/3/search/jql"


def escalation_label(escalation_key: str) -> str:
    """The label that marks the issue filed for `escalation_key`: `esc-<key>`, restricted to
    characters that need no escaping in JQL and no spaces; hashed if it would be too long."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", escalation_key.strip()).strip("-") or "unknown"
    label = f"esc-{cleaned}"
    if len(label) <= MAX_LABEL:
        return label
    digest = hashlib.sha256(escalation_key.encode("utf-8")).hexdigest()
    return f"{label[: MAX_LABEL - len(digest) - 1]}~{digest}"


def clean_label(label: str) -> str:
    """Jira labels cannot contain whitespace: replace runs of it with `-`."""
    return re.sub(r"\s+", "-", label.strip())[:MAX_LABEL]


def single_line_summary(summary: str) -> str:
    """A one-line summary of at most 255 characters (Jira rejects longer ones)."""
    line = " ".join(summary.split()) or "(no summary)"
    return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 1] + "\u2026"


def to_adf(text: str) -> dict[str, Any]:
    """Plain text as an ADF document: blank lines separate paragraphs, single newlines
    become hard breaks. Empty text gives one empty paragraph (ADF forbids empty text nodes)."""
    paragraphs: list[dict[str, Any]] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        inline: list[dict[str, Any]] = []
        for line in chunk.split("\n"):
            if not line.strip():
                continue
            if inline:
                inline.append({"type": "hardBreak"})
            inline.append({"type": "text", "text": line})
        if inline:
            paragraphs.append({"type": "paragraph", "content": inline})
    if not paragraphs:
        paragraphs.append({"type": "paragraph", "content": []})
    return {"type": "doc", "version": 1, "content": paragraphs}


def _jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class JiraAdapter:
    """Files bugs in JIRA_PROJECT_KEY. Live when JIRA_BASE_URL, JIRA_EMAIL and
    JIRA_API_TOKEN are all set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to Jira, False when they go to the outbox."""
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
        """File a Bug for the escalation, or return the one already filed for it.
        external_id is the issue key; detail["created"] says whether this call created it."""
        marker = escalation_label(escalation_key)
        all_labels: list[str] = []
        for label in [*labels, marker]:
            cleaned = clean_label(label)
            if cleaned and cleaned not in all_labels:
                all_labels.append(cleaned)
        fields: dict[str, Any] = {
            "project": {"key": self._settings.jira_project_key},
            "issuetype": {"name": ISSUE_TYPE},
            "summary": single_line_summary(summary),
            "description": to_adf(description),
            "labels": all_labels,
        }
        if priority.strip():
            fields["priority"] = {"name": priority.strip()}
        body: dict[str, Any] = {"fields": fields}
        operation = "create_bug"
        if not self.live:
            return await self._to_outbox(operation, idempotency_key, body)

        existing = await self._find_issue(marker)
        if existing is not None:
            return DeliveryReceipt(
                vendor=VENDOR,
                operation=operation,
                delivered=True,
                external_id=str(existing.get("key")),
                detail={"id": existing.get("id"), "created": False, "label": marker},
            )
        response = await send_request(
            VENDOR, self._client, "POST", self._url("/rest/api/3/issue"), json=body, **self._auth()
        )
        data = _json_object(response)
        key = data.get("key")
        if not isinstance(key, str) or not key:
            raise PermanentVendorError(
                VENDOR, f"create issue: no issue key in response: {response.text[:200]}"
            )
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=key,
            detail={
                "id": data.get("id"),
                "self": data.get("self"),
                "created": True,
                "label": marker,
            },
        )

    async def add_comment(
        self, *, issue_key: str, text: str, idempotency_key: str
    ) -> DeliveryReceipt:
        """Add a comment (ADF) to `issue_key`. external_id is the comment id."""
        body: dict[str, Any] = {"body": to_adf(text)}
        operation = "add_comment"
        if not self.live:
            return await self._to_outbox(operation, idempotency_key, body)
        path = f"/rest/api/3/issue/{quote(issue_key, safe='')}/comment"
        response = await send_request(
            VENDOR, self._client, "POST", self._url(path), json=body, **self._auth()
        )
        data = _json_object(response)
        comment_id = data.get("id")
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(comment_id) if comment_id is not None else None,
            detail={"issue_key": issue_key},
        )

    async def _find_issue(self, label: str) -> dict[str, Any] | None:
        jql = (
            f"project = {_jql_string(self._settings.jira_project_key)} "
            f"AND labels = {_jql_string(label)} ORDER BY created ASC"
        )
        response = await send_request(
            VENDOR,
            self._client,
            "GET",
            self._url(SEARCH_PATH),
            params={"jql": jql, "fields": "summary,labels", "maxResults": "1"},
            **self._auth(),
        )
        issues = _json_object(response).get("issues")
        if isinstance(issues, list):
            for issue in issues:
                if isinstance(issue, dict) and issue.get("key"):
                    return issue
        return None

    def _url(self, path: str) -> str:
        return f"{(self._settings.jira_base_url or '').rstrip('/')}{path}"

    def _auth(self) -> dict[str, Any]:
        return {
            "auth": httpx.BasicAuth(
                self._settings.jira_email or "", self._settings.jira_api_token or ""
            ),
            "headers": {"Accept": "application/json"},
        }

    async def _to_outbox(
        self, operation: str, idempotency_key: str, body: dict[str, Any]
    ) -> DeliveryReceipt:
        await self._outbox.write(
            OutboxMessage(
                vendor=VENDOR, operation=operation, idempotency_key=idempotency_key, payload=body
            )
        )
        return DeliveryReceipt(
            vendor=VENDOR, operation=operation, delivered=False, detail={"outbox": True}
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
