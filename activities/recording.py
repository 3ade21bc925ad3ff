"""Activity that writes an escalation's timeline (and row snapshot) to the store."""

from __future__ import annotations

import asyncio

from temporalio import activity

from activities.store_errors import poison_input_not_retried
from escalation import activity_names as names
from escalation.models import TimelineEntry
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
