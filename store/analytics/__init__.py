"""Analytics over the system of record, in SQL (PostgreSQL and SQLite): one small module per
question; `build_dashboard` and `build_monthly_report` assemble them."""

from store.analytics.dashboard import build_dashboard
from store.analytics.period import Period, PeriodError, month_period, parse_period
from store.analytics.targets import DEFAULT_TARGETS, Targets

__all__ = [
    "DEFAULT_TARGETS",
    "Period",
    "PeriodError",
    "Targets",
    "build_dashboard",
    "month_period",
    "parse_period",
]
