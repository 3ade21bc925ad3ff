"""Webhook signature verifiers, checked against every test vector in vendor-apis.md."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from escalation.webhook_signatures import (
    Reason,
    VerificationResult,
    verify_freshdesk,
    verify_intercom,
    verify_pagerduty,
    verify_slack,
    verify_twilio,
    verify_zendesk,
)

# --- vectors (exact bytes from vendor-apis.md) ----------------------------------------------

PD_SECRET = "test-secret"
PD_BODY = (
    b'{"event":{"id":"01TEST","event_type":"incident.acknowledged","resource_type":"incident",'
    b'"occurred_at":"2026-01-01T00:00:00Z","agent":null,"client":null,'
    b'"data":{"id":"PABC123","type":"incident","status":"acknowledged"}}}'
)
PD_SIG = "v1=3a960b161bea2ae207b57f59bdad31aa9d1cd75dce8c86ee35c50165f4205bfe"

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SLACK_NOW = float(SLACK_TS)

ZD_SECRET = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
ZD_BODY = b'{"say": "hello"}'
ZD_TS = "2021-07-25T10:00:00Z"
ZD_SIG_TS_BODY = "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="  # computed, the implemented order
ZD_SIG_BODY_TS = "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="  # the old doc page's example
ZD_NOW = datetime(2021, 7, 25, 10, 0, 0, tzinfo=UTC).timestamp()
ZD_TEST_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="

IC_SECRET = "client-secret"
IC_BODY = b'{"type":"notification_event","topic":"ping"}'
IC_SIG = "sha1=afd46c2e2b3cd345f03cef349d0d10c6ebe3542a"

TW_TOKEN = "auth-token"
TW_URL = "https://example.com/twilio/status"
TW_BODY = b"MessageSid=SM123&MessageStatus=delivered&To=%2B15555550100"
TW_SIG = "LJ/RGB/r/sF4ov15tyf4PYLbL9I="


def _fails(result: VerificationResult, reason: Reason) -> None:
    assert not result.ok
    assert not result
    assert result.reason == reason


def _zendesk_sign(secret: str, ts: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- result type ----------------------------------------------------------------------------


def test_result_is_truthy_only_when_ok() -> None:
    assert VerificationResult(ok=True, reason=Reason.OK)
    assert not VerificationResult(ok=False, reason=Reason.MISMATCH)


# --- PagerDuty ------------------------------------------------------------------------------


def test_pagerduty_vector() -> None:
    result = verify_pagerduty(PD_BODY, PD_SIG, [PD_SECRET])
    assert result.ok and result.reason == Reason.OK


def test_pagerduty_accepts_any_entry_of_a_rotation_header() -> None:
    header = f"v1={'0' * 64}, {PD_SIG}"
    assert verify_pagerduty(PD_BODY, header, [PD_SECRET])
    assert verify_pagerduty(PD_BODY, f"{PD_SIG},v1={'f' * 64}", [PD_SECRET])


def test_pagerduty_accepts_any_of_our_secrets() -> None:
    assert verify_pagerduty(PD_BODY, PD_SIG, ["new-secret", PD_SECRET])


def test_pagerduty_single_secret_string_is_not_split_into_characters() -> None:
    assert verify_pagerduty(PD_BODY, PD_SIG, PD_SECRET)


def test_pagerduty_uppercase_hex_is_accepted() -> None:
    assert verify_pagerduty(PD_BODY, "v1=" + PD_SIG[3:].upper(), [PD_SECRET])


def test_pagerduty_ignores_other_versions() -> None:
    assert verify_pagerduty(PD_BODY, f"v2=abc,{PD_SIG}", [PD_SECRET])
    _fails(verify_pagerduty(PD_BODY, "v2=" + PD_SIG[3:], [PD_SECRET]), Reason.MALFORMED_SIGNATURE)


def test_pagerduty_tampered_body() -> None:
    _fails(verify_pagerduty(PD_BODY + b" ", PD_SIG, [PD_SECRET]), Reason.MISMATCH)


def test_pagerduty_wrong_secret() -> None:
    _fails(verify_pagerduty(PD_BODY, PD_SIG, ["other-secret"]), Reason.MISMATCH)


def test_pagerduty_forged_signature() -> None:
    forged = "v1=" + hmac.new(b"attacker", PD_BODY, hashlib.sha256).hexdigest()
    _fails(verify_pagerduty(PD_BODY, forged, [PD_SECRET]), Reason.MISMATCH)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_pagerduty_missing_signature(header: str | None) -> None:
    _fails(verify_pagerduty(PD_BODY, header, [PD_SECRET]), Reason.MISSING_SIGNATURE)


@pytest.mark.parametrize(
    "header", ["3a960b16", "v1=", "v1=xyz", "v1=" + "g" * 64, PD_SIG[:-1], "v1", ",,,"]
)
def test_pagerduty_malformed_signature(header: str) -> None:
    _fails(verify_pagerduty(PD_BODY, header, [PD_SECRET]), Reason.MALFORMED_SIGNATURE)


@pytest.mark.parametrize("secrets", [[], [""], ""])
def test_pagerduty_without_secret_fails_closed(secrets: list[str] | str) -> None:
    empty_key_sig = "v1=" + hmac.new(b"", PD_BODY, hashlib.sha256).hexdigest()
    _fails(verify_pagerduty(PD_BODY, empty_key_sig, secrets), Reason.NO_SECRET)


# --- Slack ----------------------------------------------------------------------------------


def test_slack_official_vector() -> None:
    result = verify_slack(SLACK_BODY, SLACK_TS, SLACK_SIG, SLACK_SECRET, now=SLACK_NOW)
    assert result.ok and result.reason == Reason.OK


@pytest.mark.parametrize("offset", [-300.0, 300.0, 120.5])
def test_slack_inside_window(offset: float) -> None:
    assert verify_slack(SLACK_BODY, SLACK_TS, SLACK_SIG, SLACK_SECRET, now=SLACK_NOW + offset)


@pytest.mark.parametrize("offset", [-301.0, 300.001, 86_400.0])
def test_slack_expired_or_future(offset: float) -> None:
    result = verify_slack(SLACK_BODY, SLACK_TS, SLACK_SIG, SLACK_SECRET, now=SLACK_NOW + offset)
    _fails(result, Reason.TIMESTAMP_OUT_OF_WINDOW)


def test_slack_custom_tolerance() -> None:
    now = SLACK_NOW + 60
    assert verify_slack(SLACK_BODY, SLACK_TS, SLACK_SIG, SLACK_SECRET, now=now)
    result = verify_slack(SLACK_BODY, SLACK_TS, SLACK_SIG, SLACK_SECRET, now=now, tolerance=30)
    _fails(result, Reason.TIMESTAMP_OUT_OF_WINDOW)


def test_slack_timestamp_is_signed() -> None:
    # Replaying the body with a fresh timestamp must not pass.
    fresh = str(int(SLACK_TS) + 1000)
    result = verify_slack(SLACK_BODY, fresh, SLACK_SIG, SLACK_SECRET, now=float(fresh))
    _fails(result, Reason.MISMATCH)


def test_slack_tampered_body() -> None:
    body = SLACK_BODY.replace(b"roadrunner", b"coyote")
    _fails(verify_slack(body, SLACK_TS, SLACK_SIG, SLACK_SECRET, now=SLACK_NOW), Reason.MISMATCH)


def test_slack_wrong_secret() -> None:
    result = verify_slack(SLACK_BODY, SLACK_TS, SLACK_SIG, "not-the-secret", now=SLACK_NOW)
    _fails(result, Reason.MISMATCH)


def test_slack_forged_signature() -> None:
    forged_sig = (
        "v0="
        + hmac.new(
            b"attacker", b"v0:" + SLACK_TS.encode() + b":" + SLACK_BODY, hashlib.sha256
        ).hexdigest()
    )
    result = verify_slack(SLACK_BODY, SLACK_TS, forged_sig, SLACK_SECRET, now=SLACK_NOW)
    _fails(result, Reason.MISMATCH)


@pytest.mark.parametrize("signature", [None, ""])
def test_slack_missing_signature(signature: str | None) -> None:
    result = verify_slack(SLACK_BODY, SLACK_TS, signature, SLACK_SECRET, now=SLACK_NOW)
    _fails(result, Reason.MISSING_SIGNATURE)


@pytest.mark.parametrize("timestamp", [None, "", " "])
def test_slack_missing_timestamp(timestamp: str | None) -> None:
    result = verify_slack(SLACK_BODY, timestamp, SLACK_SIG, SLACK_SECRET, now=SLACK_NOW)
    _fails(result, Reason.MISSING_TIMESTAMP)


@pytest.mark.parametrize("timestamp", ["1531420618.5", "-1531420618", "abc", "٣٣", "9" * 5000])
def test_slack_malformed_timestamp(timestamp: str) -> None:
    result = verify_slack(SLACK_BODY, timestamp, SLACK_SIG, SLACK_SECRET, now=SLACK_NOW)
    _fails(result, Reason.MALFORMED_TIMESTAMP)


@pytest.mark.parametrize(
    "signature", [SLACK_SIG[3:], "v1=" + SLACK_SIG[3:], "v0=" + "z" * 64, SLACK_SIG + "00", "v0="]
)
def test_slack_malformed_signature(signature: str) -> None:
    result = verify_slack(SLACK_BODY, SLACK_TS, signature, SLACK_SECRET, now=SLACK_NOW)
    _fails(result, Reason.MALFORMED_SIGNATURE)


def test_slack_without_secret_fails_closed() -> None:
    sig = (
        "v0=" + hmac.new(b"", b"v0:" + SLACK_TS.encode() + b":" + SLACK_BODY, "sha256").hexdigest()
    )
    _fails(verify_slack(SLACK_BODY, SLACK_TS, sig, "", now=SLACK_NOW), Reason.NO_SECRET)


# --- Zendesk --------------------------------------------------------------------------------


def test_zendesk_vector_timestamp_then_body() -> None:
    result = verify_zendesk(ZD_BODY, ZD_SIG_TS_BODY, ZD_TS, ZD_SECRET, now=ZD_NOW)
    assert result.ok and result.reason == Reason.OK


def test_zendesk_old_doc_vector_is_body_then_timestamp_and_does_not_verify() -> None:
    # The old page's example really is HMAC(body + timestamp) ...
    old = hmac.new(ZD_SECRET.encode(), ZD_BODY + ZD_TS.encode(), hashlib.sha256).digest()
    assert base64.b64encode(old).decode() == ZD_SIG_BODY_TS
    # ... and the implemented timestamp + body order rejects it.
    result = verify_zendesk(ZD_BODY, ZD_SIG_BODY_TS, ZD_TS, ZD_SECRET, now=ZD_NOW)
    _fails(result, Reason.MISMATCH)


def test_zendesk_secret_is_used_as_a_string_not_base64_decoded() -> None:
    decoded_key = base64.b64decode(ZD_TEST_SECRET)
    wrong = base64.b64encode(
        hmac.new(decoded_key, ZD_TS.encode() + ZD_BODY, hashlib.sha256).digest()
    ).decode()
    right = _zendesk_sign(ZD_TEST_SECRET, ZD_TS, ZD_BODY)
    assert verify_zendesk(ZD_BODY, right, ZD_TS, ZD_TEST_SECRET, now=ZD_NOW)
    _fails(verify_zendesk(ZD_BODY, wrong, ZD_TS, ZD_TEST_SECRET, now=ZD_NOW), Reason.MISMATCH)


def test_zendesk_empty_body_signs_the_timestamp_alone() -> None:
    sig = _zendesk_sign(ZD_SECRET, ZD_TS, b"")
    assert verify_zendesk(b"", sig, ZD_TS, ZD_SECRET, now=ZD_NOW)


@pytest.mark.parametrize("offset", [-300.0, 299.0, 300.0])
def test_zendesk_inside_window(offset: float) -> None:
    assert verify_zendesk(ZD_BODY, ZD_SIG_TS_BODY, ZD_TS, ZD_SECRET, now=ZD_NOW + offset)


@pytest.mark.parametrize("offset", [-301.0, 301.0, 3 * 365 * 86_400.0])
def test_zendesk_expired_or_future(offset: float) -> None:
    result = verify_zendesk(ZD_BODY, ZD_SIG_TS_BODY, ZD_TS, ZD_SECRET, now=ZD_NOW + offset)
    _fails(result, Reason.TIMESTAMP_OUT_OF_WINDOW)


def test_zendesk_offset_timestamp_is_understood() -> None:
    ts = "2021-07-25T12:00:00+02:00"  # the same instant as ZD_TS
    sig = _zendesk_sign(ZD_SECRET, ts, ZD_BODY)
    assert verify_zendesk(ZD_BODY, sig, ts, ZD_SECRET, now=ZD_NOW)


def test_zendesk_timestamp_is_signed() -> None:
    ts = "2021-07-25T10:04:00Z"
    result = verify_zendesk(ZD_BODY, ZD_SIG_TS_BODY, ts, ZD_SECRET, now=ZD_NOW + 240)
    _fails(result, Reason.MISMATCH)


def test_zendesk_tampered_body() -> None:
    result = verify_zendesk(b'{"say": "goodbye"}', ZD_SIG_TS_BODY, ZD_TS, ZD_SECRET, now=ZD_NOW)
    _fails(result, Reason.MISMATCH)


def test_zendesk_forged_signature() -> None:
    forged = _zendesk_sign("attacker-secret", ZD_TS, ZD_BODY)
    _fails(verify_zendesk(ZD_BODY, forged, ZD_TS, ZD_SECRET, now=ZD_NOW), Reason.MISMATCH)


@pytest.mark.parametrize("signature", [None, ""])
def test_zendesk_missing_signature(signature: str | None) -> None:
    result = verify_zendesk(ZD_BODY, signature, ZD_TS, ZD_SECRET, now=ZD_NOW)
    _fails(result, Reason.MISSING_SIGNATURE)


@pytest.mark.parametrize("timestamp", [None, ""])
def test_zendesk_missing_timestamp(timestamp: str | None) -> None:
    result = verify_zendesk(ZD_BODY, ZD_SIG_TS_BODY, timestamp, ZD_SECRET, now=ZD_NOW)
    _fails(result, Reason.MISSING_TIMESTAMP)


@pytest.mark.parametrize("timestamp", ["yesterday", "1627207200", "2021-13-25T10:00:00Z"])
def test_zendesk_malformed_timestamp(timestamp: str) -> None:
    result = verify_zendesk(ZD_BODY, ZD_SIG_TS_BODY, timestamp, ZD_SECRET, now=ZD_NOW)
    _fails(result, Reason.MALFORMED_TIMESTAMP)


@pytest.mark.parametrize(
    "signature", ["not base64!", ZD_SIG_TS_BODY[:-4], base64.b64encode(b"short").decode()]
)
def test_zendesk_malformed_signature(signature: str) -> None:
    result = verify_zendesk(ZD_BODY, signature, ZD_TS, ZD_SECRET, now=ZD_NOW)
    _fails(result, Reason.MALFORMED_SIGNATURE)


def test_zendesk_without_secret_fails_closed() -> None:
    sig = _zendesk_sign("", ZD_TS, ZD_BODY)
    _fails(verify_zendesk(ZD_BODY, sig, ZD_TS, "", now=ZD_NOW), Reason.NO_SECRET)


# --- Intercom -------------------------------------------------------------------------------


def test_intercom_vector() -> None:
    result = verify_intercom(IC_BODY, IC_SIG, IC_SECRET)
    assert result.ok and result.reason == Reason.OK


def test_intercom_tampered_body() -> None:
    _fails(verify_intercom(IC_BODY.replace(b"ping", b"pong"), IC_SIG, IC_SECRET), Reason.MISMATCH)


def test_intercom_forged_signature() -> None:
    forged = "sha1=" + hmac.new(b"attacker", IC_BODY, hashlib.sha1).hexdigest()
    _fails(verify_intercom(IC_BODY, forged, IC_SECRET), Reason.MISMATCH)


@pytest.mark.parametrize("signature", [None, ""])
def test_intercom_missing_signature(signature: str | None) -> None:
    _fails(verify_intercom(IC_BODY, signature, IC_SECRET), Reason.MISSING_SIGNATURE)


@pytest.mark.parametrize(
    "signature",
    [
        IC_SIG[5:],
        "sha256=" + IC_SIG[5:],
        "sha1=" + IC_SIG[5:-2],
        "sha1=" + "q" * 40,
        "sha256=" + hmac.new(IC_SECRET.encode(), IC_BODY, hashlib.sha256).hexdigest(),
    ],
)
def test_intercom_malformed_signature(signature: str) -> None:
    _fails(verify_intercom(IC_BODY, signature, IC_SECRET), Reason.MALFORMED_SIGNATURE)


def test_intercom_without_secret_fails_closed() -> None:
    sig = "sha1=" + hmac.new(b"", IC_BODY, hashlib.sha1).hexdigest()
    _fails(verify_intercom(IC_BODY, sig, ""), Reason.NO_SECRET)


# --- Twilio ---------------------------------------------------------------------------------


def test_twilio_vector() -> None:
    result = verify_twilio(TW_BODY, TW_URL, TW_SIG, TW_TOKEN)
    assert result.ok and result.reason == Reason.OK


def test_twilio_parameter_order_in_body_does_not_matter() -> None:
    body = b"To=%2B15555550100&MessageStatus=delivered&MessageSid=SM123"
    assert verify_twilio(body, TW_URL, TW_SIG, TW_TOKEN)


def test_twilio_default_port_variants() -> None:
    assert verify_twilio(TW_BODY, "https://example.com:443/twilio/status", TW_SIG, TW_TOKEN)
    signed_with_port = base64.b64encode(
        hmac.new(
            TW_TOKEN.encode(),
            b"https://example.com:443/twilio/status"
            b"MessageSidSM123MessageStatusdeliveredTo+15555550100",
            hashlib.sha1,
        ).digest()
    ).decode()
    assert verify_twilio(TW_BODY, TW_URL, signed_with_port, TW_TOKEN)


def test_twilio_url_is_signed() -> None:
    result = verify_twilio(TW_BODY, "https://evil.example/twilio/status", TW_SIG, TW_TOKEN)
    _fails(result, Reason.MISMATCH)


def test_twilio_tampered_params() -> None:
    body = TW_BODY.replace(b"delivered", b"failed")
    _fails(verify_twilio(body, TW_URL, TW_SIG, TW_TOKEN), Reason.MISMATCH)


def test_twilio_added_param() -> None:
    _fails(verify_twilio(TW_BODY + b"&ErrorCode=30003", TW_URL, TW_SIG, TW_TOKEN), Reason.MISMATCH)


def test_twilio_forged_signature() -> None:
    forged = base64.b64encode(
        hmac.new(b"attacker", TW_URL.encode() + b"MessageSidSM123", hashlib.sha1).digest()
    ).decode()
    _fails(verify_twilio(TW_BODY, TW_URL, forged, TW_TOKEN), Reason.MISMATCH)


@pytest.mark.parametrize("signature", [None, ""])
def test_twilio_missing_signature(signature: str | None) -> None:
    _fails(verify_twilio(TW_BODY, TW_URL, signature, TW_TOKEN), Reason.MISSING_SIGNATURE)


@pytest.mark.parametrize("signature", ["***", TW_SIG[:-4], base64.b64encode(b"x" * 32).decode()])
def test_twilio_malformed_signature(signature: str) -> None:
    _fails(verify_twilio(TW_BODY, TW_URL, signature, TW_TOKEN), Reason.MALFORMED_SIGNATURE)


@pytest.mark.parametrize("body", [b"\xff\xfe", b"a=1&&b=2", b"novalue"])
def test_twilio_malformed_body(body: bytes) -> None:
    _fails(verify_twilio(body, TW_URL, TW_SIG, TW_TOKEN), Reason.MALFORMED_BODY)


def test_twilio_without_token_fails_closed() -> None:
    _fails(verify_twilio(TW_BODY, TW_URL, TW_SIG, ""), Reason.NO_SECRET)


# --- Freshdesk ------------------------------------------------------------------------------


def test_freshdesk_shared_secret() -> None:
    result = verify_freshdesk("fd-webhook-secret", "fd-webhook-secret")
    assert result.ok and result.reason == Reason.OK


@pytest.mark.parametrize("header", ["fd-webhook-secreT", "fd-webhook-secret2", "x", "fd-ümlaut"])
def test_freshdesk_wrong_secret(header: str) -> None:
    _fails(verify_freshdesk(header, "fd-webhook-secret"), Reason.MISMATCH)


@pytest.mark.parametrize("header", [None, "", "  "])
def test_freshdesk_missing_header(header: str | None) -> None:
    _fails(verify_freshdesk(header, "fd-webhook-secret"), Reason.MISSING_SIGNATURE)


def test_freshdesk_without_secret_fails_closed() -> None:
    _fails(verify_freshdesk("", ""), Reason.NO_SECRET)
    _fails(verify_freshdesk("anything", ""), Reason.NO_SECRET)
