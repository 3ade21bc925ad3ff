"""Delivery activities: carry out one cadence action, and bring channels in line with state.

Exactly-once effects over at-least-once activities: every unit of delivery (one channel, one
target) has an idempotency key derived from escalation + step + action + channel + target and
is recorded in the notifications table before the activity returns; a retried activity finds
the record and does not send again. Vendor errors are classified by the adapters: retryable
ones are re-raised for Temporal to retry (honouring Retry-After), permanent ones are recorded
and the action's fallback channel is used, so an escalation never stalls on a vendor.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog
from sqlalchemy.exc import DataError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics
from activities.adapters.base import (
    DeliveryReceipt,
    PermanentVendorError,
    RetryableVendorError,
)
from activities.adapters.registry import Adapters
from activities.adapters.slack import escalation_message_blocks
from activities.sent_units import (
    SentUnit,
    heartbeat_sent_units,
    remember_sent,
    remembering_sent_units,
    sent_before,
)
from activities.store_errors import poison_input_not_retried, store_unavailable
from escalation import activity_names as names
from escalation.delivery_lines import delivery_line, sync_line
from escalation.internal_records import internal_target, notification_key
from escalation.models import (
    ActionOutcome,
    DeliverRequest,
    DeliveryResult,
    EscalationStatus,
    MessageRef,
    PageRef,
    Recipient,
    SyncRequest,
    SyncResult,
    TimelineEntry,
)
from escalation.policy import ActionKind
from escalation.vocabulary import Priority
from store.repository import Repository

log = structlog.get_logger("escalation.delivery")

Send = Callable[[], Awaitable[DeliveryReceipt]]
Deliver = Callable[[], Awaitable[DeliveryResult]]

# A record that could not be written after the vendor accepted is retried in-process: the
# store is usually back within seconds, and failing the attempt would risk a second send.
_SAVE_FIRST_WAIT = 0.5
_SAVE_MAX_WAIT = 5.0
BUDGET_EXHAUSTED = "delivery budget exhausted"

_PD_SEVERITY: dict[Priority, Literal["critical", "error", "warning", "info"]] = {
    Priority.P0: "critical",
    Priority.P1: "error",
    Priority.P2: "warning",
    Priority.P3: "info",
}
_OPSGENIE_PRIORITY: dict[Priority, Literal["P1", "P2", "P3", "P4", "P5"]] = {
    Priority.P0: "P1",
    Priority.P1: "P2",
    Priority.P2: "P3",
    Priority.P3: "P4",
}
_JIRA_PRIORITY = {
    Priority.P0: "Highest",
    Priority.P1: "High",
    Priority.P2: "Medium",
    Priority.P3: "Low",
}
_STATUSPAGE_IMPACT: dict[Priority, Literal["none", "minor", "major", "critical"]] = {
    Priority.P0: "critical",
    Priority.P1: "major",
    Priority.P2: "minor",
    Priority.P3: "none",
}


def headline(request: DeliverRequest) -> str:
    subject = request.subject or f"Ticket {request.ticket_id}"
    customer = f" for {request.customer_name}" if request.customer_name else ""
    return f"[{request.priority.value}] {subject}{customer} ({request.customer_tier.value})"


def war_room_name(ticket_id: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", f"war-room-{ticket_id}".lower())[:80]


def _paging_channel(request: DeliverRequest) -> str:
    """The notifications channel of a page: the team's paging provider."""
    return "opsgenie" if request.paging_provider == "opsgenie" else "pagerduty"


def dedup_key(request: DeliverRequest, target: str) -> str:
    """PagerDuty dedup_key / Opsgenie alias: workflow id + step + target, at most 255."""
    key = f"{request.escalation_key}:s{request.step_index}:{target}"
    if len(key) <= 255:
        return key
    return key[:190] + ":" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _retryable(err: RetryableVendorError) -> ApplicationError:
    delay = timedelta(seconds=err.retry_after) if err.retry_after is not None else None
    return ApplicationError(
        str(err), type="RetryableVendorError", next_retry_delay=delay, non_retryable=False
    )


