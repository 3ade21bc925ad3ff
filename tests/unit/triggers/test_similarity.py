"""Text normalisation and rapidfuzz similarity for repeats and mass patterns."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.triggers.similarity import (
    densest_window,
    normalise_for_similarity,
    similar_tickets,
    similarity,
    ticket_text,
)
from tests.unit.triggers.builders import NOW, related

THRESHOLD = 0.72


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Hi team, I CAN'T log in to the Dashboard!!", "login dashboard"),
        ("Signing in fails: see https://x.io/a?b=1 or mail me@corp.com", "login fail see mail"),
        ("Order #12345 and invoice 99887766 missing", "order invoice missing"),
        ("Emails and e-mails", "email email"),
        ("Policies for companies", "policy company"),
    ],
)
def test_normalise(text: str, normalised: str) -> None:
    assert normalise_for_similarity(text) == normalised


BASE = ticket_text("Cannot log in to the dashboard", "Getting error 500 since this morning")


@pytest.mark.parametrize(
    ("other", "similar"),
    [
        (ticket_text("Login to dashboard fails", "error 500"), True),
        (ticket_text("Dashboard login broken", "500 error when logging in"), True),
        (ticket_text("Log-in page error 500", "cannot sign in to the dashboard"), True),
        (ticket_text("How do I export invoices to CSV?", ""), False),
        (ticket_text("Dashboard is slow", ""), False),
        (ticket_text("Login", ""), False),  # one shared word is not the same issue
        ("", False),
    ],
)
def test_similarity(other: str, similar: bool) -> None:
    score = similarity(normalise_for_similarity(BASE), normalise_for_similarity(other))
    assert 0 <= score <= 1
    assert (score >= THRESHOLD) is similar, score


def test_similar_tickets_filters_area_and_sorts_oldest_first() -> None:
    base = normalise_for_similarity(BASE)
    text = "Login to dashboard fails with error 500"
    found = similar_tickets(
        base,
        [
            related("A", minutes_ago=5, text=text, product_area="login"),
            related("B", minutes_ago=50, text=text, product_area="LOGIN"),
            related("C", minutes_ago=20, text=text, product_area="billing"),
            related("D", minutes_ago=30, text=text, product_area=None),
            related("E", minutes_ago=40, text="Where is my invoice", product_area="login"),
        ],
        THRESHOLD,
        "login",
    )
    assert [t.ticket_id for t in found] == ["B", "D", "A"]


@pytest.mark.parametrize(
    ("minutes_ago", "window", "members"),
    [
        ([10, 20, 30], 60, 3),
        ([10, 59, 61], 60, 2),
        ([-30, 20, 50], 60, 2),  # a later ticket counts too, within one window
        ([-50, 50], 60, 1),  # 100 min apart: not one window with the anchor
        ([47 * 60, 60], 48 * 60, 2),
        ([49 * 60, 60], 48 * 60, 1),
    ],
)
def test_densest_window(minutes_ago: list[float], window: float, members: int) -> None:
    others = [related(f"X{i}", minutes_ago=m) for i, m in enumerate(minutes_ago)]
    assert len(densest_window(NOW, others, timedelta(minutes=window))) == members
