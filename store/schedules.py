"""Run-time schedule changes: overrides per team and time off per person, in SQL.

The policy file holds the rotations; these rows add overrides and time off on top, without a
restart. `ScheduleStore.runtime_schedule_changes(team, at)` returns them in the shape
`escalation.oncall.resolve_oncall` takes, so an activity resolves on-call with the changes in
force when a step runs:

    changes = ScheduleStore(repository.sessions).runtime_schedule_changes
    overrides, time_off = changes("security", now)
    resolve_oncall(policy, "security", now, overrides, time_off)

Semantics:
- an override belongs to one team; among overlapping overrides the one added last wins (they
  come after the policy's own overrides, in creation order);
- time off belongs to a person: wherever it was filed, it applies to every team's schedule
  (a person on holiday is away for all of them), so it is returned for any `team`.

Times are stored timezone-aware; SQLite (the dev default) drops the zone, so every read
normalises to UTC.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from escalation.schedules import Level, Override, TimeOff
from store.models_schedules import ScheduleOverride, ScheduleTimeOff

__all__ = ["ScheduleStore", "StoredOverride", "StoredTimeOff"]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class StoredOverride(BaseModel):
    """A run-time override as stored (with its id, for DELETE)."""

    model_config = ConfigDict(frozen=True)

    id: str
    team: str
    person: str
    level: Level
    start: datetime
    end: datetime
    note: str = ""
    created_by: str = "api"
    created_at: datetime

    def to_domain(self) -> Override:
        return Override(
            person=self.person, start=self.start, end=self.end, level=self.level, note=self.note
        )

    @classmethod
    def from_row(cls, row: ScheduleOverride) -> StoredOverride:
        return cls(
            id=row.id,
            team=row.team,
            person=row.person,
            level=Level(row.level),
            start=_utc(row.start_at),
            end=_utc(row.end_at),
            note=row.note,
            created_by=row.created_by,
            created_at=_utc(row.created_at),
        )


class StoredTimeOff(BaseModel):
    """A run-time time-off period as stored (with its id, for DELETE)."""

    model_config = ConfigDict(frozen=True)

    id: str
    team: str
    person: str
    start: datetime
    end: datetime
    note: str = ""
    created_by: str = "api"
    created_at: datetime

    def to_domain(self) -> TimeOff:
        return TimeOff(person=self.person, start=self.start, end=self.end, note=self.note)

    @classmethod
    def from_row(cls, row: ScheduleTimeOff) -> StoredTimeOff:
        return cls(
            id=row.id,
            team=row.team,
            person=row.person,
            start=_utc(row.start_at),
            end=_utc(row.end_at),
            note=row.note,
            created_by=row.created_by,
            created_at=_utc(row.created_at),
        )


class ScheduleStore:
    """Overrides and time off added at run time. Receives the session factory."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # ------------------------------------------------------------------ overrides
    def add_override(
        self,
        *,
        team: str,
        override: Override,
        created_by: str = "api",
        now: datetime | None = None,
    ) -> StoredOverride:
        row = ScheduleOverride(
            id=_new_id("ovr"),
            team=team,
            person=override.person,
            level=override.level.value,
            start_at=override.start,
            end_at=override.end,
            note=override.note,
            created_by=created_by[:200],
            created_at=now or _now(),
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return StoredOverride.from_row(row)

    def overrides(
        self, team: str | None = None, *, ending_after: datetime | None = None
    ) -> list[StoredOverride]:
        """Overrides of one team (or all), oldest first; only those still running or to come
        after `ending_after` when given."""
        query = select(ScheduleOverride)
        if team is not None:
            query = query.where(ScheduleOverride.team == team)
        if ending_after is not None:
            query = query.where(ScheduleOverride.end_at > ending_after)
        query = query.order_by(ScheduleOverride.created_at, ScheduleOverride.id)
        with self._sessions() as session:
            return [StoredOverride.from_row(row) for row in session.scalars(query)]

    def delete_override(self, team: str, override_id: str) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                delete(ScheduleOverride).where(
                    ScheduleOverride.id == override_id, ScheduleOverride.team == team
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ time off
    def add_time_off(
        self,
        *,
        team: str,
        time_off: TimeOff,
        created_by: str = "api",
        now: datetime | None = None,
    ) -> StoredTimeOff:
        row = ScheduleTimeOff(
            id=_new_id("off"),
            team=team,
            person=time_off.person,
            start_at=time_off.start,
            end_at=time_off.end,
            note=time_off.note,
            created_by=created_by[:200],
            created_at=now or _now(),
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return StoredTimeOff.from_row(row)

    def time_off(
        self,
        *,
        team: str | None = None,
        people: Sequence[str] | None = None,
        ending_after: datetime | None = None,
    ) -> list[StoredTimeOff]:
        """Time off filed under `team` or taken by one of `people` (both None: all), oldest
        first; only periods still running or to come after `ending_after` when given."""
        query = select(ScheduleTimeOff)
        if team is not None or people is not None:
            clauses = []
            if team is not None:
                clauses.append(ScheduleTimeOff.team == team)
            if people:
                clauses.append(ScheduleTimeOff.person.in_(list(people)))
            if not clauses:
                return []
            query = query.where(or_(*clauses))
        if ending_after is not None:
            query = query.where(ScheduleTimeOff.end_at > ending_after)
        query = query.order_by(ScheduleTimeOff.created_at, ScheduleTimeOff.id)
        with self._sessions() as session:
            return [StoredTimeOff.from_row(row) for row in session.scalars(query)]

    def delete_time_off(self, team: str, time_off_id: str) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                delete(ScheduleTimeOff).where(
                    ScheduleTimeOff.id == time_off_id, ScheduleTimeOff.team == team
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def teams_with_overrides(self) -> set[str]:
        with self._sessions() as session:
            return set(session.scalars(select(ScheduleOverride.team).distinct()))

    # ------------------------------------------------------------------ for resolution
    def runtime_schedule_changes(
        self, team: str, at: datetime, until: datetime | None = None
    ) -> tuple[list[Override], list[TimeOff]]:
        """The run-time overrides of `team` and everyone's time off that overlap
        [at, until] (just the instant `at` when `until` is None), ready for
        `resolve_oncall(policy, team, at, overrides, time_off)` or `effective_schedule`.

        Matches `activities.planning.ScheduleChanges` (`Callable[[str, datetime], ...]`)."""
        at = _utc(at)
        last = _utc(until) if until is not None else at
        with self._sessions() as session:
            override_rows = session.scalars(
                select(ScheduleOverride)
                .where(
                    ScheduleOverride.team == team,
                    ScheduleOverride.start_at <= last,
                    ScheduleOverride.end_at > at,
                )
                .order_by(ScheduleOverride.created_at, ScheduleOverride.id)
            ).all()
            time_off_rows = session.scalars(
                select(ScheduleTimeOff)
                .where(ScheduleTimeOff.start_at <= last, ScheduleTimeOff.end_at > at)
                .order_by(ScheduleTimeOff.created_at, ScheduleTimeOff.id)
            ).all()
            overrides = [StoredOverride.from_row(row).to_domain() for row in override_rows]
            time_off = [StoredTimeOff.from_row(row).to_domain() for row in time_off_rows]
        return overrides, time_off
