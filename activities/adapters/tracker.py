"""The engineering bug tracker, whichever vendor a team uses (Jira, Linear or GitHub Issues).

Which tracker files a team's bugs is policy (a later issue); the delivery code only needs this
protocol, which `JiraAdapter`, `LinearAdapter` and `GitHubIssuesAdapter` satisfy, and
`Adapters.bug_tracker(name)` picks one by name.

`create_bug` contract, shared by all three:
* returns the bug already filed for the same work instead of filing a second one (Jira and
  GitHub: a marker label derived from `escalation_key`, searched before creating; Linear: a
  client-supplied issue id derived from `idempotency_key`);
* `priority` is tracker-neutral: P0..P3, or a Jira priority name (Highest, High, Medium, Low,
  Lowest); each tracker maps it to its own scale (GitHub, which has none, labels it);
* external_id is the tracker's human key (OPS-42, ENG-123, #17) and detail["created"] says
  whether this call created it; detail["url"] links to it where the vendor returns one;
* without credentials the request goes to the outbox (`delivered=False`).
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from activities.adapters.base import DeliveryReceipt

TrackerName = Literal["jira", "linear", "github"]

# Jira's default priority names, as a rank shared by the trackers (1 = most urgent).
PRIORITY_RANK: dict[str, int] = {
    "p0": 1,
    "highest": 1,
    "urgent": 1,
    "p1": 2,
    "high": 2,
    "p2": 3,
    "medium": 3,
    "p3": 4,
    "low": 4,
    "lowest": 4,
}


def priority_rank(priority: str) -> int | None:
    """1 (most urgent) .. 4 for P0..P3 or a Jira priority name; None when unknown or empty."""
    return PRIORITY_RANK.get(priority.strip().lower())


@runtime_checkable
class BugTracker(Protocol):
    """What every bug tracker adapter offers (signature of `JiraAdapter.create_bug`)."""

    @property
    def vendor(self) -> str: ...

    @property
    def live(self) -> bool: ...

    async def create_bug(
        self,
        *,
        escalation_key: str,
        summary: str,
        description: str,
        priority: str,
        labels: list[str],
        idempotency_key: str,
    ) -> DeliveryReceipt: ...
