"""ZendeskGuideAdapter (knowledge-base drafts) against the local Zendesk server."""

from __future__ import annotations

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.zendesk_guide import ZendeskGuideAdapter, markdown_to_html
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers_more import ZendeskServer

MARKDOWN = "## Symptom\n\nCheckout returns 502.\n\n## Fix\n\n- roll back\n- <script>x</script>"


def adapter(
    server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> ZendeskGuideAdapter:
    return ZendeskGuideAdapter(live_settings(zendesk=server), http, outbox)


async def draft(guide: ZendeskGuideAdapter) -> DeliveryReceipt:
    return await guide.create_draft(
        title="Checkout 502 after deploy",
        markdown=MARKDOWN,
        labels=["checkout", "escalation ZD-4711"],
        idempotency_key="kb:escalation-ZD-4711",
    )


async def test_creates_a_draft_article(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await adapter(zendesk_server, http, outbox).create_draft(
        title="Checkout 502 after deploy",
        markdown=MARKDOWN,
        labels=["checkout", "escalation ZD-4711"],
        idempotency_key="k",
    )

    request = zendesk_server.last_request()
    assert request.path == "/api/v2/help_center/sections/360000000001/articles"
    article = request.json["article"]
    assert article["draft"] is True and request.json["notify_subscribers"] is False
    assert article["permission_group_id"] == 7001 and article["user_segment_id"] is None
    assert article["label_names"] == ["checkout", "escalation ZD-4711"]
    assert "<h2>Fix</h2>" in article["body"] and "<script>" not in article["body"]
    created = zendesk_server.articles[int(str(receipt.external_id))]
    assert created["draft"] is True
    assert receipt.detail["html_url"] == created["html_url"]
    assert zendesk_server.schema_violations == []


async def test_unknown_section_is_permanent(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(zendesk=zendesk_server, zendesk_guide_section_id="1")
    with pytest.raises(PermanentVendorError) as caught:
        await draft(ZendeskGuideAdapter(settings, http, outbox))
    assert caught.value.status == 404


async def test_429_is_retryable_with_retry_after(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    zendesk_server.fail_next("/api/v2/help_center/*", status=429, headers={"Retry-After": "30"})
    with pytest.raises(RetryableVendorError) as caught:
        await draft(adapter(zendesk_server, http, outbox))
    assert caught.value.retry_after == 30.0


async def test_5xx_is_retryable(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    zendesk_server.fail_next("/api/v2/help_center/*", status=500)
    with pytest.raises(RetryableVendorError):
        await draft(adapter(zendesk_server, http, outbox))
    assert zendesk_server.articles == {}


async def test_outbox_holds_the_markdown_export(
    zendesk_server: ZendeskServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    # Zendesk credentials alone are not enough: Guide needs a section and permission group.
    settings = live_settings(zendesk=zendesk_server, zendesk_guide_section_id=None)
    guide = ZendeskGuideAdapter(settings, http, outbox)
    assert not guide.live and not ZendeskGuideAdapter(offline_settings(), http, outbox).live
    receipt = await draft(guide)
    assert receipt.delivered is False
    message = outbox.only()
    assert (message.vendor, message.operation) == ("zendesk_guide", "create_draft")
    assert message.payload["markdown"] == MARKDOWN
    assert message.payload["article"]["body"] == markdown_to_html(MARKDOWN)
    assert zendesk_server.requests == []
