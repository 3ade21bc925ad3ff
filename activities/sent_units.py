"""Vendor calls that already succeeded, carried from one activity attempt to the next.

A delivery unit is recorded in the notifications table after its vendor call returns. When
that record cannot be written (the store is down) and the attempt ends anyway (its
start-to-close timeout, a worker crash after the heartbeat left), the next attempt finds no
record and would call the vendor again: a second Slack post, e-mail or SMS. So right after a
vendor call returns, its result is heartbeated; Temporal keeps an activity's last heartbeat
details for the next attempt (`activity.info().heartbeat_details`), and that attempt records
the remembered result instead of calling the vendor.

The set of remembered units is per activity execution (a context variable: every activity
runs in its own asyncio task) and cumulative: each heartbeat carries every unit sent so far,
including those inherited from earlier attempts, because a heartbeat replaces the last one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio import activity

from escalation.models import DeliveryResult

log = structlog.get_logger("escalation.delivery")


class SentUnit(BaseModel):
    """What a vendor answered for one unit, with what its notifications row needs."""

    model_config = ConfigDict(extra="forbid")

    result: DeliveryResult
    external_id: str | None = None
    error: str | None = None


class SentUnits(BaseModel):
    """The heartbeat details of a delivery attempt: idempotency key -> vendor answer."""

    model_config = ConfigDict(extra="forbid")

    units: dict[str, SentUnit] = Field(default_factory=dict)

    @classmethod
    def from_heartbeat(cls, details: Sequence[Any]) -> SentUnits:
        """The units an earlier attempt heartbeated; none for a first attempt (or details
        written by another version of this code, which are ignored rather than trusted)."""
        if not details:
            return cls()
        try:
            return cls.model_validate(details[-1])
        except ValidationError:
            log.warning("heartbeat_details_ignored", details=str(details[-1])[:200])
            return cls()


_SENT: ContextVar[SentUnits | None] = ContextVar("escalation_sent_units", default=None)


@contextmanager
def remembering_sent_units() -> Iterator[SentUnits]:
    """Within one activity execution: start from what earlier attempts heartbeated."""
    units = SentUnits.from_heartbeat(activity.info().heartbeat_details)
    token = _SENT.set(units)
    try:
        yield units
    finally:
        _SENT.reset(token)


def sent_before(key: str) -> SentUnit | None:
    """The vendor's answer for `key` if an earlier attempt (or this one) got it."""
    units = _SENT.get()
    return units.units.get(key) if units is not None else None


def remember_sent(key: str, unit: SentUnit) -> None:
    """Keep the vendor's answer for `key`, and heartbeat everything kept so far."""
    units = _SENT.get()
    if units is None:  # not inside remembering_sent_units(): nothing to carry over
        return
    units.units[key] = unit
    activity.heartbeat(units.model_dump(mode="json"))


def heartbeat_sent_units() -> None:
    """Heartbeat again (e.g. while waiting for the store) without losing the kept units."""
    units = _SENT.get()
    if units is not None:
        activity.heartbeat(units.model_dump(mode="json"))
