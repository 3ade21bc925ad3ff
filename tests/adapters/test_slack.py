"""SlackAdapter and escalation_message_blocks against the local Slack Web API server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from activities.adapters.base import PermanentVendorError, RetryableVendorError
from activities.adapters.slack import (
    SlackAdapter,
    SlackApiError,
    escalation_message_blocks,
    normalize_channel_name,
)
from tests.adapters.conftest import MemoryOutbox
from tests.vendors import schemas
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers import SlackServer

validate_blocks = schemas.json_schema_validator(schemas.SLACK_JSON_BODIES, "blocks")


def adapter(server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox) -> SlackAdapter:
    return SlackAdapter(live_settings(slack=server), http, outbox)


def blocks(state: str = "open") -> list[dict[str, Any]]:
    return escalation_message_blocks(
        ticket_id="T-1",
        headline="[P1] Checkout failing for ACME",
        body="Team *Payments* <@U0ALICE01>",
        state=state,  # type: ignore[arg-type]
    )


# -- Block Kit ---------------------------------------------------------------------------------


def test_open_message_has_ack_resolve_reassign_buttons() -> None:
    section, actions = blocks("open")
    assert section["type"] == "section"
    assert section["text"] == {
        "type": "mrkdwn",
        "text": "*[P1] Checkout failing for ACME*\nTeam *Payments* <@U0ALICE01>",
    }
    assert actions["type"] == "actions" and actions["block_id"] == "esc:T-1"
    buttons = actions["elements"]
    assert [b["action_id"] for b in buttons] == [
        "escalation.ack",
        "escalation.resolve",
        "escalation.reassign",
    ]
    assert {b["value"] for b in buttons} == {"T-1"}
    assert "confirm" in buttons[1] and buttons[1]["style"] == "danger"
    assert validate_blocks(blocks("open")) == []


def test_acknowledged_message_drops_ack_and_resolved_drops_actions() -> None:
    acknowledged = blocks("acknowledged")
    assert [b["action_id"] for b in acknowledged[1]["elements"]] == [
        "escalation.resolve",
        "escalation.reassign",
    ]
    assert "acknowledged" in acknowledged[0]["text"]["text"]
    resolved = blocks("resolved")
    assert [b["type"] for b in resolved] == ["section"]
    assert "resolved" in resolved[0]["text"]["text"]


def test_blocks_respect_block_kit_limits_for_huge_input() -> None:
    ticket_id = "T" * 600
    huge = escalation_message_blocks(
        ticket_id=ticket_id, headline="H" * 5000, body="<@U1> " * 2000, state="open"
    )
    assert validate_blocks(huge) == []
    assert len(huge[0]["text"]["text"]) <= 3000
    assert huge[0]["text"]["text"].startswith("*H") and "\u2026*\n" in huge[0]["text"]["text"]
    assert len(huge[1]["block_id"]) <= 255
    assert all(b["value"] == ticket_id for b in huge[1]["elements"])
    # Deterministic: the same ticket always gets the same block_id.
    again = escalation_message_blocks(ticket_id=ticket_id, headline="x", body="", state="open")
    assert again[1]["block_id"] == huge[1]["block_id"]
    with pytest.raises(ValueError):
        escalation_message_blocks(ticket_id="T" * 2001, headline="x", body="", state="open")


def test_headline_is_escaped_so_ticket_text_cannot_mention_everyone() -> None:
    section = escalation_message_blocks(
        ticket_id="T-9", headline="<!channel> a & b", body="", state="open"
    )[0]
    assert section["text"]["text"] == "*&lt;!channel&gt; a &amp; b*"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("War Room: ACME #123", "war-room-acme-123"),
        ("  Café—Outage!! ", "cafe-outage"),
        ("esc_T-1", "esc_t-1"),
        ("???", "escalation"),
        ("a" * 120, "a" * 80),
    ],
)
def test_channel_names_are_normalised(raw: str, expected: str) -> None:
    assert normalize_channel_name(raw) == expected


# -- Web API -----------------------------------------------------------------------------------


async def test_post_message_sends_json_with_bearer_token(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack = adapter(slack_server, http, outbox)
    receipt = await slack.post_message(
        channel="#incidents", text="[P1] Checkout failing", blocks=blocks(), idempotency_key="k1"
    )

    incidents = slack_server.channel("incidents")
    assert incidents is not None
    assert receipt.delivered and receipt.detail == {"channel": incidents.id}
    assert receipt.external_id == incidents.messages[0]["ts"]
    request = slack_server.last_request("/chat.postMessage")
    assert request.path == "/api/chat.postMessage"
    assert request.header("authorization") == f"Bearer {slack_server.token}"
    assert request.header("content-type") == "application/json; charset=utf-8"
    assert request.json == {
        "channel": "#incidents",
        "text": "[P1] Checkout failing",
        "blocks": blocks(),
    }
    assert slack_server.schema_violations == []


async def test_update_message_rewrites_text_and_blocks(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack = adapter(slack_server, http, outbox)
    posted = await slack.post_message(
        channel="#escalations", text="open", blocks=blocks(), idempotency_key="k1"
    )
    channel_id = str(posted.detail["channel"])
    assert posted.external_id is not None

    updated = await slack.update_message(
        channel=channel_id,
        ts=posted.external_id,
        text="Acknowledged by alice",
        blocks=blocks("acknowledged"),
        idempotency_key="k2",
    )

    assert updated.external_id == posted.external_id
    (message,) = slack_server.messages(channel_id)
    assert message["text"] == "Acknowledged by alice"
    assert message["blocks"] == blocks("acknowledged")
    assert slack_server.schema_violations == []


async def test_update_of_unknown_message_is_permanent(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    channel = slack_server.channel("incidents")
    assert channel is not None
    with pytest.raises(SlackApiError) as caught:
        await adapter(slack_server, http, outbox).update_message(
            channel=channel.id, ts="1700000000.000001", text="x", blocks=None, idempotency_key="k"
        )
    assert caught.value.error == "message_not_found"
    assert caught.value.status == 200  # Slack reports it with HTTP 200 and ok=false
    assert isinstance(caught.value, PermanentVendorError)


async def test_create_channel_normalises_the_name(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await adapter(slack_server, http, outbox).create_channel(
        name="War Room T-1", idempotency_key="k"
    )
    created = slack_server.channel("war-room-t-1")
    assert created is not None
    assert receipt.external_id == created.id and receipt.detail["name"] == "war-room-t-1"
    assert slack_server.last_request().json == {"name": "war-room-t-1"}
    assert slack_server.schema_violations == []


async def test_create_channel_suffixes_a_taken_name(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack_server.add_channel("war-room-t-1")
    slack_server.add_channel("war-room-t-1-2", archived=True)  # archived names are taken too

    receipt = await adapter(slack_server, http, outbox).create_channel(
        name="war-room-T-1", idempotency_key="k"
    )

    assert receipt.detail["name"] == "war-room-t-1-3"
    tried = [r.json["name"] for r in slack_server.requests_to("/conversations.create")]
    assert tried == ["war-room-t-1", "war-room-t-1-2", "war-room-t-1-3"]
    assert slack_server.schema_violations == []


async def test_create_channel_suffix_keeps_80_characters(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack_server.add_channel("a" * 80)
    receipt = await adapter(slack_server, http, outbox).create_channel(
        name="a" * 100, idempotency_key="k"
    )
    assert receipt.detail["name"] == "a" * 78 + "-2"
    assert slack_server.schema_violations == []


async def test_create_channel_gives_up_after_ten_taken_names(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack_server.fail_next_error("conversations.create", "name_taken", times=10)
    with pytest.raises(SlackApiError) as caught:
        await adapter(slack_server, http, outbox).create_channel(name="busy", idempotency_key="k")
    assert caught.value.error == "name_taken"
    assert len(slack_server.requests_to("/conversations.create")) == 10


async def test_invite_treats_already_in_channel_as_success(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack = adapter(slack_server, http, outbox)
    channel = slack_server.channel("incidents")
    assert channel is not None

    first = await slack.invite(
        channel_id=channel.id, user_ids=["U0ALICE01", "U0BOB0001"], idempotency_key="k"
    )
    again = await slack.invite(channel_id=channel.id, user_ids=["U0ALICE01"], idempotency_key="k")

    assert first.delivered and first.detail["already_in_channel"] is False
    assert again.delivered and again.detail["already_in_channel"] is True
    assert {"U0ALICE01", "U0BOB0001"} <= channel.members
    assert slack_server.requests_to("/conversations.invite")[0].json == {
        "channel": channel.id,
        "users": "U0ALICE01,U0BOB0001",
    }
    assert slack_server.schema_violations == []


async def test_ok_false_is_permanent(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    with pytest.raises(SlackApiError) as caught:
        await adapter(slack_server, http, outbox).post_message(
            channel="C999999999", text="x", blocks=None, idempotency_key="k"
        )
    assert caught.value.error == "channel_not_found"


async def test_wrong_token_is_permanent(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(slack=slack_server, slack_bot_token="xoxb-wrong")
    with pytest.raises(SlackApiError) as caught:
        await SlackAdapter(settings, http, outbox).post_message(
            channel="#incidents", text="x", blocks=None, idempotency_key="k"
        )
    assert caught.value.error == "invalid_auth"


async def test_http_4xx_is_permanent(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack_server.fail_next("/chat.postMessage", status=400)
    with pytest.raises(PermanentVendorError) as caught:
        await adapter(slack_server, http, outbox).post_message(
            channel="#incidents", text="x", blocks=None, idempotency_key="k"
        )
    assert caught.value.status == 400


async def test_429_is_retryable_with_retry_after(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack_server.fail_next("/chat.postMessage", status=429, headers={"Retry-After": "12"})
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(slack_server, http, outbox).post_message(
            channel="#incidents", text="x", blocks=None, idempotency_key="k"
        )
    assert caught.value.status == 429 and caught.value.retry_after == 12.0
    assert slack_server.messages("incidents") == []


@pytest.mark.parametrize("error", ["ratelimited", "rate_limited"])
async def test_rate_limit_reported_with_ok_false_is_retryable(
    error: str, slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack_server.fail_next_error("chat.update", error, headers={"Retry-After": "3"})
    channel = slack_server.channel("incidents")
    assert channel is not None
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(slack_server, http, outbox).update_message(
            channel=channel.id, ts="1.1", text="x", blocks=None, idempotency_key="k"
        )
    assert caught.value.retry_after == 3.0


async def test_5xx_is_retryable(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack_server.fail_next("/conversations.create", status=502)
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(slack_server, http, outbox).create_channel(name="x", idempotency_key="k")
    assert caught.value.status == 502


async def test_outbox_mode_without_bot_token(http: httpx.AsyncClient, outbox: MemoryOutbox) -> None:
    slack = SlackAdapter(offline_settings(), http, outbox)
    assert not slack.live

    posted = await slack.post_message(
        channel="#incidents", text="hello", blocks=blocks(), idempotency_key="esc:s0:slack"
    )
    await slack.update_message(
        channel="C1", ts="1.2", text="ack", blocks=None, idempotency_key="esc:update"
    )
    await slack.create_channel(name="War Room T-1", idempotency_key="esc:create")
    await slack.invite(channel_id="C1", user_ids=["U1", "U2"], idempotency_key="esc:invite")

    assert not posted.delivered and posted.external_id is None
    assert [(m.operation, m.idempotency_key, m.payload) for m in outbox.messages] == [
        (
            "post_message",
            "esc:s0:slack",
            {"channel": "#incidents", "text": "hello", "blocks": blocks()},
        ),
        ("update_message", "esc:update", {"channel": "C1", "ts": "1.2", "text": "ack"}),
        ("create_channel", "esc:create", {"name": "war-room-t-1"}),
        ("invite", "esc:invite", {"channel": "C1", "users": "U1,U2"}),
    ]
    assert {m.vendor for m in outbox.messages} == {"slack"}


# -- war rooms: a lost answer must not open a second room -------------------------------------


async def test_create_channel_reuses_the_room_it_created_when_the_answer_was_lost(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack = adapter(slack_server, http, outbox)
    slack_server.fail_next("/conversations.create", lose_response=True, times=1)
    with pytest.raises(RetryableVendorError):
        await slack.create_channel(name="war-room-T-7", idempotency_key="k")
    created = slack_server.channel("war-room-t-7")
    assert created is not None and created.creator == SlackServer.bot_user_id

    again = await slack.create_channel(name="war-room-T-7", idempotency_key="k")

    assert again.external_id == created.id
    assert again.detail == {"name": "war-room-t-7", "reused": True}
    assert sorted(c.name for c in slack_server.channels.values() if "t-7" in c.name) == [
        "war-room-t-7"
    ]
    listed = slack_server.requests_to("/conversations.list")
    assert [r.form_value("exclude_archived") for r in listed] == ["true"]
    assert len(slack_server.requests_to("/auth.test")) == 1
    assert slack_server.schema_violations == []


async def test_create_channel_pages_through_conversations_list(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    slack_server.max_page_size = 2  # Slack may answer fewer than `limit` per page
    for n in range(5):
        slack_server.add_channel(f"team-{n}")
    own = slack_server.add_channel("war-room-t-8", creator=SlackServer.bot_user_id)  # 9th

    receipt = await adapter(slack_server, http, outbox).create_channel(
        name="war-room-T-8", idempotency_key="k"
    )

    assert receipt.external_id == own and receipt.detail["reused"] is True
    cursors = [r.form_value("cursor") for r in slack_server.requests_to("/conversations.list")]
    assert len(cursors) == 5 and cursors[0] is None and all(cursors[1:])
    assert slack_server.schema_violations == []


async def test_create_channel_suffixes_a_name_taken_by_a_room_that_is_not_ours(
    slack_server: SlackServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    """Someone else's channel, or our own but archived (no one would see the post): -2."""
    slack_server.add_channel("war-room-t-9")  # created by a person
    slack_server.add_channel("war-room-t-9-2", archived=True, creator=SlackServer.bot_user_id)

    receipt = await adapter(slack_server, http, outbox).create_channel(
        name="war-room-T-9", idempotency_key="k"
    )

    assert receipt.detail == {"name": "war-room-t-9-3", "reused": False}
    assert len(slack_server.requests_to("/conversations.list")) == 1  # listed once
    assert slack_server.schema_violations == []


def test_the_local_server_flags_json_bodies_on_read_methods(slack_server: SlackServer) -> None:
    """The local server holds the adapter to Slack's rule: read methods take form bodies (a
    JSON body's arguments are not read, so this bad limit goes unnoticed by "Slack")."""
    headers = {"Authorization": f"Bearer {slack_server.token}"}
    url = f"{slack_server.base_url}/conversations.list"
    as_json = httpx.post(url, json={"limit": 5000}, headers=headers)
    assert as_json.json()["ok"] is True
    assert any("form-encoded" in v for v in slack_server.schema_violations)
    as_form = httpx.post(url, data={"limit": "5000"}, headers=headers)
    assert as_form.json() == {"ok": False, "error": "invalid_limit"}
