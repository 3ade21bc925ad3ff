"""Slack Web API adapter: post and update escalation messages, open war-room channels.

Wire format: vendor-apis.md section 3. Every method is `POST {SLACK_API_URL}/<method>` with a
JSON body (`Content-Type: application/json; charset=utf-8`) and `Authorization: Bearer <bot
token>`. Slack answers most failures with HTTP 200 and `{"ok": false, "error": "<code>"}`, so
the `ok` flag is checked on every response: rate limiting (`ratelimited`, or `rate_limited` as
the 2021 spec spells it) and Slack's own transient server errors are retryable, every other
error is permanent (`SlackApiError`, which carries the error code).

Slack has no idempotency key: a retried `chat.postMessage` posts twice, so callers keep the
returned channel id + ts and use `chat.update` afterwards. `conversations.create` is made
idempotent by its deterministic name: on `name_taken` the channel of that name is looked up
(`conversations.list`) and reused when our bot created it and it is not archived, since then it
is the room an earlier attempt opened although its answer was lost; a name taken by anyone
else's channel gets a `-2`, `-3`, ... suffix.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any, Final, Literal
from urllib.parse import urlencode

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxMessage,
    OutboxSink,
    PermanentVendorError,
    RetryableVendorError,
    parse_retry_after,
    send_request,
)
from escalation.settings import Settings

VENDOR: Final = "slack"
CHANNEL_NAME_RE: Final = re.compile(r"^[a-z0-9_-]{1,80}$")
MAX_CHANNEL_NAME: Final = 80
MAX_NAME_ATTEMPTS: Final = 10
# conversations.list page size: Slack recommends no more than 200 per page.
LIST_PAGE_LIMIT: Final = 200
# A workspace with more channels than this is not scanned further for a lost war room.
MAX_LIST_PAGES: Final = 50
MAX_TEXT: Final = 40_000
MAX_SECTION_TEXT: Final = 3000
MAX_BLOCK_ID: Final = 255
MAX_BUTTON_VALUE: Final = 2000
RATE_LIMIT_ERRORS: Final = frozenset({"ratelimited", "rate_limited"})
# Documented by Slack as server-side and transient: worth another try.
TRANSIENT_ERRORS: Final = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

MessageState = Literal["open", "acknowledged", "resolved"]


class SlackApiError(PermanentVendorError):
    """Slack refused the call with `ok: false`; `error` is Slack's error code."""

    def __init__(self, message: str, *, error: str, status: int | None = None) -> None:
        super().__init__(VENDOR, message, status)
        self.error = error


def normalize_channel_name(name: str) -> str:
    """Turn any text into a valid channel name (`^[a-z0-9_-]{1,80}$`): lowercase ASCII,
    every other character becomes `-`, runs of `-` collapse, at most 80 characters."""
    decomposed = unicodedata.normalize("NFKD", name)
    # Accents go (é -> e); any other non-ASCII character separates words like punctuation.
    ascii_text = "".join(
        ch if ch.isascii() else "-" for ch in decomposed if not unicodedata.combining(ch)
    )
    text = re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")
    text = text[:MAX_CHANNEL_NAME].rstrip("-")
    return text or "escalation"


