"""`escalation demo`: realistic sample escalations sent through the public API."""

from __future__ import annotations

import httpx
from rich.console import Console

SAMPLES: list[dict[str, object]] = [
    {
        "ticket_id": "DEMO-1001",
        "priority": "P0",
        "route": "outage",
        "subject": "Checkout API returning 502 for all EU customers",
        "reason": "Need help because every checkout fails since 09:12 UTC (outage)",
        "customer": {"name": "Globex", "tier": "enterprise"},
        "triggers": ["system_outage", "mass_pattern"],
    },
    {
        "ticket_id": "DEMO-1002",
        "priority": "P1",
        "route": "security",
        "subject": "Customer reports possible data leak in shared reports",
        "reason": "Need help because a customer saw another tenant's invoice",
        "customer": {"name": "Initech", "tier": "business"},
        "triggers": ["security_keyword"],
    },
    {
        "ticket_id": "DEMO-1003",
        "priority": "P2",
        "route": "billing",
        "subject": "Double charge of $1,240 on annual renewal",
        "reason": "Need help because the refund exceeds the agent's $500 limit",
        "customer": {"name": "Umbrella", "tier": "standard"},
        "triggers": ["billing_above_limit"],
    },
    {
        "ticket_id": "DEMO-1004",
        "priority": "P3",
        "route": "product",
        "subject": "Feature request: export dashboards as PDF",
        "reason": "Need help because three enterprise customers asked this month",
        "customer": {"name": "Hooli", "tier": "enterprise"},
        "triggers": ["product_feedback"],
    },
]


def run_demo(base_url: str, console: Console, token: str | None = None) -> int:
    """Create the sample escalations with API key `token`; returns a process exit code."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=base_url, timeout=30, headers=headers) as client:
            for sample in SAMPLES:
                response = client.post("/v1/escalations", json=sample)
                if response.status_code >= 400:
                    console.print(
                        f"[red]{sample['ticket_id']}: {response.status_code} {response.text}"
                    )
                    return 1
                body = response.json()
                verb = "started" if body["created"] else "already running"
                ticket = f"{sample['priority']} {sample['ticket_id']}"
                console.print(f"{ticket}: {verb} -> {body['temporal_ui_url']}")
    except httpx.HTTPError as exc:
        console.print(
            f"[red]cannot reach the API at {base_url}: {exc}[/red] (is `escalation dev` running?)"
        )
        return 1
    return 0
