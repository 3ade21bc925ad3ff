"""Delivery and recording activities when the store fails: real PostgreSQL (our own test
database taken offline), the local Slack server, and temporalio's ActivityEnvironment to run
one attempt after another with the heartbeat details Temporal hands to the next attempt."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from activities.recording import RecordingActivities
from activities.store_errors import STORE_REFUSED_INPUT
from escalation.models import EscalationStatus, TimelineEntry
from escalation.vocabulary import Priority, RouteKey
from store.repository import Repository
from tests.conftest import ADMIN_URL
from tests.integration.escalation_helpers import slack_request
from tests.integration.waiting import eventually
from tests.vendors.servers import SlackServer

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def store_offline(database_url: str) -> Iterator[None]:
    """Our database refuses connections (as while PostgreSQL restarts), then comes back."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
    try:
        yield
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def _posts(slack: SlackServer, ticket: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages("#escalations") if ticket in m["text"]]


async def test_the_next_attempt_records_a_sent_post_instead_of_posting_again(
    delivery: DeliveryActivities,
    slack_server: SlackServer,
    repository: Repository,
    database_url: str,
) -> None:
    """Attempt 1 posts to Slack, then cannot write the record (the store went offline while
    the post was in flight) and ends (its timeout: here cancelled). Attempt 2 starts with the
    heartbeat details of attempt 1 and the store back: it records the first post's ts and
    does not post again."""
    ticket = "REC-1"
    request = slack_request(ticket, f"escalation-{ticket}.r1")
    slack_server.fail_next("/chat.postMessage", status=None, delay=1.5, times=1)
    first = ActivityEnvironment()
    beats: list[tuple[Any, ...]] = []
    first.on_heartbeat = lambda *details: beats.append(details)
    attempt = asyncio.create_task(first.run(delivery.deliver_action, request))
    await eventually(lambda: slack_server.requests_to("/chat.postMessage"))
    with store_offline(database_url):
        await eventually(lambda: len(beats) >= 2, within=15)  # sent, then waiting for the store
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(attempt, 10)
    assert attempt.done() and not [
        r for r in repository.notifications(request.escalation_key) if r.channel == "slack"
    ]
    posted = _posts(slack_server, ticket)
    assert len(posted) == 1

    second = ActivityEnvironment()
    second.info = dataclasses.replace(
        ActivityEnvironment.default_info(), attempt=2, heartbeat_details=list(beats[-1])
    )
    result = await second.run(delivery.deliver_action, request)

    assert len(_posts(slack_server, ticket)) == 1, "the retry posted a second message"
    rows = [r for r in repository.notifications(request.escalation_key) if r.channel == "slack"]
    assert [(r.outcome, r.external_id) for r in rows] == [("delivered", posted[0]["ts"])]
    assert result.outcome.value == "delivered" and result.messages[0].ts == posted[0]["ts"]


async def test_a_short_store_outage_is_waited_out_within_the_attempt(
    delivery: DeliveryActivities,
    slack_server: SlackServer,
    repository: Repository,
    database_url: str,
) -> None:
    """The store is offline for 3 s right after the vendor accepted: the same attempt waits
    for it and records the post (no retry, so no second post)."""
    ticket = "REC-2"
    request = slack_request(ticket, f"escalation-{ticket}.r1")
    slack_server.fail_next("/chat.postMessage", status=None, delay=1.0, times=1)
    env = ActivityEnvironment()
    attempt = asyncio.create_task(env.run(delivery.deliver_action, request))
    await eventually(lambda: slack_server.requests_to("/chat.postMessage"))
    with store_offline(database_url):
        await asyncio.sleep(3)
        assert not attempt.done()
    result = await asyncio.wait_for(attempt, 20)
    posted = _posts(slack_server, ticket)
    rows = [r for r in repository.notifications(request.escalation_key) if r.channel == "slack"]
    assert len(posted) == 1 and [r.external_id for r in rows] == [posted[0]["ts"]]
    assert result.outcome.value == "delivered"


async def test_a_timeline_entry_the_store_refuses_is_not_retried(
    repository: Repository,
) -> None:
    """NUL in text: PostgreSQL refuses it on every attempt, so the activity says so with a
    non-retryable error instead of letting the workflow retry it forever."""
    entry = TimelineEntry(
        escalation_key="escalation-REC-3.r1",
        ticket_id="REC-3",
        event_key="escalation-REC-3.r1:1",
        sequence=1,
        kind="escalation_started",
        at=datetime.now(UTC),
        status=EscalationStatus.PAGING,
        priority=Priority.P3,
        route=RouteKey.TECHNICAL,
        team="payments",
        subject="checkout\u0000down",
    )
    recording = RecordingActivities(repository)
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(recording.record_timeline, entry)
    assert refused.value.non_retryable and refused.value.type == STORE_REFUSED_INPUT
    assert "NUL" in str(refused.value)
    clean = entry.model_copy(update={"subject": "checkout down"})
    assert await ActivityEnvironment().run(recording.record_timeline, clean) is True


def test_a_repeated_notification_record_returns_the_first(repository: Repository) -> None:
    """At-least-once activities: the second record of a unit changes nothing and answers
    the first one (the single-round-trip RETURNING path and the repeat path)."""
    values: dict[str, Any] = {
        "idempotency_key": "escalation-REPEAT.r1.g0:s0:a0:page:pagerduty:alice",
        "escalation_key": "escalation-REPEAT.r1.g0",
        "ticket_id": "REPEAT",
        "step_index": 0,
        "action": "page",
        "channel": "pagerduty",
        "target": "alice",
        "external_id": "dedup-1",
        "error": None,
    }
    first = repository.save_notification(
        **values, outcome="delivered", result={"outcome": "delivered", "channel": "pagerduty"}
    )
    again = repository.save_notification(
        **values, outcome="failed", result={"outcome": "failed", "channel": "pagerduty"}
    )
    assert (first.id, first.outcome, first.result["outcome"]) == (
        again.id,
        "delivered",
        "delivered",
    )
    assert [r.outcome for r in repository.notifications("escalation-REPEAT.r1.")] == ["delivered"]
