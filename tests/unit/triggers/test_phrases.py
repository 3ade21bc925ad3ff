"""Phrase matching: whole words, natural variants, negation, and the keyword traps."""

from __future__ import annotations

import pytest

from escalation.triggers import PhraseCategory, TriggerPolicy
from escalation.triggers.phrases import PhraseScan, PhraseSyntaxError, compile_phrase, scan_text
from escalation.triggers.text import TokenizedText

C = PhraseCategory
MATCHER = TriggerPolicy().phrases.matcher


def scan(text: str) -> PhraseScan:
    out = PhraseScan()
    scan_text("description", TokenizedText.of(text), MATCHER, out)
    return out


FIRES = [
    # explicit escalation requests and their natural variants
    ("I want to speak to a manager", C.MANAGER_REQUEST),
    ("Let me talk to your manager.", C.MANAGER_REQUEST),
    ("I want to speak to someone senior", C.MANAGER_REQUEST),
    ("Supervisor please", C.MANAGER_REQUEST),
    ("Supervisor, please!", C.MANAGER_REQUEST),
    ("MANAGER NOW", C.MANAGER_REQUEST),
    ("Put me through to a supervisor", C.MANAGER_REQUEST),
    ("Transfer me to your boss", C.MANAGER_REQUEST),
    ("I demand a manager", C.MANAGER_REQUEST),
    ("Who is your supervisor?", C.MANAGER_REQUEST),
    ("Give me your manager's email", C.MANAGER_REQUEST),
    ("Is there anyone senior I can talk to?", C.MANAGER_REQUEST),
    ("Get me someone in charge", C.MANAGER_REQUEST),
    ("If this is not fixed I want a manager", C.MANAGER_REQUEST),
    ("No, I want a manager", C.MANAGER_REQUEST),
    ("Please escalate this ticket", C.ESCALATION_REQUEST),
    ("I want this escalated", C.ESCALATION_REQUEST),
    ("I need this ticket to be escalated", C.ESCALATION_REQUEST),
    ("Escalate, please", C.ESCALATION_REQUEST),
    ("I'd like to escalate.", C.ESCALATION_REQUEST),
    ("I am requesting a formal escalation", C.ESCALATION_REQUEST),
    # complaint language
    ("This is unacceptable", C.COMPLAINT),
    ("Terrible service from start to end", C.COMPLAINT),
    ("What a waste of time", C.COMPLAINT),
    ("This is a waste of my time", C.COMPLAINT),
    ("That's not acceptable", C.COMPLAINT),
    ("I am so frustrated with this", C.COMPLAINT),
    ("Completely useless support", C.COMPLAINT),
    ("Still no answer after three days", C.COMPLAINT),
    # legal
    ("We will file a lawsuit", C.LEGAL),
    ("Our lawyers will be in touch", C.LEGAL),
    ("We are prepared to sue", C.LEGAL),
    ("This is a breach of contract", C.LEGAL),
    ("We will take legal action", C.LEGAL),
    ("I will report you to the regulator", C.LEGAL),
    # security
    ("We had a data breach", C.SECURITY),
    ("I think our data leaked", C.SECURITY),
    ("There was a breach last night", C.SECURITY),
    ("Our account was hacked", C.SECURITY),
    ("Unauthorized access to our workspace", C.SECURITY),
    ("Someone logged into my account from Brazil", C.SECURITY),
    ("Customer data exposed in the public link", C.SECURITY),
    ("I found a vulnerability in your upload form", C.SECURITY),
    # outage and data loss
    ("Your site is down", C.OUTAGE),
    ("The API is completely down for everyone", C.OUTAGE),
    ("Major outage in EU region?", C.OUTAGE),
    ("Nobody can log in since 9am", C.OUTAGE),
    ("Everyone cannot access the dashboard", C.OUTAGE),
    ("We lost all our data", C.DATA_LOSS),
    ("Our files were deleted overnight", C.DATA_LOSS),
    ("The database got corrupted", C.DATA_LOSS),
    # routing hints
    ("We want to cancel our subscription", C.ACCOUNT),
    ("Our contract renewal is next month", C.ACCOUNT),
    ("Feature request: dark mode", C.FEEDBACK),
    ("It would be nice if you could add tags", C.FEEDBACK),
]


@pytest.mark.parametrize(("text", "category"), FIRES)
def test_fires(text: str, category: PhraseCategory) -> None:
    assert scan(text).has(category), scan(text)


