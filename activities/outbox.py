"""The outbox sink: where adapters without credentials put what they would have sent."""

from __future__ import annotations

import asyncio

import structlog

from activities.adapters.base import OutboxMessage
from store.repository import Repository

log = structlog.get_logger("escalation.outbox")


class StoreOutbox:
    """Writes outbox messages to the store (unique per vendor, operation and key) and logs a
    one-line summary so `escalation dev` shows what would have been sent."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    async def write(self, message: OutboxMessage) -> None:
        inserted = await asyncio.to_thread(
            self._repository.write_outbox,
            vendor=message.vendor,
            operation=message.operation,
            idempotency_key=message.idempotency_key,
            payload=message.payload,
        )
        if inserted:
            log.info(
                "outbox",
                vendor=message.vendor,
                operation=message.operation,
                key=message.idempotency_key,
            )
