"""TwilioAdapter against the local Twilio server."""

from __future__ import annotations

import base64

import httpx
import pytest

from activities.adapters.base import PermanentVendorError, RetryableVendorError
from activities.adapters.twilio import TwilioAdapter
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers import TwilioServer


def adapter(server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox) -> TwilioAdapter:
    return TwilioAdapter(live_settings(twilio=server), http, outbox)


async def test_send_sms_posts_a_form_with_basic_auth(
    twilio_server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    receipt = await adapter(twilio_server, http, outbox).send_sms(
        to="+1 (555) 555-0199", body="[P1] Checkout failing for ACME", idempotency_key="k"
    )

    request = twilio_server.last_request()
    sid = twilio_server.account_sid
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{sid}/Messages.json")
    assert request.header("content-type") == "application/x-www-form-urlencoded"
    token = base64.b64encode(f"{sid}:{twilio_server.auth_token}".encode()).decode()
    assert request.header("authorization") == f"Basic {token}"
    assert request.form == {
        "To": ["+15555550199"],
        "From": [twilio_server.from_number],
        "Body": ["[P1] Checkout failing for ACME"],
    }
    (message,) = twilio_server.messages
    assert receipt.delivered and receipt.external_id == message["sid"]
    assert str(receipt.external_id).startswith("SM") and receipt.detail == {"status": "queued"}
    assert twilio_server.schema_violations == []


async def test_place_call_with_inline_twiml(
    twilio_server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    twiml = "<Response><Say>P1 escalation for ACME.</Say></Response>"
    receipt = await adapter(twilio_server, http, outbox).place_call(
        to="+447700900123", twiml=twiml, idempotency_key="k"
    )
    request = twilio_server.last_request()
    assert request.path.endswith("/Calls.json")
    assert request.form == {
        "To": ["+447700900123"],
        "From": [twilio_server.from_number],
        "Twiml": [twiml],
    }
    assert str(receipt.external_id).startswith("CA")
    assert twilio_server.calls[0]["sid"] == receipt.external_id
    assert twilio_server.schema_violations == []


@pytest.mark.parametrize("number", ["5555550199", "+0123456", "+1555abc", "", "+1234567890123456"])
async def test_invalid_number_is_refused_before_sending(
    number: str, twilio_server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    with pytest.raises(PermanentVendorError) as caught:
        await adapter(twilio_server, http, outbox).send_sms(
            to=number, body="x", idempotency_key="k"
        )
    assert "E.164" in caught.value.message and "+15555550100" in caught.value.message
    assert twilio_server.requests == []


async def test_long_sms_is_cut_and_long_twiml_refused(
    twilio_server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    twilio = adapter(twilio_server, http, outbox)
    await twilio.send_sms(to="+15555550199", body="x" * 2000, idempotency_key="k")
    assert len(twilio_server.last_request().form_value("Body") or "") == 1600
    with pytest.raises(PermanentVendorError):
        await twilio.place_call(to="+15555550199", twiml="x" * 4001, idempotency_key="k")


async def test_vendor_400_is_permanent(
    twilio_server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    twilio_server.fail_next(
        "/2010-04-01/Accounts/*/Messages.json",
        status=400,
        body={
            "code": 21610,
            "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610",
            "status": 400,
        },
    )
    with pytest.raises(PermanentVendorError) as caught:
        await adapter(twilio_server, http, outbox).send_sms(
            to="+15555550199", body="x", idempotency_key="k"
        )
    assert caught.value.status == 400 and "21610" in caught.value.message


async def test_bad_credentials_are_permanent(
    twilio_server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(twilio=twilio_server, twilio_auth_token="wrong")
    with pytest.raises(PermanentVendorError) as caught:
        await TwilioAdapter(settings, http, outbox).send_sms(
            to="+15555550199", body="x", idempotency_key="k"
        )
    assert caught.value.status == 401 and "20003" in caught.value.message


async def test_429_is_retryable_with_retry_after(
    twilio_server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    twilio_server.fail_next(
        "/2010-04-01/Accounts/*/Calls.json", status=429, headers={"Retry-After": "9"}
    )
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(twilio_server, http, outbox).place_call(
            to="+15555550199", twiml="<Response/>", idempotency_key="k"
        )
    assert caught.value.status == 429 and caught.value.retry_after == 9.0


async def test_5xx_is_retryable(
    twilio_server: TwilioServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    twilio_server.fail_next("/2010-04-01/Accounts/*/Messages.json", status=500)
    with pytest.raises(RetryableVendorError) as caught:
        await adapter(twilio_server, http, outbox).send_sms(
            to="+15555550199", body="x", idempotency_key="k"
        )
    assert caught.value.status == 500
    assert twilio_server.messages == []


async def test_outbox_mode_without_credentials(
    http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    twilio = TwilioAdapter(offline_settings(), http, outbox)
    assert not twilio.live
    receipt = await twilio.send_sms(to="+15555550199", body="hello", idempotency_key="esc:sms")
    await twilio.place_call(to="+15555550199", twiml="<Response/>", idempotency_key="esc:call")
    assert not receipt.delivered
    sms, call = outbox.messages
    assert (sms.vendor, sms.operation, sms.idempotency_key) == ("twilio", "send_sms", "esc:sms")
    assert sms.payload == {"To": "+15555550199", "From": "", "Body": "hello"}
    assert call.operation == "place_call" and call.payload["Twiml"] == "<Response/>"
    with pytest.raises(PermanentVendorError):  # validation holds in outbox mode too
        await twilio.send_sms(to="555", body="x", idempotency_key="k")
