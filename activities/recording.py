"""Activity that writes an escalation's timeline (and row snapshot) to the store."""

from __future__ import annotations

import asyncio

from temporalio import activity

from escalation import activity_names as names
from escalation.models import TimelineEntry
from store.repository import Repository


class RecordingActivities:
    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    @activity.defn(name=names.RECORD_TIMELINE)
    async def record_timeline(self, entry: TimelineEntry) -> bool:
        return await asyncio.to_thread(self._repository.record_timeline, entry)
