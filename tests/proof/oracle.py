"""The proof tests' oracle, shared by the chaos, outage and PostgreSQL tests.

* `judge` checks one finished escalation against its cadence, reading the decisions back from
  the Temporal history (tests/proof/history.py), and lists the notification units its steps
  must have produced (tests/proof/expected.py).
* `compare_vendors` compares those units with what the vendor servers received.
* `check_store` checks the notifications table and the timeline of each escalation against
  the units and the history (every `record_timeline` the workflow scheduled is one row).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from activities.adapters.email import make_message_id
from escalation import activity_names as names
from escalation.models import EscalationState, PlanRequest
from escalation.policy import Policy, StopCondition
from store.repository import Repository
from tests.proof.expected import Observed, Unit, action_units, observe, plan_for, staffed_step
from tests.proof.history import SCHEDULED, History, _payload_json, timeline_lines
from tests.vendors.plugin import VendorServers

CLOSING_STEP = 100  # workflows/escalation.py: closing-loop messages use this step index
# Vendors that de-duplicate by our idempotency key: PagerDuty (dedup_key), Statuspage (open
# incident per escalation), Jira (label), email (one message per Message-ID for the reader).
DEDUPLICATING = ("pagerduty", "statuspage", "jira", "email")


@dataclass
class Verdict:
    units: list[Unit] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    ran: dict[int, bool] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)  # decision time - due time, steps that ran
    # T+0 ran although a stop signal arrived before the plan was loaded: the handlers wait
    # for the plan, so run() decides T+0 first (test_found_bugs.py shows it on its own).
    report: list[str] = field(default_factory=list)


def closing_units(
    key: str, smtp_from: str, *, customer_email: str | None, confirmed: bool
) -> list[Unit]:
    """Closing the loop after the resolution (step 100): the help-desk note (recorded as
    skipped: these tickets come from no help desk) and, for an escalation with a customer
    contact whose agent confirmed, the satisfaction survey email."""
    base = f"{key}.g0:s{CLOSING_STEP}"
    units: list[Unit] = [("internal", f"{base}:a0:helpdesk_note")]
    if customer_email and confirmed:
        message_id = make_message_id(f"{base}:a2:customer_communication:email:customer", smtp_from)
        units.append(("email", message_id))
    return units


def judge(
    *,
    policy: Policy,
    request: PlanRequest,
    final: EscalationState,
    history: History,
    scale: float,
    key: str,
    smtp_from: str,
) -> Verdict:
    """A step must have run exactly when no stop signal had reached the workflow by the
    workflow task that decided it; its timer must have aimed at its cadence offset; it must
    not have run early. Returns the units of the steps that ran."""
    verdict = Verdict()
    plan = plan_for(policy, request)
    records = {r.index: r for r in final.steps}
    if sorted(records) != [s.index for s in plan.steps]:
        verdict.wrong.append(f"{request.ticket_id}: steps {sorted(records)} in the state")
        return verdict
    decisions = history.step_decisions({s.index: s.label for s in plan.steps})
    started = final.started_at.timestamp()
    for step in plan.steps:
        due = started + step.at_seconds * scale
        record = records[step.index]
        ran = not record.skipped
        verdict.ran[step.index] = ran
        where = f"{request.ticket_id} step {step.index}"
        decision = decisions.get(step.index)
        if decision is None:
            verdict.wrong.append(f"{where}: no decision in the history")
            continue
        stoppers = {names.SIGNAL_RESOLVE}
        if step.stop_when in (StopCondition.ACKNOWLEDGED, StopCondition.PICKED_UP):
            stoppers.add(names.SIGNAL_ACKNOWLEDGE)
        should_run = not stoppers & set(decision.signals_seen)
        verdict.report.append(
            f"{where}: {'ran' if ran else 'skipped'}; due +{due - started:.1f}s, decided "
            f"+{decision.decided_at - started:.1f}s having seen {decision.signals_seen}"
        )
        if ran != decision.ran or ran != should_run:
            verdict.wrong.append(
                f"{where}: {'ran' if ran else 'skipped'} (history: "
                f"{'ran' if decision.ran else 'skipped'}), but the signals seen when it was "
                f"decided, {decision.signals_seen}, say it should have "
                f"{'run' if should_run else 'been skipped'}"
            )
        if not ran:
            continue
        if decision.decided_at < due - 0.05:
            verdict.wrong.append(f"{where}: ran {due - decision.decided_at:.2f}s early")
        if decision.timer_due_at is not None:
            if abs(decision.timer_due_at - due) > 0.05:
                verdict.wrong.append(
                    f"{where}: timer aimed {decision.timer_due_at - due:+.2f}s off its offset"
                )
            if decision.timer_fired_in != decision.decided_in:
                verdict.wrong.append(f"{where}: not decided when its timer was delivered")
        verdict.lags.append(decision.decided_at - due)
        assert record.ran_at is not None
        staffed = staffed_step(policy, plan, step, record.ran_at)
        primary = plan.primary_oncall.person_id if plan.primary_oncall else None
        for action_index, action in enumerate(staffed.actions):
            verdict.units += action_units(
                escalation_key=f"{key}.g0",
                ticket_id=request.ticket_id,
                step_index=step.index,
                action_index=action_index,
                action=action,
                smtp_from=smtp_from,
                primary_oncall=primary,
            )
    return verdict


@dataclass
class VendorFigures:
    expected: int
    delivered: int
    lost: list[Unit]
    extra: list[Unit]
    wire_calls: int
    wire_duplicates: dict[Unit, int]
    vendor_duplicates: dict[Unit, int]
    seen: Observed

    def guaranteed_duplicates(self) -> dict[Unit, int]:
        """Duplicates a de-duplicating vendor let through (must never happen)."""
        return {u: n for u, n in self.vendor_duplicates.items() if u[0] in DEDUPLICATING}

    def summary(self) -> str:
        kinds = Counter(u[0] for u in self.wire_duplicates)
        extra_calls = sum(n - 1 for n in self.wire_duplicates.values())
        vendor_kinds = Counter(u[0] for u in self.vendor_duplicates)
        return (
            f"delivered {self.delivered}/{self.expected}; lost {len(self.lost)}; extra "
            f"{len(self.extra)}; wire calls {self.wire_calls}; wire duplicates "
            f"{len(self.wire_duplicates)} units ({extra_calls} extra calls, {dict(kinds)}); "
            "vendor-level duplicates "
            f"{len(self.vendor_duplicates)} ({dict(vendor_kinds)})"
        )


def compare_vendors(expected: Counter[Unit], servers: VendorServers) -> VendorFigures:
    seen = observe(servers)
    external = {u for u in expected if u[0] != "internal"}
    extra = sorted(u for u, n in seen.vendor.items() if n and u not in external)
    extra += sorted(u for u, n in seen.wire.items() if n and u not in external and u not in extra)
    return VendorFigures(
        expected=len(external),
        delivered=sum(1 for u in external if seen.vendor[u]),
        lost=sorted(u for u in external if seen.vendor[u] == 0),
        extra=extra,
        wire_calls=sum(seen.wire[u] for u in external),
        wire_duplicates={u: n for u, n in seen.wire.items() if n > 1},
        vendor_duplicates={u: n for u, n in seen.vendor.items() if n > 1},
        seen=seen,
    )


def check_store(
    repository: Repository, key: str, ticket: str, units: list[Unit], history: History
) -> list[str]:
    """Problems with one escalation's notifications and timeline in the store."""
    problems: list[str] = []
    rows = repository.notifications(f"{key}.")
    if len(rows) != len(units):
        problems.append(f"{ticket}: {len(rows)} notification rows, expected {len(units)}")
    problems += [
        f"{ticket}: {r.idempotency_key} {r.outcome}"
        for r in rows
        if r.outcome != "delivered" and not (r.action == "helpdesk_note" and r.outcome == "skipped")
    ]
    events = repository.timeline(key)
    sequences = [e.sequence for e in events]
    if not sequences or sequences != list(range(1, len(sequences) + 1)):
        problems.append(f"{ticket}: timeline sequences {sequences}")
    scheduled = set()
    for event in history.events:
        if event.event_type != SCHEDULED:
            continue
        attributes = event.activity_task_scheduled_event_attributes
        data = _payload_json(attributes.input)
        if isinstance(data, dict):
            for line in timeline_lines(attributes.activity_type.name, data):
                scheduled.add(str(line["event_key"]))
    stored = {e.event_key for e in events}
    if scheduled != stored:
        problems.append(
            f"{ticket}: timeline rows missing {sorted(scheduled - stored)[:5]}, "
            f"unexpected {sorted(stored - scheduled)[:5]}"
        )
    return problems
