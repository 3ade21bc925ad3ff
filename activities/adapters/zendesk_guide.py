"""Zendesk Guide (Help Center) adapter: export a knowledge-base article as a *draft*.

`POST {ZENDESK_BASE_URL}/api/v2/help_center/sections/{ZENDESK_GUIDE_SECTION_ID}/articles` with
`{"article": {"title", "body" (HTML), "locale", "draft": true, "permission_group_id",
"user_segment_id": null, "label_names"}}` and `notify_subscribers: false`, Basic
`<email>/token:<api_token>` (the Zendesk credentials). Zendesk requires `permission_group_id`
(who may edit) and `user_segment_id` (null: visible to everyone once published) on create
[doc]. The article stays a draft: a person reviews and publishes it in Guide.

The knowledge capture writes Markdown; it is rendered to HTML here with markdown-it-py
(CommonMark, raw HTML disabled, so ticket text cannot inject markup). Live when the Zendesk
adapter is live and ZENDESK_GUIDE_SECTION_ID and ZENDESK_GUIDE_PERMISSION_GROUP_ID are set;
otherwise the draft (Markdown and HTML) goes to the outbox, which is the Markdown export.
No idempotency key: a retry after an ambiguous failure can create a second draft, which an
editor deletes; drafts are never visible to customers.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import quote

import httpx
from markdown_it import MarkdownIt

from activities.adapters.base import DeliveryReceipt, OutboxSink, PermanentVendorError, send_request
from activities.adapters.common import json_object, to_outbox, truncate
from activities.adapters.zendesk import zendesk_root
from escalation.settings import Settings

VENDOR: Final = "zendesk_guide"
MAX_TITLE: Final = 255
MAX_LABEL: Final = 100


def markdown_to_html(markdown: str) -> str:
    """CommonMark to HTML with raw HTML disabled (it is escaped, not passed through)."""
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    return str(renderer.render(markdown))


class ZendeskGuideAdapter:
    """Creates draft articles in one Guide section. Live when ZENDESK_BASE_URL,
    ZENDESK_EMAIL, ZENDESK_API_TOKEN, ZENDESK_GUIDE_SECTION_ID and
    ZENDESK_GUIDE_PERMISSION_GROUP_ID are set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when drafts really go to Zendesk Guide, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def create_draft(
        self,
        *,
        title: str,
        markdown: str,
        labels: list[str],
        idempotency_key: str,
    ) -> DeliveryReceipt:
        """Create a draft article. external_id is the article id; detail["html_url"] its
        link in Guide."""
        if not title.strip():
            raise PermanentVendorError(VENDOR, "create_draft: title must not be empty")
        label_names: list[str] = []
        for label in labels:
            cleaned = truncate(re.sub(r"\s+", " ", label.strip()), MAX_LABEL)
            if cleaned and cleaned not in label_names:
                label_names.append(cleaned)
        article: dict[str, Any] = {
            "title": truncate(" ".join(title.split()), MAX_TITLE),
            "body": markdown_to_html(markdown),
            "locale": self._settings.zendesk_guide_locale,
            "draft": True,
            "permission_group_id": self._settings.zendesk_guide_permission_group_id,
            "user_segment_id": None,
            "label_names": label_names,
        }
        body: dict[str, Any] = {"article": article, "notify_subscribers": False}
        operation = "create_draft"
        if not self.live:
            return await to_outbox(
                self._outbox,
                vendor=VENDOR,
                operation=operation,
                idempotency_key=idempotency_key,
                payload={**body, "markdown": markdown},
            )
        section = quote(self._settings.zendesk_guide_section_id or "", safe="")
        root = zendesk_root(self._settings.zendesk_base_url or "")
        response = await send_request(
            VENDOR,
            self._client,
            "POST",
            f"{root}/api/v2/help_center/sections/{section}/articles",
            json=body,
            auth=httpx.BasicAuth(
                f"{self._settings.zendesk_email}/token", self._settings.zendesk_api_token or ""
            ),
            headers={"Accept": "application/json"},
        )
        created = json_object(response).get("article")
        result = created if isinstance(created, dict) else {}
        article_id = result.get("id")
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(article_id) if article_id is not None else None,
            detail={"html_url": result.get("html_url"), "draft": result.get("draft")},
        )
