"""EmailAdapter against the local aiosmtpd server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from activities.adapters.base import DeliveryReceipt, PermanentVendorError, RetryableVendorError
from activities.adapters.email import EmailAdapter, make_message_id
from tests.adapters.conftest import MemoryOutbox
from tests.vendors.plugin import live_settings, offline_settings
from tests.vendors.servers import SmtpServer


def adapter(server: SmtpServer, http: httpx.AsyncClient, outbox: MemoryOutbox) -> EmailAdapter:
    return EmailAdapter(live_settings(smtp=server), http, outbox)


async def send(mail: EmailAdapter, key: str = "escalation-T-1:s0:email:alice") -> DeliveryReceipt:
    return await mail.send(
        to=["alice@example.com", "bob@example.com"],
        subject="[P1] Checkout failing for ACME",
        body="Team: Payments\nTicket: T-1\n",
        idempotency_key=key,
        escalation_id="escalation-T-1",
    )


async def test_send_delivers_with_stable_message_id_and_escalation_header(
    smtp_server: SmtpServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    mail = adapter(smtp_server, http, outbox)
    receipt = await send(mail)

    (message,) = smtp_server.messages
    assert receipt.delivered and receipt.external_id == message.header("Message-ID")
    assert message.mail_from == "escalations@example.com"
    assert message.rcpt_tos == ["alice@example.com", "bob@example.com"]
    assert message.header("To") == "alice@example.com, bob@example.com"
    assert message.header("Subject") == "[P1] Checkout failing for ACME"
    assert message.header("X-Escalation-Id") == "escalation-T-1"
    assert message.body == "Team: Payments\nTicket: T-1\n"
    assert receipt.detail == {
        "recipients": ["alice@example.com", "bob@example.com"],
        "refused": {},
    }
    assert smtp_server.schema_violations == []

    again = await send(mail)  # a retry: same Message-ID, so receivers can de-duplicate
    other = await send(mail, key="escalation-T-1:s1:email:alice")
    assert again.external_id == receipt.external_id != other.external_id
    assert smtp_server.messages[1].header("Message-ID") == receipt.external_id


def test_message_id_is_stable_and_in_the_sender_domain() -> None:
    first = make_message_id("k", "Escalations <esc@acme.example>")
    assert first == make_message_id("k", "esc@acme.example")
    assert first.startswith("<esc.") and first.endswith("@acme.example>")
    assert make_message_id("k", "no-at-sign").endswith("@escalation-routing.local>")


async def test_header_injection_is_neutralised(
    smtp_server: SmtpServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    await adapter(smtp_server, http, outbox).send(
        to=["alice@example.com"],
        subject="hello\r\nBcc: mallory@example.com",
        body="x",
        idempotency_key="k",
        escalation_id="e\n1",
    )
    (message,) = smtp_server.messages
    assert message.header("Bcc") is None
    assert message.header("Subject") == "hello Bcc: mallory@example.com"
    assert message.rcpt_tos == ["alice@example.com"]


async def test_login_when_username_is_set() -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        with SmtpServer(auth=("mailer", "s3cret")) as server:
            outbox = MemoryOutbox()
            receipt = await send(adapter(server, http, outbox))
            assert receipt.delivered and len(server.messages) == 1

            wrong = live_settings(smtp=server, smtp_password="nope")
            with pytest.raises(PermanentVendorError) as caught:
                await send(EmailAdapter(wrong, http, outbox))
            assert caught.value.status == 535
            assert len(server.messages) == 1


async def test_4xx_reply_is_retryable(
    smtp_server: SmtpServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    mail = adapter(smtp_server, http, outbox)
    smtp_server.refuse_next(451)
    with pytest.raises(RetryableVendorError) as caught:
        await send(mail)
    assert caught.value.status == 451
    assert (await send(mail)).delivered  # the next attempt goes through
    assert len(smtp_server.messages) == 1


async def test_5xx_reply_is_permanent(
    smtp_server: SmtpServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    smtp_server.refuse_next(550, stage="mail")
    with pytest.raises(PermanentVendorError) as caught:
        await send(adapter(smtp_server, http, outbox))
    assert caught.value.status == 550
    assert smtp_server.messages == []


async def test_recipients_refused(
    smtp_server: SmtpServer, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    mail = adapter(smtp_server, http, outbox)
    smtp_server.refuse_next(550, stage="rcpt", times=2, text="5.1.1 User unknown")
    with pytest.raises(PermanentVendorError):
        await send(mail)  # both refused permanently

    smtp_server.refuse_next(450, stage="rcpt", times=2, text="4.2.0 Mailbox busy")
    with pytest.raises(RetryableVendorError):
        await send(mail)  # both refused temporarily

    smtp_server.refuse_next(550, stage="rcpt", times=1, text="5.1.1 User unknown")
    partial = await send(mail)  # alice refused, bob accepted: delivered, refusal reported
    assert partial.delivered
    assert partial.detail["recipients"] == ["bob@example.com"]
    assert partial.detail["refused"] == {"alice@example.com": [550, "5.1.1 User unknown"]}
    assert smtp_server.messages[-1].rcpt_tos == ["bob@example.com"]


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    yield port


async def test_connection_refused_is_retryable(
    closed_port: int, http: httpx.AsyncClient, outbox: MemoryOutbox
) -> None:
    settings = live_settings(smtp_host="127.0.0.1", smtp_port=closed_port)
    with pytest.raises(RetryableVendorError) as caught:
        await send(EmailAdapter(settings, http, outbox))
    assert caught.value.status is None


async def test_no_recipients_is_permanent(http: httpx.AsyncClient, outbox: MemoryOutbox) -> None:
    with pytest.raises(PermanentVendorError):
        await EmailAdapter(offline_settings(), http, outbox).send(
            to=[" "], subject="s", body="b", idempotency_key="k", escalation_id="e"
        )


async def test_outbox_mode_without_smtp_host(http: httpx.AsyncClient, outbox: MemoryOutbox) -> None:
    mail = EmailAdapter(offline_settings(), http, outbox)
    assert not mail.live
    receipt = await send(mail)
    assert not receipt.delivered
    message = outbox.only()
    assert (message.vendor, message.operation) == ("email", "send")
    assert message.idempotency_key == "escalation-T-1:s0:email:alice"
    assert message.payload == {
        "from": "escalations@example.com",
        "to": ["alice@example.com", "bob@example.com"],
        "subject": "[P1] Checkout failing for ACME",
        "body": "Team: Payments\nTicket: T-1\n",
        "headers": {
            "Message-ID": receipt.external_id,
            "X-Escalation-Id": "escalation-T-1",
        },
    }
