"""Microsoft Teams channel notifications through a webhook.

Body format (decision): an **Adaptive Card** (version 1.4) in a message envelope,
`{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"contentUrl": null, "content": <AdaptiveCard>}]}`. That one shape is accepted by both kinds of
Teams webhook: the *Workflows* webhook ("Post to a channel when a webhook request is received",
Power Automate), which replaces the retiring Office 365 connectors, and the legacy *incoming
webhook* connector. The legacy MessageCard format is not used: Workflows does not render it.

`POST TEAMS_WEBHOOK_URL` with no auth header: the URL carries its own signature (`sig=`), so it
is the credential and never written to the outbox or logs. Success is 202 (Workflows, empty
body) or 200 with body `1` (legacy connector). The legacy connector also reports some failures
as HTTP 200 with a text body ("Webhook message delivery failed with error: Microsoft Teams
endpoint returned HTTP error 429 ..."): such a body is classified like the status it names.
429 (Retry-After honoured) and 5xx are retryable; other 4xx (400 bad payload, 404 webhook
deleted, 413 too large) are permanent. Messages are limited to about 28 KB, so text is capped.
Teams webhooks have no idempotency key: a retry after an ambiguous failure can post twice.
"""

from __future__ import annotations

import re
from typing import Any, Final

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxSink,
    PermanentVendorError,
    RetryableVendorError,
    send_request,
)
from activities.adapters.common import to_outbox, truncate
from escalation.settings import Settings

VENDOR: Final = "teams"
CARD_VERSION: Final = "1.4"
MAX_TEXT: Final = 12_000
MAX_TITLE: Final = 300
MAX_FACTS: Final = 20
_LEGACY_FAILURE = re.compile(r"HTTP error (\d{3})")


def adaptive_card_message(
    *,
    title: str,
    text: str,
    facts: dict[str, str] | None = None,
    link_url: str | None = None,
    link_title: str = "Open escalation",
) -> dict[str, Any]:
    """The webhook body: one Adaptive Card with a bold title, a text block, an optional fact
    set (e.g. priority, customer, on-call) and an optional "open" button."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": truncate(" ".join(title.split()) or "Escalation", MAX_TITLE),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    ]
    if text.strip():
        body.append({"type": "TextBlock", "text": truncate(text.strip(), MAX_TEXT), "wrap": True})
    if facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": truncate(str(k), 100), "value": truncate(str(v), 500)}
                    for k, v in list(facts.items())[:MAX_FACTS]
                ],
            }
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if link_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": link_title, "url": link_url}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


class TeamsAdapter:
    """Posts Adaptive Cards to one Teams channel. Live when TEAMS_WEBHOOK_URL is set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when cards really go to Teams, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def post_card(
        self,
        *,
        title: str,
        text: str,
        idempotency_key: str,
        facts: dict[str, str] | None = None,
        link_url: str | None = None,
        webhook_url: str | None = None,
    ) -> DeliveryReceipt:
        """Post a card to TEAMS_WEBHOOK_URL, or to `webhook_url` (e.g. a team's channel from
        the policy) instead; either way only while the adapter is live (TEAMS_WEBHOOK_URL
        set), else the card goes to the outbox. Teams returns no message id, so external_id
        stays None."""
        message = adaptive_card_message(title=title, text=text, facts=facts, link_url=link_url)
        operation = "post_card"
        url = webhook_url or self._settings.teams_webhook_url
        if not self.live or not url:
            return await to_outbox(
                self._outbox,
                vendor=VENDOR,
                operation=operation,
                idempotency_key=idempotency_key,
                payload=message,
            )
        response = await send_request(
            VENDOR,
            self._client,
            "POST",
            url,
            json=message,
            headers={"Accept": "application/json, text/plain"},
        )
        _raise_for_legacy_failure(response)
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            detail={"http_status": response.status_code},
        )


def _raise_for_legacy_failure(response: httpx.Response) -> None:
    """The legacy connector answers some failures with HTTP 200 and an error text."""
    text = response.text.strip()
    if response.status_code != 200 or text in ("", "1") or "fail" not in text.lower():
        return
    match = _LEGACY_FAILURE.search(text)
    status = int(match.group(1)) if match else None
    message = f"webhook delivery failed: {truncate(text, 300)}"
    if status is not None and (status == 429 or status >= 500):
        raise RetryableVendorError(VENDOR, message, status=status)
    raise PermanentVendorError(VENDOR, message, status=status)
