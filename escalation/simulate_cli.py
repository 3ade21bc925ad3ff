"""`escalation simulate`: parse the options, read run-time schedule changes, print a rich table.

Kept out of cli.py so `escalation --help` stays instant; the domain work is escalation/simulate.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from escalation.simulate import SimulatedPerson, Simulation

if TYPE_CHECKING:
    from escalation.schedules import Override, TimeOff
    from escalation.settings import Settings


def parse_instant(text: str | None) -> datetime:
    """ISO 8601 with a time zone ('2026-12-24T22:00:00Z'); None means now."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"--at: not an ISO 8601 date-time: {text!r}") from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"--at: give a time zone, e.g. {text}Z or {text}+01:00")
    return value.astimezone(UTC)


def runtime_changes(
    settings: Settings, team: str, start: datetime, end: datetime
) -> tuple[list[Override], list[TimeOff], str | None]:
    """Overrides and time off from DATABASE_URL; a note instead when the store cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from store.db import make_engine, make_sessionmaker
    from store.schedules import ScheduleStore

    engine = make_engine(settings.database_url)
    try:
        store = ScheduleStore(make_sessionmaker(engine))
        overrides, time_off = store.runtime_schedule_changes(team, start, end)
        return overrides, time_off, None
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0][:200]
        return [], [], f"run-time schedule changes not read ({reason}); policy only"
    finally:
        engine.dispose()


def _offset(seconds: float) -> str:
    delta = timedelta(seconds=seconds)
    if delta >= timedelta(hours=1) and delta % timedelta(hours=1) == timedelta(0):
        return f"T+{int(delta // timedelta(hours=1))}h"
    return f"T+{int(delta // timedelta(minutes=1))}m"


def _who(people: list[SimulatedPerson]) -> str:
    def one(person: SimulatedPerson) -> str:
        if not person.address:
            return person.name
        if person.address.startswith("<"):  # a Slack mention, <@U123>
            return f"{person.name} {person.address}"
        return f"{person.name} <{person.address}>"

    return ", ".join(one(p) for p in people)


def render(simulation: Simulation, console: Console) -> None:
    start = simulation.start
    console.print(
        f"[bold]{simulation.priority.value} {simulation.route.value}[/bold] escalation for team "
        f"[bold]{simulation.team}[/bold] ({simulation.team_name}), starting "
        f"{start:%Y-%m-%d %H:%M} UTC; chain {' -> '.join(simulation.chain)}; paging via "
        f"{simulation.paging_provider}"
    )
    table = Table(show_lines=False)
    table.add_column("When (UTC)", no_wrap=True)
    table.add_column("Channel", no_wrap=True)
    table.add_column("Who / what")
    for step in simulation.steps:
        primary = step.primary_oncall.name if step.primary_oncall else "[red]nobody[/red]"
        secondary = step.secondary_oncall.name if step.secondary_oncall else "nobody"
        about = f"[bold]{step.label}[/bold]"
        if step.unless:
            about += f" [dim]({step.unless})[/dim]"
        if step.business_hours_open is False:
            about += " [dim](outside business hours)[/dim]"
        about += (
            f"\non call: 1st {primary} [dim]({step.primary_source})[/dim], "
            f"2nd {secondary} [dim]({step.secondary_source})[/dim]"
        )
        table.add_row(f"{_offset(step.offset_seconds)}  {step.at:%a %m-%d %H:%M}", "", about)
        for note in step.notifications:
            who = _who(note.recipients) or (note.target or "")
            if note.note:
                who += f" [dim]({note.note})[/dim]"
            table.add_row("", note.channel, who)
        for warning in step.warnings:
            table.add_row("", "[yellow]warning[/yellow]", f"[yellow]{warning}[/yellow]")
        table.add_section()
    console.print(table)
    for assumption in simulation.assumptions:
        console.print(f"[dim]- {assumption}[/dim]")


def as_json(simulation: Simulation) -> str:
    return json.dumps(simulation.model_dump(mode="json"), indent=2)
