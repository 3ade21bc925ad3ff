"""Targets and thresholds as data: the seed's numbers are the defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MINUTE = 60.0
HOUR = 3600.0


class Targets(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Acknowledgement and resolution targets per priority, in seconds (None: no target).
    ack_seconds: dict[str, float | None] = Field(
        default_factory=lambda: {"P0": 5 * MINUTE, "P1": 15 * MINUTE, "P2": 30 * MINUTE, "P3": None}
    )
    resolution_seconds: dict[str, float | None] = Field(
        default_factory=lambda: {"P0": 4 * HOUR, "P1": 8 * HOUR, "P2": 24 * HOUR, "P3": None}
    )
    # "close": the average is over target by at most this factor (1.2 = within 20 %).
    close_factor: float = 1.2
    # A ticket escalated again within this long after resolution counts as reopened.
    reopen_window_seconds: float = 7 * 24 * HOUR
    # On-call health: an acknowledgement this fast counts as "within 5 minutes".
    oncall_ack_seconds: float = 5 * MINUTE
    # Coaching: an agent whose escalation rate is at least this many times the team average
    # (with at least `coaching_min_escalations`), or whose reviewed escalations were
    # unnecessary this often, is flagged.
    coaching_rate_factor: float = 1.5
    coaching_min_escalations: int = 3
    coaching_unnecessary_share: float = 0.3
    # Recommendations
    csat_target: float = 4.0
    resolution_rate_target: float = 0.9
    reopen_rate_target: float = 0.05
    unnecessary_share_target: float = 0.15

    def status(self, value: float | None, target: float | None) -> str:
        """met / close / missed against a target; `no data` or `no target` otherwise."""
        if target is None:
            return "no target"
        if value is None:
            return "no data"
        if value <= target:
            return "met"
        if value <= target * self.close_factor:
            return "close"
        return "missed"


DEFAULT_TARGETS = Targets()
