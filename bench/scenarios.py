"""The measurements. Each returns `Figure`s: our number, the same number for bare Temporal
(bench/bare.py) measured on the same dev server in the same run, and which way is better."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.service import RPCError

from bench.bare import BARE_WORKFLOW, BareAck, BareInput, BareState
from bench.harness import Harness, wait_for
from escalation import activity_names as names
from escalation.models import AcknowledgeInput, EscalationInput, EscalationState
from escalation.vocabulary import CustomerTier, Priority, RouteKey
from workflows import search_attributes as sa

# Offsets of the P0 cadence steps after T+0 (config/policy.yaml: 5m, 15m, 30m).
P0_STEPS = {1: 300.0, 2: 900.0, 3: 1800.0}


@dataclass
class Figure:
    name: str
    unit: str
    ours: float
    bare: float
    higher_is_better: bool = False
    target: str = ""
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.bare if self.bare else float("nan")


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _ticket(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _p0_body(ticket: str) -> dict[str, Any]:
    return {
        "ticket_id": ticket,
        "priority": "P0",
        "route": "outage",
        "subject": "Checkout returns 502 for all EU customers",
        "reason": "Need help because every checkout fails",
        "customer": {"name": "Globex", "tier": "enterprise"},
    }


async def _bounded(n: int, concurrency: int, job: Callable[[int], Awaitable[None]]) -> float:
    """Run job(0..n-1) with at most `concurrency` in flight; elapsed seconds."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def runner() -> None:
        while not queue.empty():
            await job(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return time.perf_counter() - started


async def _paced(rate: float, n: int, job: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """Open loop: start job i at i/rate seconds, whatever the previous ones are doing."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tasks: list[asyncio.Task[None]] = []
    for i in range(n):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(job(i)))
    await asyncio.gather(*tasks)


# ---------------------------------------------------------------------------- starting things
async def start_escalation(
    client: Client,
    task_queue: str,
    ticket: str,
    *,
    priority: Priority = Priority.P3,
    time_scale: float = 1.0,
) -> None:
    """What POST /v1/escalations does, without the HTTP (used to fill and to probe)."""
    await client.start_workflow(
        names.ESCALATION_WORKFLOW,
        EscalationInput(
            ticket_id=ticket,
            priority=priority,
            route=RouteKey.OUTAGE if priority is Priority.P0 else RouteKey.TECHNICAL,
            subject="Bench escalation",
            customer_name="Globex",
            customer_tier=CustomerTier.ENTERPRISE,
            time_scale=time_scale,
        ),
        id=f"escalation-{ticket}",
        task_queue=task_queue,
        search_attributes=sa.initial(
            ticket_id=ticket,
            priority=priority.value,
            team="platform",
            tier="enterprise",
            customer_name="Globex",
            state="paging",
        ),
    )


async def start_bare(
    client: Client, h: Harness, ticket: str, *, page: bool, offsets: list[float] | None = None
) -> None:
    await client.start_workflow(
        BARE_WORKFLOW,
        BareInput(
            ticket_id=ticket,
            page_url=h.pd.base_url if page else "",
            routing_key=h.pd.routing_key,
            step_offsets=offsets or [],
        ),
        id=f"bare-{ticket}",
        task_queue=h.bare_queue,
    )


def _pd_events(h: Harness, since: int = 0) -> list[tuple[float, dict[str, Any]]]:
    """(received_at, custom_details) of every trigger the PagerDuty server accepted."""
    found = []
    for request in h.pd.requests[since:]:
        event = request.json
        if isinstance(event, dict) and event.get("event_action") == "trigger":
            details = (event.get("payload") or {}).get("custom_details") or {}
            found.append((request.received_at, details))
    return found


# ---------------------------------------------------------------------------- 1. intake
async def intake_throughput(h: Harness, n: int, concurrency: int = 16) -> list[Figure]:
    assert h.client is not None
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=h.api_url, headers=h.auth_headers, timeout=60) as http:

        async def post(i: int) -> None:
            response = await http.post("/v1/escalations", json=_p0_body(_ticket("IN")))
            statuses.append(response.status_code)

        ours = await _bounded(n, concurrency, post)
    bad = [s for s in statuses if s != 201]
    if bad:
        raise RuntimeError(f"intake: {len(bad)} non-201 answers, e.g. {bad[:5]}")
    client = h.client

    async def start(i: int) -> None:
        await start_bare(client, h, _ticket("BIN"), page=True)

    bare = await _bounded(n, concurrency, start)
    return [
        Figure(
            "intake throughput (POST /v1/escalations vs start_workflow)",
            "/s",
            n / ours,
            n / bare,
            higher_is_better=True,
            target=">= 0.8x",
            note=f"{n} escalations, {concurrency} concurrent",
        )
    ]


# ---------------------------------------------------------------------------- 2. first page
async def first_page(h: Harness, rate: float, seconds: float) -> tuple[list[Figure], list[str]]:
    """Ticket received -> PagerDuty event at the local server, open loop at `rate`/s."""
    assert h.client is not None
    client = h.client
    n = int(rate * seconds)
    sent: dict[str, float] = {}
    bare_sent: dict[str, float] = {}
    mark = len(h.pd.requests)
    async with httpx.AsyncClient(base_url=h.api_url, headers=h.auth_headers, timeout=120) as http:

        async def post(i: int) -> None:
            ticket = _ticket("FP")
            sent[ticket] = time.time()
            response = await http.post("/v1/escalations", json=_p0_body(ticket))
            if response.status_code != 201:
                raise RuntimeError(f"first page: {response.status_code} {response.text[:200]}")

        await _paced(rate, n, post)

    async def bare(i: int) -> None:
        ticket = _ticket("BFP")
        bare_sent[ticket] = time.time()
        await start_bare(client, h, ticket, page=True)

    await _paced(rate, n, bare)

    def arrivals() -> dict[str, float]:
        first: dict[str, float] = {}
        for received, details in _pd_events(h, mark):
            ticket = str(details.get("ticket_id", ""))
            if ticket in sent or ticket in bare_sent:
                first[ticket] = min(first.get(ticket, received), received)
        return first

    deadline = time.monotonic() + 300
    while len(seen := arrivals()) < len(sent) + len(bare_sent):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    # A page that never arrived within the wait counts as arriving at its end.
    end = time.time()
    ours = [seen.get(t, end) - s for t, s in sent.items()]
    base = [seen.get(t, end) - s for t, s in bare_sent.items()]
    missing = len(sent) + len(bare_sent) - len(seen)
    label = f"intake to first page at {rate:g}/s"
    figures = [
        Figure(
            f"{label}, p{p}",
            "ms",
            pct(ours, p) * 1000,
            pct(base, p) * 1000,
            note=f"n={n}" + (f", {missing} not paged within 300 s" if missing else ""),
        )
        for p in (50, 99)
    ]
    return figures, list(sent)


# ---------------------------------------------------------------------------- 3. acknowledge
def _p50_p99(
    name: str, mine: list[float], theirs: list[float], target: str, note: str
) -> list[Figure]:
    """Latencies in seconds as p50 and p99 figures in ms; the target goes on the p99 row."""
    return [
        Figure(
            f"{name}, p{p}",
            "ms",
            pct(mine, p) * 1000,
            pct(theirs, p) * 1000,
            target=target if p == 99 else "",
            note=note,
        )
        for p in (50, 99)
    ]


async def _ack_to_state(http: httpx.AsyncClient, ticket: str) -> float:
    """POST .../acknowledge, then GET until it shows acknowledged: seconds it took."""
    started = time.perf_counter()
    acked = await http.post(f"/v1/escalations/{ticket}/acknowledge", json={"by": "bench"})
    if acked.status_code != 200:
        raise RuntimeError(f"ack {ticket}: {acked.status_code} {acked.text[:200]}")
    while True:
        got = await http.get(f"/v1/escalations/{ticket}")
        if got.json()["state"]["status"] == "acknowledged":
            return time.perf_counter() - started


async def acknowledge(h: Harness, tickets: list[str], n: int) -> list[Figure]:
    """POST .../acknowledge then GET shows acknowledged, one at a time (latency, not load)."""
    assert h.client is not None
    client = h.client
    ours: list[float] = []
    async with httpx.AsyncClient(base_url=h.api_url, headers=h.auth_headers, timeout=60) as http:
        for ticket in tickets[:n]:
            ours.append(await _ack_to_state(http, ticket))
    # The same Update on our workflow without HTTP: the workflow's share of the figure above.
    direct: list[float] = []
    for ticket in tickets[n : 2 * n]:
        started = time.perf_counter()
        await client.get_workflow_handle(f"escalation-{ticket}").execute_update(
            names.UPDATE_ACKNOWLEDGE, AcknowledgeInput(by="bench"), result_type=EscalationState
        )
        direct.append(time.perf_counter() - started)

    bare_tickets = [_ticket("BACK") for _ in range(n)]
    await asyncio.gather(*(start_bare(client, h, t, page=False) for t in bare_tickets))
    await asyncio.sleep(1)
    update: list[float] = []
    signal_query: list[float] = []
    half = n // 2
    for i, ticket in enumerate(bare_tickets):
        handle = client.get_workflow_handle(f"bare-{ticket}")
        started = time.perf_counter()
        if i < half:
            await handle.execute_update(
                "acknowledge_sync", BareAck(by="bench"), result_type=BareState
            )
            update.append(time.perf_counter() - started)
        else:
            await handle.signal("acknowledge", BareAck(by="bench"))
            while not (await handle.query("state", result_type=BareState)).acknowledged:
                pass
            signal_query.append(time.perf_counter() - started)
    pairs = [
        ("acknowledge to state (POST ack + GET) vs bare update", ours, update, "p99 <= 1.3x"),
        ("acknowledge Update on EscalationWorkflow (no HTTP) vs bare update", direct, update, ""),
        ("acknowledge to state vs bare signal + query", ours, signal_query, ""),
    ]
    return [
        figure
        for name, mine, theirs, target in pairs
        for figure in _p50_p99(name, mine, theirs, target, f"n={len(mine)}/{len(theirs)}")
    ]


async def acknowledge_paced(
    h: Harness, tickets: list[str], n: int, rate: float = 4.0
) -> list[Figure]:
    """The acknowledge round trip at a steady pace (open loop, `rate`/s, each ack measured on
    its own), so it is not measured on the previous acks' follow-up work (timeline write,
    channel sync, PagerDuty acknowledge), which `acknowledge` does back to back. `tickets` are
    open escalations not yet acknowledged (not the ones `acknowledge` used). The bare update
    goes at the same pace, and so does the floor: a bare update then a bare query, which any
    API that acknowledges through Temporal and then reads the state from it pays at least."""
    assert h.client is not None
    client = h.client
    if len(tickets) < n:
        raise RuntimeError(f"paced acknowledge: {len(tickets)} open tickets left, {n} needed")
    await settle(h)  # the back-to-back acks' follow-up work
    ours: list[float] = []
    async with httpx.AsyncClient(base_url=h.api_url, headers=h.auth_headers, timeout=60) as http:

        async def ack(i: int) -> None:
            ours.append(await _ack_to_state(http, tickets[i]))

        await _paced(rate, n, ack)
    bare_tickets = [_ticket("BPACK") for _ in range(2 * n)]
    await asyncio.gather(*(start_bare(client, h, t, page=False) for t in bare_tickets))
    await settle(h)  # the paced acks' follow-up work (and the bare workflows' first tasks)
    update: list[float] = []
    update_query: list[float] = []

    async def bare_update(i: int) -> None:
        handle = client.get_workflow_handle(f"bare-{bare_tickets[i]}")
        started = time.perf_counter()
        await handle.execute_update("acknowledge_sync", BareAck(by="bench"), result_type=BareState)
        update.append(time.perf_counter() - started)

    async def bare_update_then_query(i: int) -> None:
        handle = client.get_workflow_handle(f"bare-{bare_tickets[n + i]}")
        started = time.perf_counter()
        await handle.execute_update("acknowledge_sync", BareAck(by="bench"), result_type=BareState)
        state = await handle.query("state", result_type=BareState)
        if not state.acknowledged:
            raise RuntimeError(f"floor: bare-{bare_tickets[n + i]} not acknowledged after update")
        update_query.append(time.perf_counter() - started)

    await _paced(rate, n, bare_update)
    await _paced(rate, n, bare_update_then_query)
    pace = f"paced {rate:g}/s"
    pairs = [
        (f"acknowledge to state (POST ack + GET), {pace} vs bare update", ours, "p99 <= 1.3x"),
        ("floor: bare update + bare query vs bare update", update_query, ""),
    ]
    return [
        figure
        for name, mine, target in pairs
        for figure in _p50_p99(name, mine, update, target, f"n={len(mine)}/{len(update)}, {pace}")
    ]


# ---------------------------------------------------------------------------- fill
async def fill(
    h: Harness, target_open: int, budget: float, concurrency: int = 24
) -> tuple[int, float]:
    """Start P3 escalations (T+0 queue + in-app, next step 24 h away) until `target_open` are
    open and their T+0 has been processed, or until `budget` seconds have passed (the run stays
    bounded on a slow or busy machine); then as many bare workflows waiting on a 24 h timer.
    Returns (open escalations reached, seconds the escalation part took)."""
    assert h.client is not None
    client = h.client
    open_now = _open(h)
    started = time.perf_counter()
    deadline = time.monotonic() + budget
    count = [0]
    window = 100  # started but not yet processed: keeps the drain after the deadline short
    while open_now + count[0] < target_open and time.monotonic() < deadline:
        if open_now + count[0] - _open(h) > window:
            await asyncio.sleep(0.5)
            continue
        batch = min(concurrency * 2, target_open - open_now - count[0])
        await asyncio.gather(
            *(start_escalation(client, h.task_queue, _ticket("CAP")) for _ in range(batch))
        )
        count[0] += batch
    reached = open_now + count[0]
    await wait_for(lambda: _open(h) >= reached, 600, f"{reached} open escalations", 1.0)
    await _drained(h)
    took = time.perf_counter() - started

    bare_open = await _count(
        client, f"TaskQueue = '{h.bare_queue}' AND ExecutionStatus = 'Running'"
    )
    last = [""]

    async def bare(i: int) -> None:
        ticket = _ticket("BCAP")
        last[0] = ticket
        await start_bare(client, h, ticket, page=False, offsets=[86400.0])

    await _bounded(max(0, reached - bare_open), concurrency * 2, bare)
    if last[0]:
        handle = client.get_workflow_handle(f"bare-{last[0]}")

        async def answered() -> bool:  # the last one's first task has run
            try:
                await handle.query("state", result_type=BareState, rpc_timeout=timedelta(seconds=5))
                return True
            except RPCError:
                return False

        await wait_for(answered, 600, f"{reached} open bare workflows", 1.0)
    await asyncio.sleep(2)
    return reached, took


def _open(h: Harness) -> int:
    return int(h.sql("SELECT count(*) FROM escalations WHERE status <> 'resolved'")[0][0])


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def settle(h: Harness, quiet_for: float = 2.0, within: float = 180.0) -> float:
    """Wait until the previous figure's work is done (no new notification rows and no new
    PagerDuty requests, ours or bare, for `quiet_for` s), so each figure is measured on its
    own load, not on the backlog of the one before. Seconds it took."""
    started = time.monotonic()
    last: tuple[int, int] = (-1, -1)
    still_since = started
    while time.monotonic() - started < within:
        now = (int(h.sql("SELECT count(*) FROM notifications")[0][0]), len(h.pd.requests))
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet_for:
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def _drained(h: Harness, quiet_for: float = 2.0) -> None:
    """Wait until the worker's T+0 work is done: no new notification rows for `quiet_for` s."""
    last = -1
    still_since = time.monotonic()
    while True:
        now = h.sql("SELECT count(*) FROM notifications")[0][0]
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet_for:
            return
        await asyncio.sleep(0.5)