def _with_suffix(name: str, attempt: int) -> str:
    if attempt <= 1:
        return name
    suffix = f"-{attempt}"
    return name[: MAX_CHANNEL_NAME - len(suffix)].rstrip("-") + suffix


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters, so ticket
    text can neither break formatting nor inject mentions such as `<!channel>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fit(text: str, limit: int) -> str:
    """Truncate to `limit` characters without leaving half an HTML entity or half a
    `<...>` mention/link behind."""
    if len(text) <= limit:
        return text
    cut = re.sub(r"(&[a-z]*|<[^>]*)$", "", text[: limit - 1])
    return cut + "\u2026"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def escalation_message_blocks(
    *, ticket_id: str, headline: str, body: str, state: MessageState
) -> list[dict[str, Any]]:
    """Block Kit for an escalation message: a section with the headline and body, plus
    (unless resolved) an actions block `esc:<ticket_id>` with Acknowledge (only while open),
    Resolve (with a confirmation dialog) and Reassign buttons whose value is the ticket id.

    `headline` is plain text (shown bold; `&`, `<`, `>` are escaped so ticket text cannot
    inject mentions); `body` is mrkdwn as given (mentions such as `<@U123>` work), so escape
    untrusted text in it yourself. Respects Block Kit limits: section text <= 3000, block_id
    <= 255 (long ticket ids are hashed there; the button values always carry the full id),
    button value <= 2000 (ValueError beyond).
    """
    if len(ticket_id) > MAX_BUTTON_VALUE:
        raise ValueError(f"ticket_id is longer than {MAX_BUTTON_VALUE} characters")
    status_line = {
        "open": "",
        "acknowledged": "\n_Status: acknowledged_",
        "resolved": "\n_Status: resolved_",
    }[state]
    title = escape_mrkdwn(headline.strip()) or escape_mrkdwn(ticket_id) or "Escalation"
    head = f"*{_fit(title, MAX_SECTION_TEXT // 3 - 2)}*"
    room = MAX_SECTION_TEXT - len(head) - len(status_line) - 1
    text = head
    if body.strip():
        text += "\n" + _fit(body.strip(), room)
    text += status_line
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
    ]
    if state == "resolved":
        return blocks

    block_id = f"esc:{ticket_id}"
    if len(block_id) > MAX_BLOCK_ID:
        digest = hashlib.sha256(ticket_id.encode("utf-8")).hexdigest()
        block_id = f"esc:{ticket_id[: MAX_BLOCK_ID - len(digest) - 5]}~{digest}"
    short_id = ticket_id if len(ticket_id) <= 200 else ticket_id[:199] + "\u2026"
    elements: list[dict[str, Any]] = []
    if state == "open":
        elements.append(
            {
                "type": "button",
                "action_id": "escalation.ack",
                "text": _plain("Acknowledge"),
                "value": ticket_id,
                "style": "primary",
            }
        )
    elements.append(
        {
            "type": "button",
            "action_id": "escalation.resolve",
            "text": _plain("Resolve"),
            "value": ticket_id,
            "style": "danger",
            "confirm": {
                "title": _plain("Resolve?"),
                "text": _plain(f"Mark {short_id} resolved"),
                "confirm": _plain("Resolve"),
                "deny": _plain("Cancel"),
            },
        }
    )
    elements.append(
        {
            "type": "button",
            "action_id": "escalation.reassign",
            "text": _plain("Reassign"),
            "value": ticket_id,
        }
    )
    blocks.append({"type": "actions", "block_id": block_id, "elements": elements})
    return blocks


class SlackAdapter:
    """Calls Slack's Web API with the bot token. Live when SLACK_BOT_TOKEN is set."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when calls really go to Slack, False when they go to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def post_message(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        idempotency_key: str,
    ) -> DeliveryReceipt:
        """`chat.postMessage`. external_id is the message `ts`; detail["channel"] is the
        channel id Slack returned (use both for `update_message`)."""
        body: dict[str, Any] = {"channel": channel, "text": _fit(text, MAX_TEXT)}
        if blocks is not None:
            body["blocks"] = blocks
        operation = "post_message"
        if not self.live:
            return await self._to_outbox(operation, idempotency_key, body)
        data = await self._call("chat.postMessage", body)
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(data.get("ts", "")) or None,
            detail={"channel": data.get("channel", channel)},
        )

    async def update_message(
        self,
        *,
        channel: str,
        ts: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        idempotency_key: str,
    ) -> DeliveryReceipt:
        """`chat.update` of the message `ts` in `channel` (a channel id). `blocks=None` keeps
        the message's blocks, `[]` removes them."""
        body: dict[str, Any] = {"channel": channel, "ts": ts, "text": _fit(text, MAX_TEXT)}
        if blocks is not None:
            body["blocks"] = blocks
        operation = "update_message"
        if not self.live:
            return await self._to_outbox(operation, idempotency_key, body)
        data = await self._call("chat.update", body)
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(data.get("ts", ts)),
            detail={"channel": data.get("channel", channel)},
        )

    async def create_channel(self, *, name: str, idempotency_key: str) -> DeliveryReceipt:
        """`conversations.create` of a public channel named after `name` (normalised).

        When the name is taken by a live channel our bot created (an earlier attempt whose
        answer was lost), that channel is returned (detail["reused"] is True). When it is
        taken by another channel, tries `<name>-2`, `<name>-3`, ... (up to 10 names), each
        reused on the same terms. external_id is the channel id, detail["name"] the name."""
        base_name = normalize_channel_name(name)
        operation = "create_channel"
        if not self.live:
            return await self._to_outbox(operation, idempotency_key, {"name": base_name})
        ours: dict[str, dict[str, Any]] | None = None  # listed once, at the first name_taken
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            candidate = _with_suffix(base_name, attempt)
            try:
                data = await self._call("conversations.create", {"name": candidate})
            except SlackApiError as exc:
                if exc.error != "name_taken":
                    raise
                if ours is None:
                    ours = await self._own_channels()
                if candidate in ours:
                    return self._channel_receipt(ours[candidate], candidate, reused=True)
                if attempt < MAX_NAME_ATTEMPTS:
                    continue
                raise
            channel = data.get("channel")
            return self._channel_receipt(
                channel if isinstance(channel, dict) else {}, candidate, reused=False
            )
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _channel_receipt(
        channel: dict[str, Any], candidate: str, *, reused: bool
    ) -> DeliveryReceipt:
        return DeliveryReceipt(
            vendor=VENDOR,
            operation="create_channel",
            delivered=True,
            external_id=str(channel.get("id", "")) or None,
            detail={"name": channel.get("name", candidate), "reused": reused},
        )

    async def _own_channels(self) -> dict[str, dict[str, Any]]:
        """Live public channels created by our bot user, by name (`auth.test` names the bot
        user; `conversations.list` pages through the channels with its cursor)."""
        bot_user = str((await self._call_form("auth.test", {})).get("user_id") or "")
        found: dict[str, dict[str, Any]] = {}
        cursor = ""
        for _ in range(MAX_LIST_PAGES):
            params = {
                "types": "public_channel",
                "exclude_archived": "true",
                "limit": str(LIST_PAGE_LIMIT),
            }
            if cursor:
                params["cursor"] = cursor
            data = await self._call_form("conversations.list", params)
            for channel in data.get("channels") or []:
                if (
                    isinstance(channel, dict)
                    and bot_user
                    and channel.get("creator") == bot_user
                    and not channel.get("is_archived")
                ):
                    found[str(channel.get("name"))] = channel
            metadata = data.get("response_metadata")
            cursor = str(metadata.get("next_cursor") or "") if isinstance(metadata, dict) else ""
            if not cursor:
                break
        return found

    async def invite(
        self, *, channel_id: str, user_ids: list[str], idempotency_key: str
    ) -> DeliveryReceipt:
        """`conversations.invite`; a user who is already a member counts as success."""
        operation = "invite"
        body: dict[str, Any] = {"channel": channel_id, "users": ",".join(user_ids)}
        if not user_ids:
            return DeliveryReceipt(
                vendor=VENDOR,
                operation=operation,
                delivered=self.live,
                detail={"channel": channel_id, "skipped": "no users to invite"},
            )
        if not self.live:
            return await self._to_outbox(operation, idempotency_key, body)
        already = False
        try:
            await self._call("conversations.invite", body)
        except SlackApiError as exc:
            if exc.error != "already_in_channel":
                raise
            already = True
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            detail={"channel": channel_id, "users": list(user_ids), "already_in_channel": already},
        )

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

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._answer(
            method,
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            content_type="application/json; charset=utf-8",
        )

    async def _call_form(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        """Read methods (`auth.test`, `conversations.list`): Slack takes JSON bodies for most
        write methods only, so these send their arguments form-encoded."""
        return await self._answer(
            method,
            content=urlencode(params).encode("ascii"),
            content_type="application/x-www-form-urlencoded",
        )

    async def _answer(self, method: str, *, content: bytes, content_type: str) -> dict[str, Any]:
        url = f"{self._settings.slack_api_url.rstrip('/')}/{method}"
        response = await send_request(
            VENDOR,
            self._client,
            "POST",
            url,
            content=content,
            headers={
                "Content-Type": content_type,
                "Authorization": f"Bearer {self._settings.slack_bot_token}",
            },
        )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise RetryableVendorError(
                VENDOR,
                f"{method}: HTTP {response.status_code} without a JSON object body",
                status=response.status_code,
            )
        if data.get("ok") is True:
            return data
        error = str(data.get("error") or "unknown_error")
        if error in RATE_LIMIT_ERRORS or error in TRANSIENT_ERRORS:
            raise RetryableVendorError(
                VENDOR,
                f"{method}: {error}",
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        raise SlackApiError(f"{method}: {error}", error=error, status=response.status_code)
