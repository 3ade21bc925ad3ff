"""Activity that writes an escalation's timeline (and row snapshot) to the store, with the
store-only notifications (in-app, queue) its lines report."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DataError
from temporalio import activity

from activities import metrics
from activities.store_errors import poison_input_not_retried
from escalation import activity_names as names
from escalation.models import InternalNotification, TimelineBatch, TimelineEntry
from store.repository import Repository


class RecordingActivities:
    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    @activity.defn(name=names.RECORD_TIMELINE)
    async def record_timeline(self, entry: TimelineEntry) -> bool:
        # The workflow retries this activity without limit (the store may be down); input the
        # database refuses would fail on every attempt, so that failure is not retried.
        with poison_input_not_retried(f"timeline entry {entry.event_key}"):
            return await asyncio.to_thread(self._repository.record_timeline, entry)

    @activity.defn(name=names.RECORD_TIMELINE_BATCH)
    async def record_timeline_batch(self, batch: TimelineBatch) -> list[str]:
        """Several lines, the notification rows they report and the escalation facts, in
        one transaction; the event keys of the new lines. Something the database refuses
        fails the transaction, so everything is then written one by one and only the refused
        parts are left out."""
        try:
            recorded = await asyncio.to_thread(
                self._repository.record_timeline_batch,
                batch.entries,
                batch.notifications,
                batch.facts,
            )
        except DataError:
            return await self._one_by_one(batch)
        _count_notifications(recorded.notifications)
        return recorded.event_keys

    async def _one_by_one(self, batch: TimelineBatch) -> list[str]:
        recorded: list[str] = []
        for entry in batch.entries:
            try:
                if await asyncio.to_thread(self._repository.record_timeline, entry):
                    recorded.append(entry.event_key)
            except DataError as err:
                _left_out("timeline line", entry.event_key, err)
        for notification in batch.notifications:
            try:
                new = await asyncio.to_thread(
                    self._repository.save_internal_notification, notification
                )
            except DataError as err:
                _left_out("notification", notification.idempotency_key, err)
                continue
            if new:
                _count_notifications([notification])
        if batch.facts is not None:
            try:
                await asyncio.to_thread(self._repository.record_escalation_facts, batch.facts)
            except DataError as err:
                _left_out("escalation facts", batch.facts.escalation_key, err)
        return recorded


def _count_notifications(new: list[InternalNotification]) -> None:
    for notification in new:
        metrics.notification(notification.channel, notification.result.outcome.value)


def _left_out(what: str, key: str, err: DataError) -> None:
    activity.logger.error(
        f"{what} refused by the store, left out",
        extra={"key": key, "error": str(err.orig)[:200]},
    )