# ---------------------------------------------------------------------------- 4. capacity
def memory(h: Harness) -> dict[str, float]:
    assert h.worker and h.bare_worker and h.server
    return {"worker": h.worker_rss(), "bare": h.bare_worker.rss(), "server": h.server.rss()}


# ---------------------------------------------------------------------------- 5. lateness
async def lateness(
    h: Harness, probes: int, rate: float = 10.0, scale: float = 0.01
) -> list[Figure]:
    """P0 probes whose steps fall due 3, 9 and 18 s after start (scale 0.01), started at
    `rate`/s among the open escalations; lateness = step ran (workflow time) - step due."""
    assert h.client is not None
    client = h.client
    tickets = [_ticket("LATE") for _ in range(probes)]

    async def esc(i: int) -> None:
        await start_escalation(
            client, h.task_queue, tickets[i], priority=Priority.P0, time_scale=scale
        )

    await _paced(rate, probes, esc)
    expected = probes * len(P0_STEPS)
    rows = await _collect(lambda: _step_rows(h, tickets), expected, 240)
    ours = [
        (ran - started).total_seconds() - P0_STEPS[step] * ts for started, ts, step, ran in rows
    ]

    bare_tickets = [_ticket("BLATE") for _ in range(probes)]
    offsets = [P0_STEPS[s] * scale for s in sorted(P0_STEPS)]
    mark = len(h.pd.requests)

    async def bare(i: int) -> None:
        await start_bare(client, h, bare_tickets[i], page=True, offsets=offsets)

    await _paced(rate, probes, bare)
    wanted = set(bare_tickets)

    def bare_rows() -> list[float]:
        late = []
        for _, details in _pd_events(h, mark):
            if details.get("ticket_id") in wanted and int(details.get("step", 0)) > 0:
                due = datetime.fromisoformat(details["due"])
                fired = datetime.fromisoformat(details["fired"])
                late.append((fired - due).total_seconds())
        return late

    base = await _collect(bare_rows, expected, 240)
    missing = (expected - len(rows), expected - len(base))
    return [
        Figure(
            f"timer lateness, P0 probes at {rate:g}/s, p{p}",
            "ms",
            max(pct(ours, p) * 1000, 0.0),
            max(pct(base, p) * 1000, 0.0),
            target="p99 <= 1.2x" if p == 99 else "",
            note=f"{expected} steps"
            + (
                f", not fired within 240 s: {missing[0]} ours, {missing[1]} bare"
                if any(missing)
                else ""
            ),
        )
        for p in (50, 99)
    ]


