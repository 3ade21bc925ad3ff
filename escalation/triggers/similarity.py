"""Is this ticket about the same issue as that one? Normalised text compared with rapidfuzz.

`normalise_for_similarity` is also what the store keeps in an indexed column, so SQL can
pre-filter candidates (same product area, time window, trigram index) before this module
decides with the policy's threshold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from rapidfuzz import fuzz

from escalation.triggers.context import RelatedTicket

MAX_COMPARED_CHARS = 600
"""Subject plus the start of the description carries the issue; the rest is noise and time."""

_STOP_WORDS = frozenset(
    """a an the to of in on at for with and or but is are was were be been being it its this that
    these those i we you our my your me us can cannot cant could do does did how what when where
    why which who from since getting get got has have had there their they them any some all just
    so as by if then than not no please pls hi hello hey thanks thank regards dear team support
    help issue problem ticket again still also very really would will im ive dont doesnt didnt
    wont isnt arent wasnt""".split()  # noqa: SIM905
)
_SYNONYMS = (
    (re.compile(r"\blog(?:ging|ged)?[\s-]+(?:in|on)(?:to)?\b"), "login"),
    (re.compile(r"\bsign(?:ing|ed)?[\s-]+(?:in|on)(?:to)?\b"), "login"),
    (re.compile(r"\be[\s-]?mails?\b"), "email"),
)
_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\S+|\b\d{5,}\b|#\d+")
_WORD = re.compile(r"[^\W_]+")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def normalise_for_similarity(text: str) -> str:
    """Lower-case, de-noised (links, e-mails, long ids), stop words out, light stemming."""
    text = unicodedata.normalize("NFKC", text[: MAX_COMPARED_CHARS * 2]).casefold()
    text = _NOISE.sub(" ", text.replace("'", "").replace("\u2019", ""))
    for pattern, replacement in _SYNONYMS:
        text = pattern.sub(replacement, text)
    words = [_stem(w) for w in _WORD.findall(text) if w not in _STOP_WORDS]
    return " ".join(words)[:MAX_COMPARED_CHARS]


def ticket_text(subject: str, description: str) -> str:
    """The text a ticket is compared on."""
    return f"{subject}\n{description[:MAX_COMPARED_CHARS]}"


def similarity(normalised_a: str, normalised_b: str) -> float:
    """Similarity in [0, 1] of two normalised texts: the mean of rapidfuzz's token-set ratio
    (one text's words contained in the other's) and token-sort ratio (overall likeness), so a
    one-word text does not match everything that contains that word."""
    if not normalised_a or not normalised_b:
        return 0.0
    token_set = fuzz.token_set_ratio(normalised_a, normalised_b)
    token_sort = fuzz.token_sort_ratio(normalised_a, normalised_b)
    return round((token_set + token_sort) / 200.0, 4)


def similar_tickets(
    normalised: str,
    candidates: Iterable[RelatedTicket],
    threshold: float,
    product_area: str | None,
) -> list[RelatedTicket]:
    """The candidates in the same product area at or above the threshold, oldest first.
    A candidate's own `similarity` (computed by the store) wins over comparing its text."""
    out = []
    for candidate in candidates:
        area = candidate.product_area
        if product_area and area and area.strip().casefold() != product_area:
            continue
        score = candidate.similarity
        if score is None:
            score = similarity(normalised, normalise_for_similarity(candidate.text))
        if score >= threshold:
            out.append(candidate)
    return sorted(out, key=lambda c: (c.created_at, c.ticket_id))


def densest_window(
    anchor: datetime, others: Sequence[RelatedTicket], window: timedelta
) -> list[RelatedTicket]:
    """The largest group of `others` that fits, together with the anchor ticket, in one
    window of the given length (a sliding window, so 47 h apart counts and 49 h does not)."""
    best: list[RelatedTicket] = []
    times = sorted(others, key=lambda t: (t.created_at, t.ticket_id))
    for start in [anchor, *(t.created_at for t in times)]:
        if not anchor - window <= start <= anchor:
            continue
        end = start + window
        members = [t for t in times if start <= t.created_at <= end]
        if len(members) > len(best):
            best = members
    return best
