"""Tokenising ticket text for phrase matching, keeping offsets into the original text."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from enum import Enum

SENTENCE_BREAK = "|"
CLAUSE_BREAK = ","

_TOKEN_RE = re.compile(
    r"(?P<word>[^\W_]+(?:['\u2019][^\W_]+)*)"
    r"|(?P<sentence>[.!?]+(?=\s|$)|\n[ \t]*\n)"
    r"|(?P<clause>[,;:()\[\]\"\u201c\u201d]|\n|\s[-\u2013\u2014]+\s)"
)


class TokenKind(Enum):
    WORD = "word"
    CLAUSE = "clause"
    SENTENCE = "sentence"


@dataclass(frozen=True, slots=True)
class Token:
    norm: str  # normalised form ("manager", "don't"); "," or "|" for breaks
    kind: TokenKind
    start: int  # offsets into the original text
    end: int

    @property
    def is_word(self) -> bool:
        return self.kind is TokenKind.WORD


def normalise_word(word: str) -> str:
    """NFKC, case-folded, typographic apostrophes made plain, possessive 's dropped."""
    w = "".join(unicodedata.normalize("NFKC", word).casefold().replace("\u2019", "'").split())
    if w.endswith("'s") and len(w) > 2:
        w = w[:-2]
    return w


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind == "word":
            tokens.append(Token(normalise_word(m.group()), TokenKind.WORD, m.start(), m.end()))
        elif tokens and tokens[-1].is_word:  # collapse runs of breaks, the strongest wins
            brk = TokenKind.SENTENCE if kind == "sentence" else TokenKind.CLAUSE
            norm = SENTENCE_BREAK if brk is TokenKind.SENTENCE else CLAUSE_BREAK
            tokens.append(Token(norm, brk, m.start(), m.end()))
        elif tokens and kind == "sentence" and tokens[-1].kind is TokenKind.CLAUSE:
            last = tokens[-1]
            tokens[-1] = Token(SENTENCE_BREAK, TokenKind.SENTENCE, last.start, m.end())
    return tokens


@dataclass(frozen=True, slots=True)
class TokenizedText:
    """Tokens joined as " tok tok , tok | tok " so phrase regexes run over whole tokens."""

    text: str
    tokens: tuple[Token, ...]
    joined: str
    positions: tuple[int, ...]  # offset of each token in `joined`

    @classmethod
    def of(cls, text: str) -> TokenizedText:
        tokens = tuple(tokenize(text))
        positions: list[int] = []
        pos = 1
        for t in tokens:
            positions.append(pos)
            pos += len(t.norm) + 1
        joined = " " + " ".join(t.norm for t in tokens) + " "
        return cls(text, tokens, joined, tuple(positions))

    def token_span(self, start: int, end: int) -> tuple[int, int] | None:
        """Token indices [first, last] of a regex match over `joined`, trimmed to words."""
        first = bisect_left(self.positions, start)
        last = bisect_left(self.positions, end) - 1
        while first <= last and not self.tokens[first].is_word:
            first += 1
        while last >= first and not self.tokens[last].is_word:
            last -= 1
        return (first, last) if first <= last else None

    def original(self, first: int, last: int) -> str:
        return self.text[self.tokens[first].start : self.tokens[last].end]
