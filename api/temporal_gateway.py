"""The API's single door to Temporal: connects once, lazily, and maps Temporal's errors onto
HTTP answers (unknown ticket 404, impossible transition 409, Temporal down 503)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from fastapi import HTTPException, status
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from escalation.settings import Settings
from worker.client import connect


def workflow_id_for(ticket_id: str) -> str:
    return f"escalation-{ticket_id}"


class EscalationKeys:
    """The escalation key (``<workflow id>.<first run id[:8]>``) last seen for each ticket, from
    the states this process answered with. Only a hint: the key belongs to one run, and a
    ticket whose escalation ended may get a new one, so a reader checks the hint against the
    state it then gets. Lets GET read the timeline while the workflow answers its query."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max_entries = max_entries
        self._keys: OrderedDict[str, str] = OrderedDict()

    def get(self, ticket_id: str) -> str | None:
        return self._keys.get(ticket_id)

    def remember(self, ticket_id: str, escalation_key: str) -> None:
        self._keys[ticket_id] = escalation_key
        self._keys.move_to_end(ticket_id)
        if len(self._keys) > self._max_entries:
            self._keys.popitem(last=False)

    def forget(self, ticket_id: str) -> None:
        self._keys.pop(ticket_id, None)


class TemporalGateway:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self.escalation_keys = EscalationKeys()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await connect(self._settings)
                    except Exception as exc:  # connection refused, DNS, TLS...
                        raise HTTPException(
                            status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"Temporal at {self._settings.temporal_address} is unavailable: {exc}",
                        ) from exc
        return self._client

    async def handle(self, ticket_id: str) -> WorkflowHandle[Any, Any]:
        client = await self.client()
        return client.get_workflow_handle(workflow_id_for(ticket_id))

    def ui_url(self, ticket_id: str) -> str:
        return (
            f"{self._settings.temporal_ui_url}/namespaces/{self._settings.temporal_namespace}"
            f"/workflows/{workflow_id_for(ticket_id)}"
        )


async def translate_errors(
    ticket_id: str, handle: WorkflowHandle[Any, Any], exc: Exception
) -> HTTPException:
    """Turn a failed query/update/signal into the HTTP error a client can act on."""
    if isinstance(exc, WorkflowUpdateFailedError):
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == "Conflict":
            return HTTPException(status.HTTP_409_CONFLICT, cause.message)
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(cause or exc))
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.NOT_FOUND:
            try:
                description = await handle.describe()
            except RPCError:
                return HTTPException(
                    status.HTTP_404_NOT_FOUND, f"no escalation for ticket {ticket_id!r}"
                )
            if description.status != WorkflowExecutionStatus.RUNNING:
                return HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"escalation for ticket {ticket_id!r} is closed "
                    f"({description.status.name.lower() if description.status else 'closed'})",
                )
        if exc.status == RPCStatusCode.UNAVAILABLE:
            return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Temporal is unavailable")
    raise exc
