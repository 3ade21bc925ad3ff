"""Delivering an escalation's actions: each one a background activity with its channel's
fallback, in step order per channel, and every page and message kept in line with the
escalation's status."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from escalation import activity_names as names
    from escalation.delivery_lines import (
        delivery_detail,
        delivery_kind,
        delivery_line,
        records_itself,
        sync_detail,
        sync_line,
    )
    from escalation.internal_records import STORE_ONLY_KINDS, store_only_notification
    from escalation.models import (
        ACK_TARGET_SECONDS,
        ActionOutcome,
        Channel,
        DeliverRequest,
        DeliveryResult,
        EscalationStatus,
        PlannedAction,
        SyncRequest,
        SyncResult,
    )
    from escalation.policy import ActionKind

from workflows.escalation_core import (
    VENDOR_RETRY,
    EscalationCore,
)


class EscalationDelivery(EscalationCore):
    def _dispatch(
        self, step_index: int, action_index: int, action: PlannedAction, label: str
    ) -> None:
        """Deliver one action in the background (a slow vendor never delays the cadence)."""
        if self._internal_with_timeline and action.kind in STORE_ONLY_KINDS:
            self._record_store_only(step_index, action_index, action)
            return
        plan = self._require_plan()
        customer_message = (
            self._customer_message() if action.kind is ActionKind.CUSTOMER_COMMUNICATION else ""
        )
        if action.note and action.kind is ActionKind.CUSTOMER_COMMUNICATION:
            customer_message = action.note
        request = DeliverRequest(
            escalation_key=f"{self._key}.g{self._generation}",
            workflow_id=workflow.info().workflow_id,
            ticket_id=self._input.ticket_id,
            priority=self._input.priority,
            route=plan.route,
            team=plan.team,
            team_name=plan.team_name,
            step_index=step_index,
            action_index=action_index,
            action=action,
            subject=self._input.subject,
            customer_name=self._input.customer_name,
            customer_tier=self._input.customer_tier,
            paging_provider=plan.paging_provider,
            pagerduty_routing_key=plan.pagerduty_routing_key,
            responders=self._responders(),
            legal_hold=self._legal_hold,
            customer_message=customer_message,
            helpdesk=self._input.helpdesk,
            helpdesk_ticket_id=self._input.helpdesk_ticket_id,
            timeline=(
                self._reserve_line("action_delivered", step_index=step_index)
                if self._deliveries_record and records_itself(action.kind)
                else None
            ),
        )
        self._dispatched += 1
        number = self._dispatched
        self._in_flight[number] = ((self._generation, step_index), action.kind)
        self._tasks.append(asyncio.create_task(self._deliver(request, label, number)))

    def _record_store_only(self, step_index: int, action_index: int, action: PlannedAction) -> None:
        """An in-app notification or queue entry: its row goes with the `action_delivered`
        line that reports it, in one timeline batch (no vendor, so no activity of its own)."""
        row = store_only_notification(
            escalation_key=f"{self._key}.g{self._generation}",
            ticket_id=self._input.ticket_id,
            step_index=step_index,
            action_index=action_index,
            action=action,
        )
        self._record(
            "action_delivered",
            step_index=step_index,
            detail={
                "action": action.kind.value,
                "channel": row.result.channel,
                "outcome": row.result.outcome.value,
                "detail": row.result.detail[:300],
            },
            notification=row,
        )

    def _earlier_step_in_flight(self, number: int) -> bool:
        """Is a delivery of the same kind from an earlier step still being retried?"""
        batch, kind = self._in_flight[number]
        return any(
            other < number and other_kind is kind and other_batch != batch
            for other, (other_batch, other_kind) in self._in_flight.items()
        )

    def _customer_message(self) -> str:
        """The promise made to the customer, with the real computed time."""
        plan = self._require_plan()
        if not self._business_open and self._next_business_start is not None:
            when = self._next_business_start
        else:
            target = ACK_TARGET_SECONDS[self._input.priority] * self._input.time_scale
            when = workflow.now() + timedelta(seconds=target)
        return (
            f"Your issue ({self._input.subject or self._input.ticket_id}) has been escalated to "
            f"our {plan.team_name} and will be addressed by {when:%Y-%m-%d %H:%M} UTC."
        )

    async def _deliver(self, request: DeliverRequest, label: str, number: int) -> None:
        try:
            if self._in_step_order and self._earlier_step_in_flight(number):
                # After an outage, pages must arrive in step order: wait for the earlier ones.
                await workflow.wait_condition(lambda: not self._earlier_step_in_flight(number))
            result = await self._deliver_with_fallback(request, label)
        finally:
            self._in_flight.pop(number, None)
        action = request.action
        self._pages.extend(result.pages)
        self._messages.extend(result.messages)
        if result.new_owner is not None:
            self._assignee = result.new_owner.person_id or result.new_owner.name
        if request.timeline is None:
            self._record(
                delivery_kind(result),
                step_index=request.step_index,
                detail=delivery_detail(action.kind, result),
            )
        elif not result.recorded:  # every attempt failed, or the store refused the line
            self._enqueue(delivery_line(request.timeline, action.kind, result, workflow.now()))
        if self._status is not EscalationStatus.PAGING:
            # Acknowledged or resolved while this page was in flight: update it too.
            await self._sync_channels()

    async def _deliver_with_fallback(self, request: DeliverRequest, label: str) -> DeliveryResult:
        action = request.action
        who = ", ".join(r.name for r in action.recipients) or action.channel or "team"
        summary = f"{label}: {action.kind.value} -> {who}"
        try:
            return await self._deliver_once(request, summary)
        except ActivityError as err:
            # The vendor stayed down past the retry budget: use the channel's fallback.
            self._record(
                "delivery_retries_exhausted",
                step_index=request.step_index,
                detail={"action": action.kind.value, "error": str(err.cause or err)[:300]},
            )
        fallback = request.model_copy(update={"use_fallback": True})
        try:
            return await self._deliver_once(fallback, f"fallback for {summary}")
        except ActivityError as final:
            return DeliveryResult(
                outcome=ActionOutcome.FAILED,
                channel=action.kind.value,
                detail=str(final.cause or final)[:300],
            )

    async def _deliver_once(self, request: DeliverRequest, summary: str) -> DeliveryResult:
        result: DeliveryResult = await workflow.execute_activity(
            names.DELIVER_ACTION,
            request,
            result_type=DeliveryResult,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(seconds=self._input.delivery_budget_seconds),
            retry_policy=VENDOR_RETRY,
            summary=summary[:200],
        )
        return result

    async def _sync_channels(self) -> None:
        """Bring every page and message in line with the current status, once per change."""
        async with self._sync_lock:
            wanted = (self._status, len(self._pages), len(self._messages))
            if wanted == self._synced or self._status is EscalationStatus.PAGING:
                return
            if self._internal_with_timeline and not self._pages and not self._messages:
                # Nothing was paged or posted (e.g. a P3: queue + in-app): nothing to update.
                self._synced = wanted
                return
            actor, via = self._last_actor()
            reserved = self._reserve_line("channels_synced") if self._deliveries_record else None
            result = await workflow.execute_activity(
                names.SYNC_CHANNELS,
                SyncRequest(
                    escalation_key=self._key,
                    ticket_id=self._input.ticket_id,
                    status=self._status,
                    actor=actor,
                    via=via,
                    subject=self._input.subject,
                    pages=list(self._pages),
                    messages=list(self._messages),
                    timeline=reserved,
                ),
                result_type=SyncResult,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(seconds=self._input.delivery_budget_seconds),
                retry_policy=VENDOR_RETRY,
                summary=f"mark {len(self._pages)} pages, {len(self._messages)} messages "
                f"{self._status.value}",
            )
            self._synced = wanted
            if reserved is None:
                self._record("channels_synced", detail=sync_detail(self._status.value, result))
            elif not result.recorded:
                self._enqueue(sync_line(reserved, result, workflow.now()))

    async def _sync_after_transition(self) -> None:
        """Every channel follows an acknowledge or resolve. Once patched, the handler (and the
        Update's answer) no longer waits for the vendors: the sync runs on as a task."""
        if self._sync_in_background:
            self._tasks.append(asyncio.create_task(self._sync_channels()))
        else:
            await self._sync_channels()

    def _last_actor(self) -> tuple[str, Channel]:
        if self._resolution is not None:
            return self._resolution.by, self._resolution.via
        if self._ack is not None:
            return self._ack.by, self._ack.via
        return "system", Channel.SYSTEM
