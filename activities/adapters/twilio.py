"""Twilio adapter: SMS and voice calls (vendor-apis.md sections 5.1 and 5.2).

`POST {TWILIO_API_URL}/2010-04-01/Accounts/{AccountSid}/Messages.json` (or `Calls.json`),
form-encoded with PascalCase names, HTTP Basic `AccountSid:AuthToken`. Numbers must be E.164;
an invalid `to` is refused locally with a PermanentVendorError before anything is sent.
Twilio has no idempotency key on create: Temporal's retry may send twice after an ambiguous
failure (timeouts), which is accepted for pages.
"""

from __future__ import annotations

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

VENDOR: Final = "twilio"
E164: Final = re.compile(r"^\+[1-9][0-9]{1,14}$")
MAX_SMS_BODY: Final = 1600
MAX_TWIML: Final = 4000


def validate_e164(number: str, *, field: str = "to") -> str:
    """Return `number` (spaces, dashes, dots and parentheses removed) if it is E.164, else
    raise PermanentVendorError explaining the expected format."""
    compact = re.sub(r"[\s().-]", "", number)
    if not E164.match(compact):
        raise PermanentVendorError(
            VENDOR,
            f"invalid '{field}' phone number {number!r}: expected E.164, "
            "a '+', the country code and up to 15 digits, e.g. +15555550100",
        )
    return compact


class TwilioAdapter:
    """Sends SMS and places calls from TWILIO_FROM_NUMBER. Live when TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are set (`Settings.live_adapters()["sms"]`)."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when messages really go to Twilio, False when they go to the outbox."""
        return self._settings.live_adapters()["sms"]

    async def send_sms(self, *, to: str, body: str, idempotency_key: str) -> DeliveryReceipt:
        """Send an SMS. external_id is the message SID (`SM...`)."""
        if not body.strip():
            raise PermanentVendorError(VENDOR, "send_sms: body must not be empty")
        text = body if len(body) <= MAX_SMS_BODY else body[: MAX_SMS_BODY - 1] + "\u2026"
        form = {"To": validate_e164(to), "From": self._from(), "Body": text}
        return await self._create("send_sms", "Messages.json", idempotency_key, form)

    async def place_call(self, *, to: str, twiml: str, idempotency_key: str) -> DeliveryReceipt:
        """Place a voice call that plays the inline `twiml`. external_id is the call SID."""
        if not twiml.strip():
            raise PermanentVendorError(VENDOR, "place_call: twiml must not be empty")
        if len(twiml) > MAX_TWIML:
            raise PermanentVendorError(
                VENDOR, f"place_call: twiml is {len(twiml)} characters, Twilio allows {MAX_TWIML}"
            )
        form = {"To": validate_e164(to), "From": self._from(), "Twiml": twiml}
        return await self._create("place_call", "Calls.json", idempotency_key, form)

    def _from(self) -> str:
        # Not forced to E.164: Twilio also accepts short codes and alphanumeric sender ids.
        return (self._settings.twilio_from_number or "").strip()

    async def _create(
        self, operation: str, resource: str, idempotency_key: str, form: dict[str, str]
    ) -> DeliveryReceipt:
        if not self.live:
            payload: dict[str, Any] = dict(form)
            await self._outbox.write(
                OutboxMessage(
                    vendor=VENDOR,
                    operation=operation,
                    idempotency_key=idempotency_key,
                    payload=payload,
                )
            )
            return DeliveryReceipt(
                vendor=VENDOR, operation=operation, delivered=False, detail={"outbox": True}
            )
        sid = self._settings.twilio_account_sid or ""
        url = (
            f"{self._settings.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{quote(sid, safe='')}/{resource}"
        )
        response = await send_request(
            VENDOR,
            self._client,
            "POST",
            url,
            data=form,
            auth=httpx.BasicAuth(sid, self._settings.twilio_auth_token or ""),
            headers={"Accept": "application/json"},
        )
        try:
            data = response.json()
        except ValueError:
            data = {}
        result = data if isinstance(data, dict) else {}
        resource_sid = result.get("sid")
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=str(resource_sid) if resource_sid else None,
            detail={"status": result.get("status")},
        )
