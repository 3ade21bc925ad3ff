"""The TTL cache handed to the CRM adapters, and the CRM value parsers."""

from __future__ import annotations

from activities.adapters.cache import TtlCache
from activities.adapters.crm import CustomerProfile, parse_number, parse_text


def test_ttl_expiry_and_bound() -> None:
    now = [0.0]
    cache: TtlCache[int] = TtlCache(ttl_seconds=10, max_entries=2, clock=lambda: now[0])
    cache.set("a", 1)
    cache.set("b", 2)
    cache.set("c", 3)  # evicts the oldest
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 2, 3)
    now[0] = 10.0
    assert cache.get("b") is None and len(cache) == 1
    cache.set("d", 4, ttl_seconds=0)  # zero TTL: not stored
    assert cache.get("d") is None


def test_disabled_cache() -> None:
    cache: TtlCache[str] = TtlCache(ttl_seconds=0)
    cache.set("k", "v")
    assert cache.get("k") is None and not cache


def test_parsers() -> None:
    assert parse_number("1,200,000.50") == 1_200_000.5
    assert parse_number("$ 12") == 12.0
    assert parse_number(7) == 7.0
    assert parse_number("") is None and parse_number("n/a") is None and parse_number(True) is None
    assert parse_text("  ") is None and parse_text(5) == "5"
    profile = CustomerProfile(crm="x", account_id="1", tier="Gold")
    assert profile.customer_tier is None and profile.missing == ["arr", "health_score", "csm"]