class DeliveryActivities:
    """Activities that talk to vendors. Receives its adapters and repository (easy to test)."""

    def __init__(self, adapters: Adapters, repository: Repository) -> None:
        self._adapters = adapters
        self._repository = repository

    # ------------------------------------------------------------------ deliver one action
    @activity.defn(name=names.DELIVER_ACTION)
    async def deliver_action(self, request: DeliverRequest) -> DeliveryResult:
        handler = self._handlers()[request.action.kind]
        try:
            # Poison input (e.g. NUL in a target) would fail every retry the same way.
            with poison_input_not_retried("a notification record"), remembering_sent_units():
                result = await handler(request)
        except RetryableVendorError as err:
            metrics.vendor_error(err.vendor, err.status)
            log.warning(
                "vendor_retry", vendor=err.vendor, status=err.status, key=request.escalation_key
            )
            raise _retryable(err) from err
        if request.timeline is None:  # the workflow records this line itself
            return result
        line = delivery_line(request.timeline, request.action.kind, result, datetime.now(UTC))
        return result.model_copy(update={"recorded": await self._write_line(line)})

    async def _write_line(self, line: TimelineEntry) -> bool:
        """Write the line the workflow reserved (escalation/delivery_lines.py). A line the
        store refuses is left to the workflow, which writes it through its own store path
        (that logs it and leaves it out); the store being down is retried like any attempt."""
        try:
            await asyncio.to_thread(self._repository.record_timeline, line)
        except DataError as err:
            log.error("timeline line refused", key=line.event_key, error=str(err.orig)[:200])
            return False
        return True

    def _handlers(self) -> dict[ActionKind, Callable[[DeliverRequest], Awaitable[DeliveryResult]]]:
        # Steps dispatch through a table (as Grafana OnCall's escalation snapshot does).
        return {
            ActionKind.PAGE: self._page,
            ActionKind.SLACK: self._slack,
            ActionKind.EMAIL: self._email,
            ActionKind.EXECUTIVE_NOTIFICATION: self._email,
            ActionKind.SMS: self._sms,
            ActionKind.PHONE: self._phone,
            ActionKind.STATUS_PAGE: self._status_page,
            ActionKind.WAR_ROOM: self._war_room,
            ActionKind.CUSTOMER_COMMUNICATION: self._customer,
            ActionKind.OWNERSHIP_CHANGE: self._ownership,
            ActionKind.REASSIGN: self._reassign,
            ActionKind.IN_APP: self._internal,
            ActionKind.QUEUE: self._internal,
            ActionKind.FILE_BUG: self._file_bug,
            ActionKind.HELPDESK_NOTE: self._helpdesk_note,
        }

    def _key(self, request: DeliverRequest, channel: str, target: str) -> str:
        return notification_key(
            request.escalation_key,
            request.step_index,
            request.action_index,
            request.action.kind,
            channel,
            target,
        )

    async def _once(
        self,
        request: DeliverRequest,
        channel: str,
        target: str,
        send: Send,
        *,
        page_key: str | None = None,
        as_fallback: bool = False,
    ) -> DeliveryResult:
        """Send one unit unless its idempotency key is already recorded; record the outcome.

        Retryable errors propagate (nothing recorded, Temporal retries); a permanent error is
        recorded as failed and returned so the caller can fall back. `as_fallback`: this unit
        stands in for a primary channel that failed, so a success is recorded as `fallback`
        (the on-call analytics and the review read it from the notifications table)."""
        key = self._key(request, channel, target)
        existing = await asyncio.to_thread(self._repository.find_notification, key)
        if existing is not None:
            return DeliveryResult.model_validate(existing.result)
        unit = sent_before(key)
        if unit is None:
            unit = await self._call_vendor(request, key, channel, target, send, page_key)
            # Before the record: if the store is down now, the next attempt must not send again.
            remember_sent(key, unit)
        else:
            log.info("vendor_call_skipped", key=key, reason="sent by an earlier attempt")
        result = unit.result
        if as_fallback and result.outcome in (ActionOutcome.DELIVERED, ActionOutcome.OUTBOX):
            result = result.model_copy(update={"outcome": ActionOutcome.FALLBACK})
        return await self._save(
            request, key, channel, target, result, error=unit.error, external=unit.external_id
        )

    async def _call_vendor(
        self,
        request: DeliverRequest,
        key: str,
        channel: str,
        target: str,
        send: Send,
        page_key: str | None,
    ) -> SentUnit:
        """One vendor call; a permanent refusal is an answer too (recorded as failed)."""
        try:
            receipt = await send()
        except PermanentVendorError as err:
            metrics.vendor_error(err.vendor, err.status)
            log.warning("vendor_refused", vendor=err.vendor, status=err.status, channel=channel)
            failed = DeliveryResult(outcome=ActionOutcome.FAILED, channel=channel, detail=str(err))
            return SentUnit(result=failed, error=str(err))
        result = DeliveryResult(
            outcome=ActionOutcome.DELIVERED if receipt.delivered else ActionOutcome.OUTBOX,
            channel=channel,
            detail=receipt.external_id or "",
        )
        if page_key is not None:
            result.pages.append(
                PageRef(
                    provider=channel, dedup_key=page_key, routing_key=request.pagerduty_routing_key
                )
            )
        if receipt.operation == "post_message":
            # In outbox mode there is no real ts; a stable stand-in lets the later update land
            # in the outbox too, so the dev default shows the whole story.
            ts = receipt.external_id or f"outbox-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
            result.messages.append(
                MessageRef(channel=str(receipt.detail.get("channel", target)), ts=ts)
            )
        return SentUnit(result=result, external_id=receipt.external_id)

    async def _save(
        self,
        request: DeliverRequest,
        key: str,
        channel: str,
        target: str,
        result: DeliveryResult,
        *,
        error: str | None = None,
        external: str | None = None,
    ) -> DeliveryResult:
        values: dict[str, Any] = {
            "idempotency_key": key,
            "escalation_key": request.escalation_key,
            "ticket_id": request.ticket_id,
            "step_index": request.step_index,
            "action": request.action.kind.value,
            "channel": channel,
            "target": target[:200],
            "outcome": result.outcome.value,
            "external_id": external,
            "error": error,
            "result": result.stored(),
        }
        wait = _SAVE_FIRST_WAIT
        while True:
            try:
                row = await asyncio.to_thread(self._repository.save_notification, **values)
                break
            except Exception as err:
                if not store_unavailable(err):
                    raise
                # Wait for the store inside this attempt (heartbeating, so the sent units
                # stay with the activity) until it is back or the attempt times out.
                log.warning("store_unavailable", key=key, retry_in=wait, error=str(err)[:200])
                heartbeat_sent_units()
                await asyncio.sleep(wait)
                wait = min(wait * 2, _SAVE_MAX_WAIT)
        metrics.notification(channel, result.outcome.value)
        return DeliveryResult.model_validate(row.result)

    async def _with_fallback(
        self,
        request: DeliverRequest,
        primary_unit: tuple[str, str],
        primary: Deliver,
        fallback: Deliver | None,
    ) -> DeliveryResult:
        """Primary channel unless the workflow asked for the fallback; fall back on failure.

        `primary_unit` is the (channel, target) of the primary's notifications row. The
        fallback's own units are recorded with outcome `fallback` (see `_once`)."""
        if request.use_fallback:
            delivered = await self._primary_gave_up(request, *primary_unit)
            if delivered is not None:
                return delivered
        else:
            result = await primary()
            if result.outcome is not ActionOutcome.FAILED or fallback is None:
                return result
        if fallback is None:
            return DeliveryResult(
                outcome=ActionOutcome.FAILED,
                channel=request.action.kind.value,
                detail="no fallback channel for this action",
            )
        result = await fallback()
        if result.outcome in (ActionOutcome.DELIVERED, ActionOutcome.OUTBOX):
            result = result.model_copy(update={"outcome": ActionOutcome.FALLBACK})
        return result

    async def _primary_gave_up(
        self, request: DeliverRequest, channel: str, target: str
    ) -> DeliveryResult | None:
        """The workflow asks for the fallback once the primary's delivery budget ran out.
        Retryable errors record nothing, so the primary unit has no row yet: record it as
        failed, so the notifications table shows the page as failed and the fallback apart.
        Returns the primary's result instead when a late attempt did deliver it after all
        (then no fallback is sent)."""
        key = self._key(request, channel, target)
        existing = await asyncio.to_thread(self._repository.find_notification, key)
        if existing is not None:
            recorded = DeliveryResult.model_validate(existing.result)
            return None if recorded.outcome is ActionOutcome.FAILED else recorded
        failed = DeliveryResult(
            outcome=ActionOutcome.FAILED, channel=channel, detail=BUDGET_EXHAUSTED
        )
        await self._save(request, key, channel, target, failed, error=BUDGET_EXHAUSTED)
        return None

    @staticmethod
    def _merge(results: list[DeliveryResult], channel: str) -> DeliveryResult:
        if not results:
            return DeliveryResult(
                outcome=ActionOutcome.SKIPPED, channel=channel, detail="nobody to notify"
            )
        outcomes = {r.outcome for r in results}
        outcome = (
            ActionOutcome.FAILED
            if outcomes == {ActionOutcome.FAILED}
            else next(
                o
                for o in (
                    ActionOutcome.DELIVERED,
                    ActionOutcome.FALLBACK,
                    ActionOutcome.OUTBOX,
                    ActionOutcome.FAILED,
                    ActionOutcome.SKIPPED,
                )
                if o in outcomes
            )
        )
        return DeliveryResult(
            outcome=outcome,
            channel=channel,
            detail="; ".join(r.detail for r in results if r.detail)[:500],
            pages=[p for r in results for p in r.pages],
            messages=[m for r in results for m in r.messages],
            new_owner=next((r.new_owner for r in results if r.new_owner), None),
        )

    # ------------------------------------------------------------------ handlers
    async def _page(self, request: DeliverRequest) -> DeliveryResult:
        results = []
        for person in request.action.recipients:
            target = person.person_id or person.name
            results.append(
                await self._with_fallback(
                    request,
                    (_paging_channel(request), target),
                    lambda p=person, t=target: self._page_one(request, p, t),  # type: ignore[misc]
                    lambda p=person, t=target: self._sms_one(  # type: ignore[misc]
                        request, p, t, as_fallback=True
                    ),
                )
            )
        return self._merge(results, request.paging_provider)

    async def _page_one(
        self, request: DeliverRequest, person: Recipient, target: str
    ) -> DeliveryResult:
        key = dedup_key(request, target)
        summary = f"{headline(request)}: page {person.name}"
        if _paging_channel(request) == "opsgenie":
            ops = self._adapters.opsgenie
            return await self._once(
                request,
                "opsgenie",
                target,
                lambda: ops.create_alert(
                    alias=key,
                    message=summary[:130],
                    description=summary,
                    priority=_OPSGENIE_PRIORITY[request.priority],
                    responders=[{"type": "user", "username": person.email or person.name}],
                    tags=["escalation", request.priority.value, request.team],
                    details={"ticket_id": request.ticket_id, "team": request.team},
                ),
                page_key=key,
            )
        pd = self._adapters.pagerduty
        return await self._once(
            request,
            "pagerduty",
            target,
            lambda: pd.trigger(
                dedup_key=key,
                summary=summary,
                source=f"escalation-routing/{request.team}",
                severity=_PD_SEVERITY[request.priority],
                custom_details={
                    "ticket_id": request.ticket_id,
                    "priority": request.priority.value,
                    "customer_tier": request.customer_tier.value,
                    "team": request.team,
                    "target": person.name,
                    "escalation": request.escalation_key,
                },
                routing_key=request.pagerduty_routing_key,
            ),
            page_key=key,
        )

    async def _sms_one(
        self, request: DeliverRequest, person: Recipient, target: str, *, as_fallback: bool = False
    ) -> DeliveryResult:
        if not person.phone:
            return await self._email_to(
                request, [person], target, channel="email", as_fallback=as_fallback
            )
        twilio = self._adapters.twilio
        phone = person.phone
        return await self._once(
            request,
            "sms",
            target,
            lambda: twilio.send_sms(
                to=phone,
                body=f"{headline(request)} - reply in Slack or PagerDuty to acknowledge"[:1600],
                idempotency_key=self._key(request, "sms", target),
            ),
            as_fallback=as_fallback,
        )

    async def _slack(self, request: DeliverRequest) -> DeliveryResult:
        channel = request.action.channel or "#escalations"
        mentions = " ".join(
            f"<@{r.slack_user_id}>" for r in request.action.recipients if r.slack_user_id
        )
        text = f"{headline(request)} · {request.team_name} {mentions}".strip()
        slack = self._adapters.slack
        note = request.action.note
        return await self._with_fallback(
            request,
            ("slack", channel),
            lambda: self._once(
                request,
                "slack",
                channel,
                lambda: slack.post_message(
                    channel=channel,
                    text=text,
                    blocks=escalation_message_blocks(
                        ticket_id=request.ticket_id,
                        headline=headline(request),
                        body=f"Team *{request.team_name}* {mentions}\n{note}".strip(),
                        state="open",
                    ),
                    idempotency_key=self._key(request, "slack", channel),
                ),
            ),
            lambda: self._email_to(
                request,
                request.action.recipients or request.responders,
                channel,
                channel="email",
                as_fallback=True,
            ),
        )

    async def _email(self, request: DeliverRequest) -> DeliveryResult:
        recipients = request.action.recipients
        target = ",".join(r.person_id or r.name for r in recipients)
        slack = self._adapters.slack
        return await self._with_fallback(
            request,
            ("email", target),
            lambda: self._email_to(request, recipients, target, channel="email"),
            lambda: self._once(
                request,
                "slack",
                target,
                lambda: slack.post_message(
                    channel="#escalations",
                    text=f"{headline(request)} (email to {target} failed)",
                    blocks=None,
                    idempotency_key=self._key(request, "slack", target),
                ),
                as_fallback=True,
            ),
        )

    async def _email_to(
        self,
        request: DeliverRequest,
        recipients: list[Recipient],
        target: str,
        *,
        channel: str,
        body: str | None = None,
        as_fallback: bool = False,
    ) -> DeliveryResult:
        addresses = [r.email for r in recipients if r.email]
        if not addresses:
            return DeliveryResult(
                outcome=ActionOutcome.SKIPPED, channel=channel, detail="no email address"
            )
        mail = self._adapters.email
        note = f"\n\n{request.action.note}" if request.action.note else ""
        if body is None:
            body = (
                f"{headline(request)}\n\nTeam: {request.team_name}\n"
                f"Ticket: {request.ticket_id}\nEscalation: {request.escalation_key}{note}\n"
            )
        return await self._once(
            request,
            channel,
            target,
            lambda: mail.send(
                to=addresses,
                subject=headline(request),
                body=body,
                idempotency_key=self._key(request, channel, target),
                escalation_id=request.escalation_key,
            ),
            as_fallback=as_fallback,
        )

    async def _sms(self, request: DeliverRequest) -> DeliveryResult:
        results = [
            await self._sms_one(request, person, person.person_id or person.name)
            for person in request.action.recipients
        ]
        return self._merge(results, "sms")

    async def _phone(self, request: DeliverRequest) -> DeliveryResult:
        twilio = self._adapters.twilio
        results = []
        for person in request.action.recipients:
            target = person.person_id or person.name
            phone = person.phone
            if not phone:
                results.append(await self._email_to(request, [person], target, channel="email"))
                continue
            twiml = (
                f"<Response><Say>{request.priority.value} escalation for "
                f"{request.customer_name or 'a customer'}, ticket {request.ticket_id}. "
                "Please acknowledge in Slack or PagerDuty.</Say></Response>"
            )
            results.append(
                await self._with_fallback(
                    request,
                    ("phone", target),
                    lambda t=target, n=phone, x=twiml: self._once(  # type: ignore[misc]
                        request,
                        "phone",
                        t,
                        lambda: twilio.place_call(
                            to=n, twiml=x, idempotency_key=self._key(request, "phone", t)
                        ),
                    ),
                    lambda p=person, t=target: self._sms_one(  # type: ignore[misc]
                        request, p, t, as_fallback=True
                    ),
                )
            )
        return self._merge(results, "phone")

    async def _status_page(self, request: DeliverRequest) -> DeliveryResult:
        statuspage = self._adapters.statuspage
        return await self._once(
            request,
            "statuspage",
            "page",
            lambda: statuspage.create_incident(
                name=f"Investigating: {request.subject or 'service disruption'}"[:255],
                body="We are investigating reports of a problem and will post an update shortly.",
                impact=_STATUSPAGE_IMPACT[request.priority],
                component_ids=[],
                metadata={
                    "escalation": {"id": request.escalation_key, "ticket": request.ticket_id}
                },
                idempotency_key=self._key(request, "statuspage", "page"),
            ),
        )

    async def _war_room(self, request: DeliverRequest) -> DeliveryResult:
        slack = self._adapters.slack
        name = war_room_name(request.ticket_id)
        people = {
            r.person_id or r.name: r for r in [*request.responders, *request.action.recipients]
        }
        created = await self._once(
            request,
            "slack",
            f"create:{name}",
            lambda: slack.create_channel(
                name=name,
                idempotency_key=self._key(request, "slack", f"create:{name}"),
            ),
        )
        if created.outcome is ActionOutcome.FAILED:
            return await self._email_to(request, list(people.values()), name, channel="email")
        channel_id = created.detail or name
        user_ids = [r.slack_user_id for r in people.values() if r.slack_user_id]
        results = [created]
        if user_ids:
            results.append(
                await self._once(
                    request,
                    "slack",
                    f"invite:{name}",
                    lambda: slack.invite(
                        channel_id=channel_id,
                        user_ids=user_ids,
                        idempotency_key=self._key(request, "slack", f"invite:{name}"),
                    ),
                )
            )
        results.append(
            await self._once(
                request,
                "slack",
                f"post:{name}",
                lambda: slack.post_message(
                    channel=channel_id,
                    text=f"War room for {headline(request)}. Responders: "
                    + ", ".join(r.name for r in people.values()),
                    blocks=escalation_message_blocks(
                        ticket_id=request.ticket_id,
                        headline=headline(request),
                        body="War room opened: the primary on-call has not acknowledged.",
                        state="open",
                    ),
                    idempotency_key=self._key(request, "slack", f"post:{name}"),
                ),
            )
        )
        return self._merge(results, "slack")

    async def _customer(self, request: DeliverRequest) -> DeliveryResult:
        if request.legal_hold:
            # Legal hold: no outbound customer message leaves; the refusal is recorded.
            return await self._internal_record(
                request, "customer", outcome=ActionOutcome.SKIPPED, detail="refused: legal hold"
            )
        if not request.action.recipients:
            return DeliveryResult(
                outcome=ActionOutcome.SKIPPED,
                channel="email",
                detail="no customer contact on the escalation; the help desk keeps talking",
            )
        return await self._email_to(
            request,
            request.action.recipients,
            "customer",
            channel="email",
            body=request.customer_message or None,
        )

    async def _helpdesk_note(self, request: DeliverRequest) -> DeliveryResult:
        """An internal note on the ticket in the help desk it came from (never seen by the
        customer, so a legal hold does not stop it)."""
        desk, ticket = request.helpdesk, request.helpdesk_ticket_id
        text = request.action.note or headline(request)
        key = self._key(request, desk or "helpdesk", "note")
        if not desk or not ticket:
            return await self._internal_record(
                request, "helpdesk", outcome=ActionOutcome.SKIPPED, detail="no help desk ticket"
            )
        if desk == "zendesk":
            zendesk = self._adapters.zendesk
            return await self._once(
                request,
                desk,
                "note",
                lambda: zendesk.add_internal_note(ticket_id=ticket, body=text, idempotency_key=key),
            )
        if desk == "freshdesk":
            freshdesk = self._adapters.freshdesk
            return await self._once(
                request,
                desk,
                "note",
                lambda: freshdesk.add_private_note(
                    ticket_id=ticket, text=text, idempotency_key=key
                ),
            )
        if desk == "intercom":
            intercom = self._adapters.intercom
            return await self._once(
                request,
                desk,
                "note",
                lambda: intercom.add_note(conversation_id=ticket, text=text, idempotency_key=key),
            )
        return await self._internal_record(
            request, "helpdesk", outcome=ActionOutcome.SKIPPED, detail=f"unknown help desk {desk}"
        )

    async def _file_bug(self, request: DeliverRequest) -> DeliveryResult:
        jira = self._adapters.jira
        key = self._key(request, "jira", "bug")
        return await self._once(
            request,
            "jira",
            "bug",
            lambda: jira.create_bug(
                escalation_key=request.escalation_key,
                summary=headline(request),
                description=(
                    f"Escalated ticket {request.ticket_id} ({request.priority.value}, team "
                    f"{request.team_name}). Customer: {request.customer_name or 'unknown'} "
                    f"({request.customer_tier.value}).\nEscalation: {request.escalation_key}"
                ),
                priority=_JIRA_PRIORITY[request.priority],
                labels=["escalation", f"priority-{request.priority.value.lower()}"],
                idempotency_key=key,
            ),
        )

    async def _ownership(self, request: DeliverRequest) -> DeliveryResult:
        owner = request.action.recipients[0] if request.action.recipients else None
        if owner is None:
            return DeliveryResult(
                outcome=ActionOutcome.SKIPPED, channel="internal", detail="no owner configured"
            )
        result = await self._internal_record(
            request, owner.person_id or owner.name, new_owner=owner
        )
        return result

    async def _reassign(self, request: DeliverRequest) -> DeliveryResult:
        current = {r.person_id for r in request.responders[:1]}
        pool = [r for r in request.action.recipients if r.person_id not in current]
        if not pool:
            return DeliveryResult(
                outcome=ActionOutcome.SKIPPED, channel="internal", detail="pool is empty"
            )
        owner = pool[0]
        return await self._internal_record(request, owner.person_id or owner.name, new_owner=owner)

    async def _internal(self, request: DeliverRequest) -> DeliveryResult:
        """In histories from before `internal-records-with-timeline`; the workflow now
        writes these rows with its timeline (escalation/internal_records.py)."""
        return await self._internal_record(request, internal_target(request.action))

    async def _internal_record(
        self,
        request: DeliverRequest,
        target: str,
        *,
        new_owner: Recipient | None = None,
        outcome: ActionOutcome = ActionOutcome.DELIVERED,
        detail: str | None = None,
    ) -> DeliveryResult:
        """In-app notifications, queue entries and ownership changes live in our own store."""
        channel = request.action.kind.value
        key = self._key(request, channel, target)
        existing = await asyncio.to_thread(self._repository.find_notification, key)
        if existing is not None:
            return DeliveryResult.model_validate(existing.result)
        result = DeliveryResult(
            outcome=outcome, channel=channel, detail=detail or target, new_owner=new_owner
        )
        return await self._save(request, key, channel, target, result)

    # ------------------------------------------------------------------ state sync
    @activity.defn(name=names.SYNC_CHANNELS)
    async def sync_channels(self, request: SyncRequest) -> SyncResult:
        """Acknowledge or resolve every page and update every message. Idempotent: PagerDuty
        and Opsgenie ignore a repeated ack, and chat.update rewrites the same content."""
        failures: list[str] = []
        pages = messages = 0
        resolved = request.status is EscalationStatus.RESOLVED
        for page in request.pages:
            try:
                await self._sync_page(page, resolved, request.actor)
                pages += 1
            except PermanentVendorError as err:
                metrics.vendor_error(err.vendor, err.status)
                failures.append(str(err))
            except RetryableVendorError as err:
                metrics.vendor_error(err.vendor, err.status)
                raise _retryable(err) from err
        state: Literal["acknowledged", "resolved"] = "resolved" if resolved else "acknowledged"
        verb = "Resolved" if resolved else "Acknowledged"
        for message in request.messages:
            try:
                await self._adapters.slack.update_message(
                    channel=message.channel,
                    ts=message.ts,
                    text=f"{verb} by {request.actor} via {request.via.value}: {request.subject}",
                    blocks=escalation_message_blocks(
                        ticket_id=request.ticket_id,
                        headline=f"{verb}: {request.subject or request.ticket_id}",
                        body=f"{verb} by *{request.actor}* via {request.via.value}",
                        state=state,
                    ),
                    idempotency_key=f"{request.escalation_key}:update:{message.ts}:{state}",
                )
                messages += 1
            except PermanentVendorError as err:
                metrics.vendor_error(err.vendor, err.status)
                failures.append(str(err))
            except RetryableVendorError as err:
                metrics.vendor_error(err.vendor, err.status)
                raise _retryable(err) from err
        result = SyncResult(pages_updated=pages, messages_updated=messages, failures=failures)
        if request.timeline is None:
            return result
        line = sync_line(request.timeline, result, datetime.now(UTC))
        return result.model_copy(update={"recorded": await self._write_line(line)})

    async def _sync_page(self, page: PageRef, resolved: bool, actor: str) -> Any:
        if page.provider == "opsgenie":
            ops = self._adapters.opsgenie
            note = f"by {actor}"
            if resolved:
                return await ops.close(alias=page.dedup_key, note=note)
            return await ops.acknowledge(alias=page.dedup_key, note=note)
        pd = self._adapters.pagerduty
        if resolved:
            return await pd.resolve(dedup_key=page.dedup_key, routing_key=page.routing_key)
        return await pd.acknowledge(dedup_key=page.dedup_key, routing_key=page.routing_key)
