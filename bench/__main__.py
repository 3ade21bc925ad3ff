"""`python -m bench [--quick]`: run every benchmark and print one table (README "Benchmarks").

`python -m bench bare-worker` runs the bare-Temporal worker (started by the benchmark itself).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench import scenarios
from bench.scenarios import Figure

FULL = {
    "intake": 200,
    "first_page": [(10, 10), (50, 4)],
    "ack": 40,
    "ack_paced": 40,  # at 4/s: about 10 s each for ours, the bare update and the floor
    "capacity": [1000, 10000],
    "fill_budget": [45, 80, 110],  # seconds of starting per fill, so the run stays bounded
    "lateness_open": 5000,
    "lateness_probes": 100,
    "lateness_slow_probes": 20,
    "restart_open": 1000,
}
# `--only capacity`: the memory curve from 1,000 to 10,000 open, which the full run cannot
# reach within its 10 minutes on 2 cores (it fills at about 25 escalations/s).
CAPACITY: dict[str, object] = {
    "capacity": [1000, 5000, 10000],
    "fill_budget": [60, 220, 330],
}
QUICK = {
    "intake": 80,
    "first_page": [(10, 6), (50, 3)],
    "ack": 20,
    "ack_paced": 20,
    "capacity": [200, 1000],
    "fill_budget": [20, 30, 40],
    "lateness_open": 500,
    "lateness_probes": 30,
    "lateness_slow_probes": 10,
    "restart_open": 200,
}


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    temporal = subprocess.run(
        [str(Path(sys.executable).parent / "temporal"), "--version"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kib / 1024 / 1024:.0f} GiB, "
        f"Linux {platform.release()}, Python {platform.python_version()}, {temporal}, "
        "PostgreSQL on loopback; dev server SQLite WAL + synchronous=normal"
    )


def table(figures: list[Figure]) -> str:
    rows = [("figure", "ours", "bare Temporal", "ratio", "target", "note")]
    for f in figures:
        rows.append(
            (
                f.name,
                f"{f.ours:,.1f} {f.unit}",
                f"{f.bare:,.1f} {f.unit}",
                f"{f.ratio:.2f}x",
                f.target,
                f.note,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _workers_note(cache: int, split: bool) -> str:
    return f"max_cached_workflows={cache}" + ("; ours: workflow + activity worker" if split else "")


async def run(sizes: dict[str, object], cache: int, bytecode: bool, split: bool) -> list[Figure]:
    from bench.harness import Harness

    figures: list[Figure] = []

    def step(what: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)

    async with Harness(max_cached_workflows=cache, bytecode=bytecode, split_workers=split) as h:
        idle = scenarios.memory(h)
        step(f"started; idle RSS {idle}")
        figures += await scenarios.intake_throughput(h, int(sizes["intake"]))  # type: ignore[call-overload]
        step(f"intake done; its T+0 work settled in {await scenarios.settle(h):.0f}s")
        open_tickets: list[str] = []
        for rate, seconds in sizes["first_page"]:  # type: ignore[attr-defined]
            found, tickets = await scenarios.first_page(h, rate, seconds)
            figures += found
            open_tickets += tickets
            step(f"first page at {rate}/s done; settled in {await scenarios.settle(h):.0f}s")
        acks = int(sizes["ack"])  # type: ignore[call-overload]
        figures += await scenarios.acknowledge(h, open_tickets, acks)
        step("acknowledge done")
        # A separate set of open tickets: `acknowledge` used the first 2 * acks.
        figures += await scenarios.acknowledge_paced(
            h,
            open_tickets[2 * acks :],
            int(sizes["ack_paced"]),  # type: ignore[call-overload]
        )
        step("paced acknowledge done")

        low_target, high_target = (int(n) for n in sizes["capacity"])  # type: ignore[attr-defined]
        budgets = [float(b) for b in sizes["fill_budget"]]  # type: ignore[attr-defined]
        low, took = await scenarios.fill(h, low_target, budgets[0])
        mem_low = scenarios.memory(h)
        step(f"{low} open after {took:.0f}s; RSS {mem_low}")
        figures += await scenarios.restart(h)
        for f in figures[-1:]:
            f.note += f", {low:,} open"
        step("restart done")
        middle, took = await scenarios.fill(h, int(sizes["lateness_open"]), budgets[1])  # type: ignore[call-overload]
        step(f"{middle} open after {took:.0f}s")
        found = await scenarios.lateness(h, int(sizes["lateness_probes"]))  # type: ignore[call-overload]
        # The same at a fifth of the rate: the probes' own work (10 deliveries per P0) vs the
        # open escalations as the cause of lateness.
        found += await scenarios.lateness(h, int(sizes["lateness_slow_probes"]), rate=2.0)  # type: ignore[call-overload]
        for f in found:
            f.note += f", {middle:,} open"
        figures += found
        step("lateness done")
        high, took = await scenarios.fill(h, high_target, budgets[2])
        mem_high = scenarios.memory(h)
        step(f"{high} open after {took:.0f}s; RSS {mem_high}")
        cached = _workers_note(cache, split)
        figures += [
            Figure(
                f"worker RSS, {low:,} open", "MiB", mem_low["worker"], mem_low["bare"], note=cached
            ),
            Figure(
                f"worker RSS, {high:,} open",
                "MiB",
                mem_high["worker"],
                mem_high["bare"],
                target="< 1 GiB",
                note=cached,
            ),
            Figure(
                f"dev server RSS, {low:,} open (both kinds)",
                "MiB",
                mem_low["server"],
                mem_low["server"],
                note=f"idle {idle['server']:.0f} MiB",
            ),
            Figure(
                f"dev server RSS, {high:,} open (both kinds)",
                "MiB",
                mem_high["server"],
                mem_high["server"],
                note="one server holds ours and the bare workflows",
            ),
        ]
    return figures


async def run_capacity(
    sizes: dict[str, object], cache: int, bytecode: bool, split: bool
) -> list[Figure]:
    """Only the capacity figures: RSS at each open count, ours and bare, on one server."""
    from bench.harness import Harness

    figures: list[Figure] = []
    cached = _workers_note(cache, split)
    async with Harness(max_cached_workflows=cache, bytecode=bytecode, split_workers=split) as h:
        idle = scenarios.memory(h)
        before = 0
        for target, budget in zip(sizes["capacity"], sizes["fill_budget"], strict=True):  # type: ignore[call-overload]
            reached, took = await scenarios.fill(h, int(target), float(budget))
            rate = (reached - before) / took if took else 0.0
            before = reached
            mem = scenarios.memory(h)
            print(
                f"[{time.strftime('%H:%M:%S')}] {reached} open after {took:.0f}s; RSS {mem}",
                file=sys.stderr,
                flush=True,
            )
            figures.append(
                Figure(
                    f"worker RSS, {reached:,} open",
                    "MiB",
                    mem["worker"],
                    mem["bare"],
                    target="< 1 GiB" if target == sizes["capacity"][-1] else "",  # type: ignore[index]
                    note=f"{cached}; filled at {rate:.1f}/s",
                )
            )
            figures.append(
                Figure(
                    f"dev server RSS, {reached:,} open (both kinds)",
                    "MiB",
                    mem["server"],
                    mem["server"],
                    note=f"idle {idle['server']:.0f} MiB",
                )
            )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "bare-worker"])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about 4 minutes)")
    parser.add_argument(
        "--max-cached-workflows", type=int, default=1000, help="sticky cache of both workers"
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="do not precompile the checkout (the worker still compiles its workflow package)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--one-worker",
        action="store_true",
        help="run ours as one worker process (ESCALATION_WORKER_ROLE=all) instead of a "
        "workflow worker and an activity worker",
    )
    parser.add_argument(
        "--only",
        choices=["capacity"],
        help="capacity: only the memory curve at 1,000, 5,000 and 10,000 open (about 12 min)",
    )
    args = parser.parse_args(argv)
    if args.command == "bare-worker":
        from bench.bare import run_bare_worker

        asyncio.run(run_bare_worker())
        return 0
    started = time.monotonic()
    sizes = QUICK if args.quick else FULL
    if args.only == "capacity":
        figures = asyncio.run(
            run_capacity(
                CAPACITY, args.max_cached_workflows, not args.no_bytecode, not args.one_worker
            )
        )
    else:
        figures = asyncio.run(
            run(sizes, args.max_cached_workflows, not args.no_bytecode, not args.one_worker)
        )
    print(f"\nMachine: {machine()}")
    print(
        f"Run: {args.only or ('quick' if args.quick else 'full')}, "
        f"{time.monotonic() - started:.0f} s, "
        f"bytecode {'off' if args.no_bytecode else 'precompiled'}, "
        f"ours as {'one worker' if args.one_worker else 'a workflow and an activity worker'}, "
        f"load average at the end {os.getloadavg()[0]:.1f}\n"
    )
    print(table(figures))
    if args.json:
        args.json.write_text(
            json.dumps([asdict(f) | {"ratio": f.ratio} for f in figures], indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