TRAPS = [
    # product questions that share words with a trigger
    ("How do I escalate privileges in RBAC?", C.ESCALATION_REQUEST),
    ("How do I escalate privileges in RBAC?", C.MANAGER_REQUEST),
    ("I need to escalate privileges for one user", C.ESCALATION_REQUEST),
    ("What is privilege escalation in your API?", C.ESCALATION_REQUEST),
    ("How do I configure escalation policies?", C.ESCALATION_REQUEST),
    ("Auto-escalation rules don't work", C.ESCALATION_REQUEST),
    ("Where is the SLA breach report template?", C.SECURITY),
    ("SLA breach report template", C.SECURITY),
    ("How do I set up manager role permissions?", C.MANAGER_REQUEST),
    ("Can I talk about the manager role permissions?", C.MANAGER_REQUEST),
    ("We need a manager account for our team lead", C.MANAGER_REQUEST),
    ("The manager dashboard is broken", C.MANAGER_REQUEST),
    ("Our password manager autofills the wrong field", C.MANAGER_REQUEST),
    ("Let me talk to my manager about the renewal", C.MANAGER_REQUEST),
    ("Talk about user management", C.MANAGER_REQUEST),
    ("Does the senior plan include SSO?", C.MANAGER_REQUEST),
    # negation
    ("This is not unacceptable", C.COMPLAINT),
    ("I'm not really upset, just curious", C.COMPLAINT),
    ("I don't want to escalate this", C.ESCALATION_REQUEST),
    ("No need to escalate this", C.ESCALATION_REQUEST),
    ("I do not need a manager", C.MANAGER_REQUEST),
    ("There was no data breach", C.SECURITY),
    ("The site is not down, just slow", C.OUTAGE),
    # whole words, not substrings
    ("Our managers like the product", C.MANAGER_REQUEST),
    ("The escalator in the office is broken", C.ESCALATION_REQUEST),
    ("Please downgrade our plan", C.OUTAGE),
    ("Download fails on Safari", C.OUTAGE),
    ("The price went down, thanks", C.OUTAGE),
    ("Acceptable use policy question", C.COMPLAINT),
    ("Is the unacceptable use list public?", C.COMPLAINT),
    # names and idioms
    ("I spoke to Sue in billing yesterday", C.LEGAL),
    ("Hi Sue, you said the refund was done", C.LEGAL),
    ("We hacked together a workaround", C.SECURITY),
    ("Phishing training videos are blurry", C.SECURITY),
    ("How do I delete my data?", C.DATA_LOSS),
    ("How do I mark a product unavailable?", C.OUTAGE),
    ("We need to schedule downtime for the migration", C.OUTAGE),
    # phrases do not run across sentences
    ("Please talk. Your manager role screen is blank", C.MANAGER_REQUEST),
]


@pytest.mark.parametrize(("text", "category"), TRAPS)
def test_does_not_fire(text: str, category: PhraseCategory) -> None:
    assert not scan(text).has(category), scan(text).get(category)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("This is not unacceptable", "negated by 'not'"),
        ("Where is the SLA breach report template?", "context:"),
        ("I need to escalate privileges for one user", "context:"),
    ],
)
def test_ignored_phrases_say_why(text: str, reason: str) -> None:
    ignored = scan(text).ignored
    assert ignored and ignored[0].reason.startswith(reason)


def test_match_keeps_the_customers_own_words_and_place() -> None:
    [match] = scan("Honestly? LET ME talk to your Manager.").get(C.MANAGER_REQUEST)
    assert match.matched == "talk to your Manager"
    assert match.where == "description"


def test_typographic_apostrophes() -> None:
    assert not scan("I don\u2019t want to escalate this").has(C.ESCALATION_REQUEST)
    assert scan("Give me your manager\u2019s name").has(C.MANAGER_REQUEST)


@pytest.mark.parametrize(
    ("phrase", "text", "matches"),
    [
        ("manager", "Manager", True),
        ("manager", "managers", False),
        ("escalat*", "escalation", True),
        ("(speak|talk to) boss", "talk to boss", True),
        ("(speak|talk to) boss", "talk boss", False),
        ("your? boss", "boss", True),
        ("speak ... boss", "speak to the big boss", True),
        ("speak ... boss", "speak to the very very big boss", False),
        ("boss , please", "boss, please", True),
        ("boss please", "boss, please", False),
    ],
)
def test_grammar(phrase: str, text: str, matches: bool) -> None:
    compiled = compile_phrase(phrase, gap_words=3)
    assert bool(compiled.regex.search(TokenizedText.of(text).joined)) is matches


@pytest.mark.parametrize("bad", ["", "(a|b", "a)", "?a", "... a", "a ...", "(a|)", "a$b", ", a"])
def test_grammar_errors(bad: str) -> None:
    with pytest.raises(PhraseSyntaxError):
        compile_phrase(bad)