async def _collect(probe: Callable[[], list[Any]], expected: int, within: float) -> list[Any]:
    """Poll until `expected` rows are there or `within` seconds pass; what arrived."""
    deadline = time.monotonic() + within
    rows = probe()
    while len(rows) < expected and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        rows = probe()
    return rows


def _step_rows(h: Harness, tickets: list[str]) -> list[tuple[datetime, float, int, datetime]]:
    return [
        (row[0], row[1], row[2], row[3])
        for row in h.sql(
            "SELECT e.started_at, e.time_scale, t.step_index, t.at FROM timeline_events t "
            "JOIN escalations e ON e.key = t.escalation_key "
            "WHERE t.kind = 'step_started' AND t.step_index > 0 AND e.ticket_id = ANY(%s)",
            tickets,
        )
    ]


# ---------------------------------------------------------------------------- 6. restart
async def restart(h: Harness, probes: int = 10, due_in: float = 8.0) -> list[Figure]:
    """Probes whose T+5 step falls due `due_in` s after start; the worker is killed (SIGKILL)
    after their T+0, restarted 4 s after the steps fell due; figure: restart -> first
    overdue step ran."""
    assert h.client is not None
    client = h.client
    scale = due_in / P0_STEPS[1]
    tickets = [_ticket("RST") for _ in range(probes)]
    t0 = time.time()
    await asyncio.gather(
        *(
            start_escalation(client, h.task_queue, t, priority=Priority.P0, time_scale=scale)
            for t in tickets
        )
    )
    await wait_for(
        lambda: (
            h.sql(
                "SELECT count(DISTINCT ticket_id) FROM notifications "
                "WHERE step_index = 0 AND ticket_id = ANY(%s)",
                tickets,
            )[0][0]
            >= probes
        ),
        60,
        "probe T+0",
        0.3,
    )
    assert h.worker is not None
    h.worker.stop(signal_kill())
    await asyncio.sleep(max(0.0, t0 + due_in + 4 - time.time()))
    restarted = time.time()
    await h.start_worker()
    rows = await wait_for(
        lambda: (r := [row for row in _step_rows(h, tickets) if row[2] == 1]) and r,
        120,
        "the first overdue step",
        0.2,
    )
    ours = min(row[3].timestamp() for row in rows) - restarted

    bare_tickets = [_ticket("BRST") for _ in range(probes)]
    wanted = set(bare_tickets)
    mark = len(h.pd.requests)
    t0 = time.time()
    await asyncio.gather(
        *(start_bare(client, h, t, page=True, offsets=[due_in]) for t in bare_tickets)
    )
    await wait_for(
        lambda: len({d.get("ticket_id") for _, d in _pd_events(h, mark)} & wanted) >= probes,
        60,
        "bare T+0",
        0.3,
    )
    assert h.bare_worker is not None
    h.bare_worker.stop(signal_kill())
    await asyncio.sleep(max(0.0, t0 + due_in + 4 - time.time()))
    bare_restarted = time.time()
    await h.start_bare_worker()

    def fired() -> list[float]:
        return [
            datetime.fromisoformat(d["fired"]).timestamp()
            for _, d in _pd_events(h, mark)
            if d.get("ticket_id") in wanted and int(d.get("step", 0)) == 1
        ]

    bare_fired = await wait_for(fired, 120, "the first overdue bare step", 0.2)
    base = min(bare_fired) - bare_restarted
    return [
        Figure(
            "restart: worker start -> first overdue step",
            "ms",
            ours * 1000,
            base * 1000,
            note="SIGKILL, restart 4 s after due; includes process start",
        )
    ]


def signal_kill() -> int:
    import signal

    return signal.SIGKILL
