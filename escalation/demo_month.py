"""`escalation demo --month`: replay a realistic, seeded month through the real API.

The month is generated from a seed (same seed, same month): a severity mix like a support
organisation's (few P0, mostly P2/P3), routes and trigger types per severity, a dozen L1 agents
one of whom escalates far more than the others, customers of every tier, acknowledgement and
resolution delays around the targets (some miss them), reviews, CSAT answers, KB drafts and a
few reopened tickets.

Time is compressed twice: arrivals of the whole month are spread over `--minutes` of real time,
and every delay after an escalation starts (acknowledge, resolve) is scaled by the server's
ESCALATION_TIME_SCALE, the same scale its cadence timers run at, so the dashboard, which reads
durations in policy time, shows realistic minutes and hours. Start the server with
`ESCALATION_TIME_SCALE=0.01` (a 5-minute acknowledgement takes 3 s).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console

MONTH_SECONDS = 30 * 86400.0
MAX_SCALE = 0.05

PRIORITY_MIX = (("P0", 0.05), ("P1", 0.2), ("P2", 0.45), ("P3", 0.3))
ROUTES: dict[str, list[tuple[str, float]]] = {
    "P0": [("outage", 0.7), ("security", 0.3)],
    "P1": [("technical", 0.45), ("security", 0.2), ("vip", 0.2), ("legal", 0.15)],
    "P2": [("technical", 0.45), ("billing", 0.3), ("vip", 0.1), ("account", 0.15)],
    "P3": [("product", 0.5), ("technical", 0.25), ("manager_request", 0.25)],
}
TRIGGERS: dict[str, list[str]] = {
    "outage": ["system_outage", "mass_pattern"],
    "security": ["security_keyword", "p0_p1_created"],
    "legal": ["legal_keyword"],
    "technical": ["agent_investigation_30min", "suspected_bug", "sla_breach_imminent"],
    "billing": ["billing_above_limit", "revenue_impact"],
    "vip": ["vip_critical", "negative_sentiment"],
    "account": ["health_score_drop", "revenue_impact"],
    "product": ["product_feedback", "failed_self_service"],
    "manager_request": ["explicit_request", "complaint_language"],
}
CATEGORIES: dict[str, list[str]] = {
    "outage": ["checkout-outage", "api-latency"],
    "security": ["account-takeover", "data-exposure"],
    "legal": ["gdpr-request", "contract-dispute"],
    "technical": ["api-integration", "sso-login", "data-import", "webhook-delivery"],
    "billing": ["refund-over-limit", "double-charge", "invoice-dispute"],
    "vip": ["exec-complaint", "renewal-risk"],
    "account": ["renewal-risk", "plan-change"],
    "product": ["feature-request", "reporting-gap"],
    "manager_request": ["unhappy-customer", "slow-response"],
}
GAPS = ("training", "documentation", "tool", "process", "product")
CUSTOMERS = [
    ("Globex", "enterprise"), ("Initech", "business"), ("Umbrella", "standard"),
    ("Hooli", "strategic"), ("Stark Industries", "enterprise"), ("Wayne Enterprises", "strategic"),
    ("Acme Corp", "business"), ("Soylent", "standard"), ("Cyberdyne", "enterprise"),
    ("Tyrell", "business"), ("Wonka", "standard"), ("Vandelay", "free"),
]  # fmt: skip
AGENTS = [(f"agent-{n:02d}", "tier1-east" if n % 2 else "tier1-west") for n in range(1, 13)]
HEAVY_ESCALATOR = "agent-07"
ACK_MEDIAN = {"P0": 240.0, "P1": 720.0, "P2": 1500.0, "P3": 4 * 3600.0}
RESOLVE_MEDIAN = {"P0": 2.5 * 3600, "P1": 6 * 3600.0, "P2": 14 * 3600.0, "P3": 40 * 3600.0}
RESPONDERS = ["alice", "bob", "dan", "erin", "jon", "max", "lee", "kim", "ivy"]


@dataclass
class Planned:
    ticket_id: str
    priority: str
    route: str
    category: str
    triggers: list[str]
    agent: str
    agent_team: str
    customer: tuple[str, str]
    offset: float  # seconds into the virtual month
    ack_after: float | None  # policy seconds after start
    resolve_after: float | None
    necessary: bool
    preventable: bool
    gap: str | None
    csat: int | None
    kb: bool
    responder: str
    reopen: Planned | None = None  # the same ticket escalated again after its resolution
    reopen_after: float = 0.0  # policy seconds after the resolution


def _pick(
    rng: random.Random, weighted: list[tuple[str, float]] | tuple[tuple[str, float], ...]
) -> str:
    names, weights = zip(*weighted, strict=True)
    return str(rng.choices(names, weights=weights)[0])


def plan_month(seed: int = 7, count: int = 120) -> list[Planned]:
    """The month's escalations, reproducible from `seed`."""
    rng = random.Random(seed)
    agents = [a for a, _ in AGENTS]
    weights = [6.0 if a == HEAVY_ESCALATOR else 1.0 for a in agents]
    plans: list[Planned] = []
    for n in range(count):
        priority = _pick(rng, PRIORITY_MIX)
        route = _pick(rng, ROUTES[priority])
        agent = rng.choices(agents, weights=weights)[0]
        heavy = agent == HEAVY_ESCALATOR
        necessary = rng.random() > (0.45 if heavy else 0.1)
        preventable = not necessary or rng.random() < 0.2
        ack = rng.lognormvariate(math.log(ACK_MEDIAN[priority]), 0.45)
        resolved = rng.random() < 0.92
        resolve = rng.lognormvariate(math.log(RESOLVE_MEDIAN[priority]), 0.5)
        triggers = rng.sample(TRIGGERS[route], k=rng.randint(1, len(TRIGGERS[route])))
        plans.append(
            Planned(
                ticket_id=f"DM-{seed}-{n + 1:04d}",
                priority=priority,
                route=route,
                category=rng.choice(CATEGORIES[route]),
                triggers=triggers,
                agent=agent,
                agent_team=dict(AGENTS)[agent],
                customer=rng.choice(CUSTOMERS),
                offset=rng.uniform(0, MONTH_SECONDS),
                ack_after=ack if rng.random() < 0.97 else None,
                resolve_after=max(resolve, ack * 1.2) if resolved else None,
                necessary=necessary,
                preventable=preventable,
                gap=rng.choice(GAPS) if preventable else None,
                csat=rng.choices([1, 2, 3, 4, 5], weights=[3, 4, 10, 35, 48])[0]
                if rng.random() < 0.7
                else None,
                kb=rng.random() < 0.25,
                responder=rng.choice(RESPONDERS),
            )
        )
    plans.sort(key=lambda p: p.offset)
    # A few tickets come back within a week of their resolution: escalated again.
    for original in rng.sample(plans, k=max(1, count // 25)):
        if original.resolve_after is None:
            continue
        original.reopen = replace(
            original,
            ack_after=ACK_MEDIAN[original.priority],
            resolve_after=RESOLVE_MEDIAN[original.priority],
            kb=False,
            reopen=None,
        )
        original.reopen_after = rng.uniform(3600, 12 * 3600)
    plans.sort(key=lambda p: p.offset)
    return plans


class _Replay:
    def __init__(
        self, client: httpx.AsyncClient, console: Console, scale: float, spread: float, tail: float
    ) -> None:
        self.client = client
        self.deadline = time.monotonic() + spread + tail  # later steps are left undone
        self.console = console
        self.scale = scale
        self.spread = spread  # real seconds over which the month's arrivals are spread
        self.counts: dict[str, int] = {}
        self.failures: list[str] = []

    async def _wait_until(self, moment: float) -> bool:
        """Sleep until `moment`; False (and the escalation stays open) past the deadline."""
        if moment > self.deadline:
            self._count("left open")
            return False
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        return True

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    async def _call(self, what: str, method: str, path: str, body: Any) -> httpx.Response | None:
        try:
            response = await self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            self.failures.append(f"{what}: {exc}")
            return None
        if response.status_code >= 400:
            self.failures.append(f"{what}: {response.status_code} {response.text[:200]}")
            return None
        self._count(what)
        return response

    async def escalation(self, plan: Planned, start: float) -> None:
        arrival = start + plan.offset / MONTH_SECONDS * self.spread
        await asyncio.sleep(max(0.0, arrival - time.monotonic()))
        await self._play(plan)

    async def _play(self, plan: Planned) -> None:
        created = await self._call(
            "escalated",
            "POST",
            "/v1/escalations",
            {
                "ticket_id": plan.ticket_id,
                "priority": plan.priority,
                "route": plan.route,
                "subject": f"{plan.category.replace('-', ' ').capitalize()} for {plan.customer[0]}",
                "reason": f"Need help because of {plan.category.replace('-', ' ')}",
                "customer": {"name": plan.customer[0], "tier": plan.customer[1]},
                "triggers": plan.triggers,
                "requested_by": plan.agent,
            },
        )
        if created is None:
            return
        began = time.monotonic()
        ticket = plan.ticket_id
        if plan.ack_after is not None and (plan.resolve_after or 1e18) > plan.ack_after:
            if not await self._wait_until(began + plan.ack_after * self.scale):
                return
            await self._call(
                "acknowledged", "POST", f"/v1/escalations/{ticket}/acknowledge",
                {"by": plan.responder},
            )  # fmt: skip
        if plan.resolve_after is None:
            return
        if not await self._wait_until(began + plan.resolve_after * self.scale):
            return
        resolution = f"Fixed the {plan.category.replace('-', ' ')} for {plan.customer[0]}."
        if not await self._call(
            "resolved", "POST", f"/v1/escalations/{ticket}/resolve",
            {"by": plan.responder, "resolution": resolution},
        ):  # fmt: skip
            return
        await self._call(
            "reviewed",
            "POST",
            "/v1/reviews",
            {
                "ticket_id": ticket,
                "necessary": plan.necessary,
                "preventable": plan.preventable,
                "gap_category": plan.gap,
                "reviewed_by": "carol",
                "agent_id": plan.agent,
                "trigger_types": plan.triggers,
                "kb_article_needed": plan.kb,
            },
        )
        if plan.csat is not None:
            survey = await self._call("surveyed", "POST", "/v1/surveys", {"ticket_id": ticket})
            if survey is not None:
                token = survey.json()["token"]
                await self._call("answered", "POST", f"/v1/surveys/{token}", {"score": plan.csat})

    async def handled_tickets(self, plans: list[Planned], seed: int) -> None:
        """Every agent's handled tickets (about one in ten escalates; the heavy escalator
        handles as many as the others but escalates far more)."""
        rng = random.Random(seed + 1)
        now = datetime.now(UTC)
        items = []
        for agent, team in AGENTS:
            for n in range(rng.randint(55, 75)):
                items.append(
                    {
                        "ticket_id": f"HT-{seed}-{agent}-{n:03d}",
                        "agent_id": agent,
                        "team": team,
                        "handled_at": (now + timedelta(seconds=n)).isoformat(),
                    }
                )
        for start in range(0, len(items), 500):
            await self._call(
                "handled tickets",
                "POST",
                "/v1/agents/tickets",
                {"items": items[start : start + 500]},
            )


async def _server_scale(client: httpx.AsyncClient) -> float | None:
    """The server's ESCALATION_TIME_SCALE, read from a probe escalation's state."""
    probe = f"DM-PROBE-{int(time.time())}"
    response = await client.post(
        "/v1/escalations",
        params={"wait": "true"},  # the answer carries the state only when asked to wait
        json={"ticket_id": probe, "priority": "P3", "route": "product", "subject": "demo probe"},
    )
    response.raise_for_status()
    state = response.json().get("state") or {}
    scale = state.get("time_scale")
    await client.post(
        f"/v1/escalations/{probe}/resolve", json={"by": "demo", "resolution": "probe"}
    )
    return float(scale) if scale else None


async def replay_month(
    base_url: str,
    console: Console,
    token: str | None,
    seed: int,
    minutes: float,
    count: int,
    tail_minutes: float = 5.0,
) -> int:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=60, limits=limits
    ) as client:
        try:
            scale = await _server_scale(client)
        except httpx.HTTPError as exc:
            console.print(f"[red]cannot start a demo escalation at {base_url}: {exc}[/red]")
            return 1
        if scale is None or scale > MAX_SCALE:
            console.print(
                f"[red]the server runs at ESCALATION_TIME_SCALE={scale}: a replayed month would "
                "take real hours.[/red] Restart it with ESCALATION_TIME_SCALE=0.01 "
                "(e.g. `ESCALATION_TIME_SCALE=0.01 escalation dev`) and run the demo again."
            )
            return 2
        plans = plan_month(seed, count)
        replay = _Replay(client, console, scale, minutes * 60, tail_minutes * 60)
        console.print(
            f"replaying a month: {len(plans)} escalations (seed {seed}) over {minutes:g} min, "
            f"delays at time scale {scale:g}; open {base_url}/dashboard"
        )
        await replay.handled_tickets(plans, seed)
        start = time.monotonic()
        tasks = [asyncio.create_task(replay.escalation(p, start)) for p in plans]
        for done, finished in enumerate(asyncio.as_completed(tasks), 1):
            await finished
            if done % 20 == 0 or done == len(tasks):
                summary = ", ".join(f"{v} {k}" for k, v in replay.counts.items())
                console.print(f"  {done}/{len(tasks)} escalations played out: {summary}")
        for failure in replay.failures[:10]:
            console.print(f"[yellow]{failure}[/yellow]")
        return 1 if replay.failures and not replay.counts.get("escalated") else 0


def run_month_demo(
    base_url: str,
    console: Console,
    token: str | None = None,
    *,
    seed: int = 7,
    minutes: float = 5.0,
    count: int = 120,
) -> int:
    """Replay the seeded month; returns a process exit code."""
    return asyncio.run(replay_month(base_url, console, token, seed, minutes, count))
