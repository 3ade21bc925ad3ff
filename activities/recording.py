"""Activity that writes an escalation's timeline (and row snapshot) to the store."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DataError
from temporalio import activity

from activities.store_errors import poison_input_not_retried
from escalation import activity_names as names
from escalation.models import TimelineBatch, TimelineEntry
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
        """Several lines in one transaction; the event keys of the new ones. A line the
        database refuses fails the batch, so the lines are then written one by one and only
        the refused ones are left out."""
        try:
            return await asyncio.to_thread(self._repository.record_timeline_batch, batch.entries)
        except DataError:
            pass
        recorded: list[str] = []
        for entry in batch.entries:
            try:
                if await asyncio.to_thread(self._repository.record_timeline, entry):
                    recorded.append(entry.event_key)
            except DataError as err:
                activity.logger.error(
                    "timeline line refused by the store, left out",
                    extra={"event_key": entry.event_key, "error": str(err.orig)[:200]},
                )
        return recorded
