"""Pure verifiers for the signatures vendors put on inbound webhooks.

One function per vendor scheme (see ``vendor-apis.md``, "Inbound signature schemes"). Every
function takes the **raw** request body exactly as received (never a re-serialised parse), the
relevant header values as ``str | None`` (``None`` = header absent), the secret(s) and, where the
scheme signs a timestamp, ``now`` in unix seconds. Nothing here does I/O or reads the clock, so the
API layer decides where ``now`` comes from and tests are deterministic.

Style: every verifier **returns** a :class:`VerificationResult`; none of them raises for bad
input. ``ok`` is true only when the signature matched (and, where one applies, the timestamp lies
inside the replay window). ``reason`` is a :class:`Reason` value (a ``str``), stable enough to log,
count in metrics and map to a 401 without leaking which part failed to the caller. A result is
truthy exactly when ``ok`` is, so ``if verify_slack(...):`` does the right thing.

All comparisons of secret-derived values use :func:`hmac.compare_digest`. An empty or missing
secret fails closed (``Reason.NO_SECRET``): an HMAC keyed with ``""`` is computable by anyone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "Reason",
    "VerificationResult",
    "verify_freshdesk",
    "verify_intercom",
    "verify_pagerduty",
    "verify_slack",
    "verify_twilio",
    "verify_zendesk",
]

DEFAULT_TOLERANCE_SECONDS = 300.0
"""Replay window for schemes that sign a timestamp: Slack's documented 5 minutes, and the usual
choice for Zendesk (which documents none)."""


class Reason(StrEnum):
    """Why a verification passed or failed."""

    OK = "ok"
    NO_SECRET = "no_secret_configured"
    MISSING_SIGNATURE = "missing_signature"
    MALFORMED_SIGNATURE = "malformed_signature"
    MISSING_TIMESTAMP = "missing_timestamp"
    MALFORMED_TIMESTAMP = "malformed_timestamp"
    TIMESTAMP_OUT_OF_WINDOW = "timestamp_out_of_window"
    MALFORMED_BODY = "malformed_body"
    MISMATCH = "signature_mismatch"


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Outcome of one verification. Truthy exactly when ``ok``."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


_OK = VerificationResult(ok=True, reason=Reason.OK)


def _fail(reason: Reason) -> VerificationResult:
    return VerificationResult(ok=False, reason=reason)


def _hmac(secret: str, message: bytes, digest: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, digest).digest()


def _same(expected: bytes, presented: bytes) -> bool:
    return hmac.compare_digest(expected, presented)


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and all(c in "0123456789abcdefABCDEF" for c in value)


def _check_window(ts: float, now: float, tolerance: float) -> VerificationResult | None:
    if abs(now - ts) > tolerance:
        return _fail(Reason.TIMESTAMP_OUT_OF_WINDOW)
    return None


# --- PagerDuty webhooks v3 ------------------------------------------------------------------


def verify_pagerduty(
    body: bytes, signature_header: str | None, secrets: Sequence[str]
) -> VerificationResult:
    """PagerDuty v3: ``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]``.

    Each ``v1`` entry is lowercase hex of HMAC-SHA256(secret, raw body). The header lists one
    entry per active secret during PagerDuty's rotation, and ``secrets`` may hold several of ours
    (the new and the old one while we rotate): any entry matching any secret passes. Entries of
    other versions are ignored. No timestamp is signed, so there is no replay window: de-duplicate
    on ``X-Webhook-Id`` instead.
    """
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    keys = [key for key in candidates if key]
    if not keys:
        return _fail(Reason.NO_SECRET)
    if not signature_header or not signature_header.strip():
        return _fail(Reason.MISSING_SIGNATURE)
    presented: list[bytes] = []
    for entry in signature_header.split(","):
        version, sep, value = entry.strip().partition("=")
        if sep and version == "v1" and _is_hex(value, 64):
            presented.append(value.lower().encode("ascii"))
    if not presented:
        return _fail(Reason.MALFORMED_SIGNATURE)
    matched = False
    for key in keys:
        expected = hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest().encode("ascii")
        for candidate in presented:
            # No early exit: the work done does not depend on which entry matched.
            matched |= _same(expected, candidate)
    return _OK if matched else _fail(Reason.MISMATCH)


# --- Slack ----------------------------------------------------------------------------------


def verify_slack(
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    signing_secret: str,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> VerificationResult:
    """Slack request signing: ``X-Slack-Signature: v0=<hex>``, ``X-Slack-Request-Timestamp``.

    The signature is ``v0=`` + hex(HMAC-SHA256(signing_secret, ``v0:<timestamp>:<raw body>``)).
    Requests whose timestamp is more than ``tolerance`` seconds (default 300) away from ``now``
    are rejected, in either direction.
    """
    if not signing_secret:
        return _fail(Reason.NO_SECRET)
    if not signature_header or not signature_header.strip():
        return _fail(Reason.MISSING_SIGNATURE)
    if timestamp_header is None or not timestamp_header.strip():
        return _fail(Reason.MISSING_TIMESTAMP)
    ts_text = timestamp_header.strip()
    if not ts_text.isascii() or not ts_text.isdigit() or len(ts_text) > 15:
        return _fail(Reason.MALFORMED_TIMESTAMP)
    version, sep, value = signature_header.strip().partition("=")
    if not sep or version != "v0" or not _is_hex(value, 64):
        return _fail(Reason.MALFORMED_SIGNATURE)
    if (late := _check_window(int(ts_text), now, tolerance)) is not None:
        return late
    base = b"v0:" + ts_text.encode("ascii") + b":" + body
    expected = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    if _same(expected.encode("ascii"), value.lower().encode("ascii")):
        return _OK
    return _fail(Reason.MISMATCH)


# --- Zendesk --------------------------------------------------------------------------------


def _parse_iso8601(value: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # Zendesk sends UTC; read a zone-less stamp as UTC too.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def verify_zendesk(
    body: bytes,
    signature_header: str | None,
    timestamp_header: str | None,
    secret: str,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> VerificationResult:
    """Zendesk webhooks: ``X-Zendesk-Webhook-Signature`` and ``...-Signature-Timestamp``.

    The signature is standard base64 of HMAC-SHA256(secret as UTF-8, timestamp header value +
    raw body), with no separator (the current Zendesk page and every community implementation;
    an older page wrote body + timestamp, which this function deliberately does not accept). The
    secret is used as the string it is, never base64-decoded. Zendesk states no replay window;
    ``tolerance`` (default 300 s) is ours, applied to the ISO-8601 timestamp.
    """
    if not secret:
        return _fail(Reason.NO_SECRET)
    if not signature_header or not signature_header.strip():
        return _fail(Reason.MISSING_SIGNATURE)
    if timestamp_header is None or not timestamp_header.strip():
        return _fail(Reason.MISSING_TIMESTAMP)
    ts_text = timestamp_header.strip()
    ts = _parse_iso8601(ts_text)
    if ts is None:
        return _fail(Reason.MALFORMED_TIMESTAMP)
    try:
        presented = base64.b64decode(signature_header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return _fail(Reason.MALFORMED_SIGNATURE)
    if len(presented) != hashlib.sha256().digest_size:
        return _fail(Reason.MALFORMED_SIGNATURE)
    if (late := _check_window(ts, now, tolerance)) is not None:
        return late
    # Sign the header value exactly as received (not the stripped/parsed form) plus the body.
    expected = _hmac(secret, timestamp_header.encode("utf-8") + body, "sha256")
    return _OK if _same(expected, presented) else _fail(Reason.MISMATCH)


# --- Intercom -------------------------------------------------------------------------------


def verify_intercom(
    body: bytes, signature_header: str | None, client_secret: str
) -> VerificationResult:
    """Intercom: ``X-Hub-Signature: sha1=<hex>`` = HMAC-SHA1(app client_secret, raw body).

    No timestamp is signed, so there is no replay window: de-duplicate on the notification id.
    """
    if not client_secret:
        return _fail(Reason.NO_SECRET)
    if not signature_header or not signature_header.strip():
        return _fail(Reason.MISSING_SIGNATURE)
    algorithm, sep, value = signature_header.strip().partition("=")
    if not sep or algorithm != "sha1" or not _is_hex(value, 40):
        return _fail(Reason.MALFORMED_SIGNATURE)
    expected = hmac.new(client_secret.encode("utf-8"), body, hashlib.sha1).hexdigest()
    if _same(expected.encode("ascii"), value.lower().encode("ascii")):
        return _OK
    return _fail(Reason.MISMATCH)


# --- Twilio ---------------------------------------------------------------------------------


def _twilio_url_variants(url: str) -> list[str]:
    """The URL as given, plus the same URL with the default port added or removed.

    Twilio signs the URL as configured; proxies often add or drop ``:443``/``:80``. Twilio's own
    validator accepts either form, and so do we.
    """
    variants = [url]
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname
    if default is None or host is None:
        return variants
    userinfo = parts.netloc.rpartition("@")[0]
    userinfo = f"{userinfo}@" if userinfo else ""
    host_text = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        return variants
    if port == default:
        variants.append(urlunsplit(parts._replace(netloc=f"{userinfo}{host_text}")))
    elif port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{userinfo}{host_text}:{default}")))
    return variants


def _twilio_base(url: str, params: Iterable[tuple[str, str]]) -> bytes:
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    pieces = [url]
    for name in sorted(by_name):
        for value in sorted(by_name[name]):
            pieces.append(name + value)
    return "".join(pieces).encode("utf-8")


def verify_twilio(
    body: bytes, url: str, signature_header: str | None, auth_token: str
) -> VerificationResult:
    """Twilio callbacks: ``X-Twilio-Signature`` over the URL and the form parameters.

    ``body`` is the raw ``application/x-www-form-urlencoded`` POST body and ``url`` the full
    public URL Twilio was configured with (scheme, host, path and query string). The signature is
    base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2 ...)) with the parameters
    sorted by name (repeated names: each distinct value, sorted). No timestamp is signed, so
    there is no replay window: de-duplicate on ``I-Twilio-Idempotency-Token``.
    """
    if not auth_token:
        return _fail(Reason.NO_SECRET)
    if not signature_header or not signature_header.strip():
        return _fail(Reason.MISSING_SIGNATURE)
    try:
        presented = base64.b64decode(signature_header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return _fail(Reason.MALFORMED_SIGNATURE)
    if len(presented) != hashlib.sha1().digest_size:
        return _fail(Reason.MALFORMED_SIGNATURE)
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return _fail(Reason.MALFORMED_BODY)
    matched = False
    for candidate_url in _twilio_url_variants(url):
        expected = _hmac(auth_token, _twilio_base(candidate_url, params), "sha1")
        matched |= _same(expected, presented)
    return _OK if matched else _fail(Reason.MISMATCH)


# --- Freshdesk ------------------------------------------------------------------------------


def verify_freshdesk(header_value: str | None, secret: str) -> VerificationResult:
    """Freshdesk automation webhooks are unsigned: we configure a secret custom header.

    The header (its name is ours to choose in the automation rule) must equal
    ``FRESHDESK_WEBHOOK_SECRET``; compared in constant time. The body is not covered, so this only
    authenticates the sender; nothing protects against replay beyond de-duplication.
    """
    if not secret:
        return _fail(Reason.NO_SECRET)
    if header_value is None or not header_value.strip():
        return _fail(Reason.MISSING_SIGNATURE)
    if _same(secret.encode("utf-8"), header_value.strip().encode("utf-8")):
        return _OK
    return _fail(Reason.MISMATCH)
