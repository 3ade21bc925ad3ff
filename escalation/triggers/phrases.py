"""Phrase matching over whole words, with negation and context exclusions.

A phrase is written in a tiny grammar so that the policy file stays readable:

- `manager`            the word itself (never a substring: "managers" does not match)
- `escalat*`           any word starting with "escalat" (escalate, escalated, escalation)
- `(speak|talk to)`    one of the alternatives; an alternative may be several words
- `(a|the)?`, `your?`  optional word or group
- `...`                a gap of up to `gap_words` other words
- `,`                  an optional clause break (comma, semicolon, line break): "manager , please"

Words are matched case-insensitively and must follow each other: a clause or sentence break
between them ends the phrase unless the phrase allows it with `,`. A match is ignored when a
negation word ("not", "don't", "never", ...) stands at most `negation_window` words before it
in the same clause, or when one of the category's exclusion phrases overlaps it ("manager
role", "SLA breach").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeAlias

from escalation.triggers.kinds import PhraseCategory
from escalation.triggers.text import TokenizedText

_PATTERN_TOKEN_RE = re.compile(r"\.\.\.|[(),|?]|[^\s(),|?]+")
_WORD_RE = re.compile(r"^[^\W_]+(?:'[^\W_]+)*\*?$")
_BREAK = r"(?:, )?"  # the optional clause break a phrase asks for with ","
_ANY_WORD = r"[^ ,|]+ "  # one word, never a break


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    prefix: bool


@dataclass(frozen=True, slots=True)
class _Group:
    alternatives: tuple[tuple[_Node, ...], ...]


@dataclass(frozen=True, slots=True)
class _Optional:
    node: _Node


@dataclass(frozen=True, slots=True)
class _Gap:
    pass


@dataclass(frozen=True, slots=True)
class _Break:
    pass


_Node: TypeAlias = "_Word | _Group | _Optional | _Gap | _Break"


class PhraseSyntaxError(ValueError):
    pass


def _parse(pattern: str) -> tuple[_Node, ...]:
    tokens = _PATTERN_TOKEN_RE.findall(pattern.strip().casefold().replace("\u2019", "'"))
    if not tokens:
        raise PhraseSyntaxError("empty phrase")
    pos = 0

    def seq(depth: int) -> tuple[_Node, ...]:
        nonlocal pos
        nodes: list[_Node] = []
        while pos < len(tokens) and tokens[pos] not in (")", "|"):
            tok = tokens[pos]
            pos += 1
            node: _Node
            if tok == "(":
                alts = [seq(depth + 1)]
                while pos < len(tokens) and tokens[pos] == "|":
                    pos += 1
                    alts.append(seq(depth + 1))
                if pos >= len(tokens) or tokens[pos] != ")":
                    raise PhraseSyntaxError(f"unclosed '(' in {pattern!r}")
                pos += 1
                if any(not alt for alt in alts):
                    raise PhraseSyntaxError(f"empty alternative in {pattern!r}")
                node = _Group(tuple(alts))
            elif tok == "...":
                node = _Gap()
            elif tok == ",":
                node = _Break()
            elif tok == "?":
                raise PhraseSyntaxError(f"'?' must follow a word or group in {pattern!r}")
            elif _WORD_RE.match(tok):
                node = _Word(tok.rstrip("*"), tok.endswith("*"))
            else:
                raise PhraseSyntaxError(f"bad word {tok!r} in {pattern!r}")
            if pos < len(tokens) and tokens[pos] == "?":
                pos += 1
                if isinstance(node, _Gap | _Break):
                    raise PhraseSyntaxError(f"'{tok}?' is meaningless in {pattern!r}")
                node = _Optional(node)
            nodes.append(node)
        if depth == 0 and pos < len(tokens):
            raise PhraseSyntaxError(f"unexpected {tokens[pos]!r} in {pattern!r}")
        return tuple(nodes)

    nodes = seq(0)
    if isinstance(nodes[0], _Gap | _Break) or isinstance(nodes[-1], _Gap | _Break):
        raise PhraseSyntaxError(f"a phrase cannot start or end with '...' or ',': {pattern!r}")
    return nodes


def _regex(nodes: tuple[_Node, ...], gap_words: int) -> str:
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, _Word):
            parts.append(re.escape(node.text) + (r"[^ ,|]* " if node.prefix else " "))
        elif isinstance(node, _Group):
            alts = "|".join(_regex(alt, gap_words) for alt in node.alternatives)
            parts.append(f"(?:{alts})")
        elif isinstance(node, _Optional):
            parts.append(f"(?:{_regex((node.node,), gap_words)})?")
        elif isinstance(node, _Break):
            parts.append(_BREAK)
        else:
            parts.append(f"(?:{_ANY_WORD}){{0,{gap_words}}}")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class CompiledPhrase:
    source: str
    regex: re.Pattern[str]


def compile_phrase(pattern: str, gap_words: int = 4) -> CompiledPhrase:
    """Compile one phrase of the grammar above; raises PhraseSyntaxError on a bad phrase."""
    return CompiledPhrase(pattern, re.compile(r"(?<= )" + _regex(_parse(pattern), gap_words)))


@dataclass(frozen=True, slots=True)
class PhraseSet:
    patterns: tuple[CompiledPhrase, ...]
    exclusions: tuple[CompiledPhrase, ...]
    any_pattern: re.Pattern[str] | None  # all patterns at once: most texts match none

    @classmethod
    def of(cls, patterns: list[str], exclusions: list[str], gap_words: int) -> PhraseSet:
        compiled = tuple(compile_phrase(p, gap_words) for p in patterns)
        combined = "|".join(f"(?:{c.regex.pattern})" for c in compiled)
        return cls(
            compiled,
            tuple(compile_phrase(p, gap_words) for p in exclusions),
            re.compile(combined) if compiled else None,
        )


@dataclass(frozen=True, slots=True)
class PhraseMatcher:
    """Compiled phrase sets by category and the negation rules."""

    sets: dict[PhraseCategory, PhraseSet]
    negators: frozenset[str]
    scope_breakers: frozenset[str]
    negation_window: int


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    category: PhraseCategory
    pattern: str
    where: str
    matched: str  # the customer's own words


@dataclass(frozen=True, slots=True)
class IgnoredPhrase:
    category: PhraseCategory
    pattern: str
    where: str
    matched: str
    reason: str  # "negated by 'not'", "context: 'manager role*'"


@dataclass(slots=True)
class PhraseScan:
    matches: dict[PhraseCategory, list[PhraseMatch]] = field(default_factory=dict)
    ignored: list[IgnoredPhrase] = field(default_factory=list)

    def get(self, category: PhraseCategory) -> list[PhraseMatch]:
        return self.matches.get(category, [])

    def has(self, category: PhraseCategory) -> bool:
        return bool(self.matches.get(category))


def _spans(tt: TokenizedText, phrase: CompiledPhrase) -> list[tuple[int, int]]:
    spans = []
    for m in phrase.regex.finditer(tt.joined):
        span = tt.token_span(m.start(), m.end())
        if span is not None:
            spans.append(span)
    return spans


def _negator_before(tt: TokenizedText, first: int, matcher: PhraseMatcher) -> str | None:
    words = 0
    i = first - 1
    while i >= 0 and words < matcher.negation_window:
        tok = tt.tokens[i]
        if not tok.is_word or tok.norm in matcher.scope_breakers:
            return None
        if tok.norm in matcher.negators:
            return tok.norm
        words += 1
        i -= 1
    return None


def scan_text(where: str, tt: TokenizedText, matcher: PhraseMatcher, scan: PhraseScan) -> None:
    """Add the matches of every category found in one tokenised text to `scan`."""
    for category, phrases in matcher.sets.items():
        if phrases.any_pattern is None or phrases.any_pattern.search(tt.joined) is None:
            continue
        excluded = [(ex.source, s) for ex in phrases.exclusions for s in _spans(tt, ex)]
        seen: list[tuple[int, int]] = []
        for phrase in phrases.patterns:
            for first, last in _spans(tt, phrase):
                if any(first <= s_last and s_first <= last for s_first, s_last in seen):
                    continue  # the same words already matched another phrase of the category
                seen.append((first, last))
                matched = tt.original(first, last)
                clash = next((src for src, (a, b) in excluded if first <= b and a <= last), None)
                negator = None if clash else _negator_before(tt, first, matcher)
                if clash is not None or negator is not None:
                    reason = f"context: {clash!r}" if clash else f"negated by {negator!r}"
                    scan.ignored.append(
                        IgnoredPhrase(category, phrase.source, where, matched, reason)
                    )
                    continue
                scan.matches.setdefault(category, []).append(
                    PhraseMatch(category, phrase.source, where, matched)
                )
