"""SMTP adapter: escalation e-mails through the configured relay (vendor-apis.md section 5.4).

Uses the standard library's smtplib in a worker thread (`asyncio.to_thread`). STARTTLS is used
only when the server advertises it, port 465 means implicit TLS, and AUTH only happens when
SMTP_USERNAME is set. Every message carries a `Message-ID` derived from the idempotency key
(a retried send produces the same id, so receivers and threads can de-duplicate) and an
`X-Escalation-Id` header.

Error classification: connection failures, timeouts and 4xx replies are retryable; 5xx replies
(and local configuration errors such as missing AUTH support) are permanent.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any, Final

import httpx

from activities.adapters.base import (
    DeliveryReceipt,
    OutboxMessage,
    OutboxSink,
    PermanentVendorError,
    RetryableVendorError,
)
from escalation.settings import Settings

VENDOR: Final = "email"
SMTP_TIMEOUT_SECONDS: Final = 30.0
IMPLICIT_TLS_PORT: Final = 465
DEFAULT_ID_DOMAIN: Final = "escalation-routing.local"


def _one_line(value: str) -> str:
    """Header values must not contain line breaks (header injection)."""
    return " ".join(value.split())


def make_message_id(idempotency_key: str, sender: str) -> str:
    """A stable RFC 5322 Message-ID for `idempotency_key`, in the sender's domain."""
    address = email.utils.parseaddr(sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    if not domain or any(ch in domain for ch in '<>[] \t"\\'):
        domain = DEFAULT_ID_DOMAIN
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<esc.{digest}@{domain}>"


def _classify_code(code: int, text: str) -> RetryableVendorError | PermanentVendorError:
    if 500 <= code < 600:
        return PermanentVendorError(VENDOR, text, status=code)
    return RetryableVendorError(VENDOR, text, status=code)


class EmailAdapter:
    """Sends plain-text e-mail over SMTP. Live when SMTP_HOST is set.

    `client` is accepted for a uniform constructor; SMTP does not use HTTP."""

    vendor: Final = VENDOR

    def __init__(self, settings: Settings, client: httpx.AsyncClient, outbox: OutboxSink) -> None:
        self._settings = settings
        self._client = client
        self._outbox = outbox

    @property
    def live(self) -> bool:
        """True when mail is really sent, False when it goes to the outbox."""
        return self._settings.live_adapters()[VENDOR]

    async def send(
        self,
        *,
        to: list[str],
        subject: str,
        body: str,
        idempotency_key: str,
        escalation_id: str,
    ) -> DeliveryReceipt:
        """Send one message to `to`. external_id is the Message-ID; detail["refused"] lists
        recipients the server refused while accepting others (not retried: the accepted
        ones already have the message)."""
        recipients = [_one_line(address) for address in to if address.strip()]
        if not recipients:
            raise PermanentVendorError(VENDOR, "send: no recipients")
        sender = _one_line(self._settings.smtp_from)
        message_id = make_message_id(idempotency_key, sender)
        headers = {
            "Message-ID": message_id,
            "X-Escalation-Id": _one_line(escalation_id),
        }
        clean_subject = _one_line(subject)
        operation = "send"
        if not self.live:
            payload: dict[str, Any] = {
                "from": sender,
                "to": recipients,
                "subject": clean_subject,
                "body": body,
                "headers": headers,
            }
            await self._outbox.write(
                OutboxMessage(
                    vendor=VENDOR,
                    operation=operation,
                    idempotency_key=idempotency_key,
                    payload=payload,
                )
            )
            return DeliveryReceipt(
                vendor=VENDOR,
                operation=operation,
                delivered=False,
                external_id=message_id,
                detail={"outbox": True},
            )

        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = clean_subject
        message["Date"] = email.utils.formatdate(usegmt=True)
        for name, value in headers.items():
            message[name] = value
        message.set_content(body)
        refused = await asyncio.to_thread(self._deliver, message, sender, recipients)
        return DeliveryReceipt(
            vendor=VENDOR,
            operation=operation,
            delivered=True,
            external_id=message_id,
            detail={
                "recipients": [r for r in recipients if r not in refused],
                "refused": {
                    address: [code, reply.decode("utf-8", "replace")]
                    for address, (code, reply) in refused.items()
                },
            },
        )

    def _deliver(
        self, message: EmailMessage, sender: str, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        """Blocking SMTP conversation (runs in a worker thread)."""
        settings = self._settings
        host = settings.smtp_host or ""
        port = settings.smtp_port
        context = ssl.create_default_context()
        envelope_from = email.utils.parseaddr(sender)[1] or sender
        try:
            smtp: smtplib.SMTP
            if port == IMPLICIT_TLS_PORT:
                smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
            with smtp:
                smtp.ehlo()
                if port != IMPLICIT_TLS_PORT and smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if settings.smtp_username:
                    smtp.login(settings.smtp_username, settings.smtp_password or "")
                return smtp.send_message(message, from_addr=envelope_from, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            text = f"all recipients refused: {exc.recipients!r}"
            if any(400 <= code < 500 for code in codes):
                raise RetryableVendorError(VENDOR, text, status=min(codes)) from exc
            raise PermanentVendorError(VENDOR, text, status=max(codes, default=None)) from exc
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error
            detail = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            raise _classify_code(
                exc.smtp_code, f"{type(exc).__name__} {exc.smtp_code}: {detail}"
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise RetryableVendorError(VENDOR, f"server disconnected: {exc}") from exc
        except smtplib.SMTPException as exc:
            # e.g. AUTH requested but not offered: a configuration problem, not transient.
            raise PermanentVendorError(VENDOR, f"{type(exc).__name__}: {exc}") from exc
        except OSError as exc:
            raise RetryableVendorError(VENDOR, f"network error: {exc!r}") from exc
