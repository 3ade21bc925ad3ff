"""Every trigger of the matrix, with the near-misses the issue lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from escalation.triggers import TicketContext, TriggerFamily, TriggerKind
from tests.unit.triggers.builders import FixedScorer, ago, comment, make_event, related, run

K = TriggerKind
SIMILAR = "Exporting invoices: how do I export my invoices to CSV?"
OTHER_ISSUE = "Password reset email never arrives"


@dataclass
class Case:
    id: str
    kind: TriggerKind
    fires: bool
    event: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    minutes_old: float = 10


def _repeat(*hours_ago: float, **kw: Any) -> dict[str, Any]:
    return {
        "customer_recent_tickets": [
            related(f"R-{i}", minutes_ago=h * 60 + 10, **kw) for i, h in enumerate(hours_ago)
        ]
    }


def _burst(*minutes_ago: float, customers: int = 3, **kw: Any) -> dict[str, Any]:
    return {
        "area_recent_tickets": [
            related(f"M-{i}", customer_id=f"C-{1 + i % customers}", minutes_ago=m + 10, **kw)
            for i, m in enumerate(minutes_ago)
        ]
    }


CASES = [
    # ---- customer-initiated
    Case("manager request", K.EXPLICIT_REQUEST, True,
         {"description": "Let me talk to your manager"}),
    Case("escalate request", K.EXPLICIT_REQUEST, True, {"subject": "Please escalate this"}),
    Case("requested person", K.EXPLICIT_REQUEST, True, {"requested_person": "Head of Support"}),
    Case("in a later comment", K.EXPLICIT_REQUEST, True,
         {"comments": [comment("supervisor please")]}),
    Case("RBAC trap", K.EXPLICIT_REQUEST, False,
         {"description": "How do I escalate privileges in RBAC?"}),
    Case("manager role trap", K.EXPLICIT_REQUEST, False,
         {"description": "Where are the manager role permissions?"}),
    Case("agent's words are not the customer's", K.EXPLICIT_REQUEST, False,
         {"comments": [comment("I will escalate this to my manager", role="agent")]}),
    Case("complaint", K.COMPLAINT_LANGUAGE, True, {"description": "This is unacceptable."}),
    Case("negated complaint", K.COMPLAINT_LANGUAGE, False,
         {"description": "This is not unacceptable."}),
    Case("3 tickets in 48 h", K.REPEATED_CONTACTS, True, context=_repeat(47, 5)),
    Case("2 tickets only", K.REPEATED_CONTACTS, False, context=_repeat(5)),
    Case("47 h counts", K.REPEATED_CONTACTS, True, context=_repeat(47, 46)),
    Case("49 h does not", K.REPEATED_CONTACTS, False, context=_repeat(49, 5)),
    Case("different issue", K.REPEATED_CONTACTS, False, context=_repeat(5, 6, text=OTHER_ISSUE)),
    Case("other customer", K.REPEATED_CONTACTS, False, context=_repeat(5, 6, customer_id="C-2")),
    Case("other product area", K.REPEATED_CONTACTS, False,
         context=_repeat(5, 6, product_area="billing")),
    Case("store similarity wins", K.REPEATED_CONTACTS, True,
         context=_repeat(5, 6, text="", similarity=0.9)),
    Case("store similarity below", K.REPEATED_CONTACTS, False,
         context=_repeat(5, 6, similarity=0.5)),
    Case("enterprise with P1", K.VIP_CRITICAL, True,
         {"customer": {"tier": "enterprise"}, "requester_priority": "P1"}),
    Case("strategic with outage", K.VIP_CRITICAL, True,
         {"customer": {"tier": "strategic"}, "description": "The site is down"}),
    Case("VIP flag with critical tag", K.VIP_CRITICAL, True,
         {"customer": {"vip": True}, "tags": ["critical"]}),
    Case("enterprise, routine issue", K.VIP_CRITICAL, False,
         {"customer": {"tier": "enterprise"}, "requester_priority": "P3"}),
    Case("business tier, P0", K.VIP_CRITICAL, False,
         {"customer": {"tier": "business"}, "requester_priority": "P0"}),
    # ---- agent-initiated
    Case("marked", K.AGENT_MARKED, True, {"agent": {"needs_escalation": True}}),
    Case("not marked", K.AGENT_MARKED, False, {"agent": {"needs_escalation": False}}),
    Case("30 min investigated", K.INVESTIGATION_TIMEOUT, True,
         {"agent": {"minutes_investigated": 30}}),
    Case("29 min investigated", K.INVESTIGATION_TIMEOUT, False,
         {"agent": {"minutes_investigated": 29}}),
    Case("solved after 45 min", K.INVESTIGATION_TIMEOUT, False,
         {"agent": {"minutes_investigated": 45}, "status": "solved"}),
    Case("suspected bug", K.SUSPECTED_BUG, True, {"agent": {"suspected_bug": True}}),
    Case("no bug suspected", K.SUSPECTED_BUG, False, {"agent": {"minutes_investigated": 5}}),
    # ---- system-automatic
    Case("95 % of first response", K.SLA_BREACH_IMMINENT, True,
         {"sla": {"first_response_minutes": 60}}, minutes_old=57),
    Case("94 % of first response", K.SLA_BREACH_IMMINENT, False,
         {"sla": {"first_response_minutes": 60}}, minutes_old=56.4),
    Case("first response given", K.SLA_BREACH_IMMINENT, False,
         {"sla": {"first_response_minutes": 60}, "first_response_at": ago(minutes=30)},
         minutes_old=59),
    Case("95 % of resolution", K.SLA_BREACH_IMMINENT, True,
         {"sla": {"resolution_minutes": 480}}, minutes_old=456),
    Case("94 % of resolution", K.SLA_BREACH_IMMINENT, False,
         {"sla": {"resolution_minutes": 480}}, minutes_old=451),
    Case("already breached", K.SLA_BREACH_IMMINENT, True,
         {"sla": {"resolution_minutes": 60}}, minutes_old=90),
    Case("paused clock", K.SLA_BREACH_IMMINENT, False,
         {"sla": {"resolution_minutes": 480}}, {"sla_paused_minutes": 60}, minutes_old=456),
    Case("solved", K.SLA_BREACH_IMMINENT, False,
         {"sla": {"resolution_minutes": 60}, "status": "solved"}, minutes_old=90),
    Case("outage", K.CRITICAL_ISSUE, True, {"description": "Your API is down for everyone"}),
    Case("data loss", K.CRITICAL_ISSUE, True, {"description": "We lost all our data"}),
    Case("how to delete", K.CRITICAL_ISSUE, False, {"description": "How do I delete my data?"}),
    Case("sentiment -0.71", K.NEGATIVE_SENTIMENT, True, {"sentiment_score": -0.71}),
    Case("sentiment -0.70", K.NEGATIVE_SENTIMENT, False, {"sentiment_score": -0.7}),
    Case("security", K.SECURITY_KEYWORDS, True, {"description": "We think there was a data leak"}),
    Case("breach", K.SECURITY_KEYWORDS, True, {"subject": "Breach of our admin account"}),
    Case("SLA breach template", K.SECURITY_KEYWORDS, False,
         {"subject": "SLA breach report template"}),
    Case("lawsuit", K.LEGAL_KEYWORDS, True, {"description": "Expect a lawsuit."}),
    Case("legal hold feature", K.LEGAL_KEYWORDS, False,
         {"description": "Does the litigation hold feature export PDFs?"}),
    Case("$10,001 at risk", K.REVENUE_IMPACT, True, {"revenue_at_risk": 10_001}),
    Case("$10,000 at risk", K.REVENUE_IMPACT, False, {"revenue_at_risk": 10_000}),
    Case("$9,999 at risk", K.REVENUE_IMPACT, False, {"revenue_at_risk": 9_999}),
    Case("5 in an hour", K.MASS_PATTERN, True, context=_burst(5, 20, 40, 59)),
    Case("4 in an hour", K.MASS_PATTERN, False, context=_burst(5, 20, 40)),
    Case("5 but one 61 min before", K.MASS_PATTERN, False, context=_burst(5, 20, 40, 61)),
    Case("5 from one customer", K.MASS_PATTERN, False, context=_burst(5, 20, 40, 50, customers=1)),
    Case("5 on different issues", K.MASS_PATTERN, False,
         context=_burst(5, 20, 40, 50, text=OTHER_ISSUE)),
    # ---- condition-based
    Case("P0 31 min no response", K.TICKET_AGE, True,
         {"requester_priority": "P0", "description": "Site is down"}, minutes_old=31),
    Case("P0 29 min no response", K.TICKET_AGE, False,
         {"requester_priority": "P0", "description": "Site is down"}, minutes_old=29),
    Case("P1 2 h no response", K.TICKET_AGE, True, {"requester_priority": "P1"}, minutes_old=120),
    Case("P1 1 h 59 no response", K.TICKET_AGE, False, {"requester_priority": "P1"},
         minutes_old=119),
    Case("P1 answered", K.TICKET_AGE, False,
         {"requester_priority": "P1", "first_response_at": ago(minutes=100)}, minutes_old=130),
    Case("P2 8 h unresolved", K.TICKET_AGE, True,
         {"requester_priority": "P2", "first_response_at": ago(hours=7)}, minutes_old=480),
    Case("P2 7 h 59 unresolved", K.TICKET_AGE, False, {"requester_priority": "P2"},
         minutes_old=479),
    Case("P3 24 h unresolved", K.TICKET_AGE, True, {"first_response_at": ago(hours=20)},
         minutes_old=1440),
    Case("P3 23 h unresolved", K.TICKET_AGE, False, {}, minutes_old=1380),
    Case("P3 solved after 30 h", K.TICKET_AGE, False, {"status": "solved"}, minutes_old=1800),
    Case("requester P0 measured as P1", K.TICKET_AGE, False,
         {"requester_priority": "P0"}, minutes_old=31),
    Case("chatbot and KB", K.FAILED_SELF_SERVICE, True,
         {"self_service": {"chatbot_used": True, "kb_articles_viewed": 2}}),
    Case("chatbot only", K.FAILED_SELF_SERVICE, False, {"self_service": {"chatbot_used": True}}),
    Case("KB only", K.FAILED_SELF_SERVICE, False, {"self_service": {"kb_articles_viewed": 4}}),
    Case("self-service, solved", K.FAILED_SELF_SERVICE, False,
         {"self_service": {"chatbot_used": True, "kb_articles_viewed": 2}, "status": "closed"}),
    Case("health -21", K.HEALTH_DROP, True,
         {"customer": {"health_score": 59, "health_score_30d_ago": 80}}),
    Case("health -20", K.HEALTH_DROP, True,
         {"customer": {"health_score": 60, "health_score_30d_ago": 80}}),
    Case("health -19", K.HEALTH_DROP, False,
         {"customer": {"health_score": 61, "health_score_30d_ago": 80}}),
    Case("health rose", K.HEALTH_DROP, False,
         {"customer": {"health_score": 90, "health_score_30d_ago": 60}}),
    Case("health unknown", K.HEALTH_DROP, False, {"customer": {"health_score": 10}}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_trigger(case: Case) -> None:
    event = make_event(created_at=ago(minutes=case.minutes_old), **case.event)
    decision = run(event, TicketContext.model_validate(case.context))
    found = decision.trigger(case.kind)
    assert (found is not None) is case.fires, decision.triggers
    if found is not None:
        assert found.family is case.kind.family
        assert found.evidence and all(e.detail for e in found.evidence)


def test_every_trigger_kind_is_covered_firing_and_not() -> None:
    trend = {K.SENTIMENT_TREND}  # needs scripted scores: test_sentiment_trend below
    firing = {c.kind for c in CASES if c.fires} | trend
    quiet = {c.kind for c in CASES if not c.fires} | trend
    assert firing == quiet == set(TriggerKind)
    families = {k.family for k in firing}
    assert families == set(TriggerFamily)


def test_quiet_ticket_fires_nothing() -> None:
    decision = run(make_event())
    assert decision.triggers == []
    assert decision.action == "none"


# ---- evidence


def test_phrase_evidence_names_the_words_and_the_place() -> None:
    event = make_event(comments=[comment("ok"), comment("Let me talk to your manager!")])
    found = run(event).trigger(K.EXPLICIT_REQUEST)
    assert found is not None
    [ev] = found.evidence
    assert (ev.source, ev.matched_text) == ("comments[1]", "talk to your manager")
    assert ev.pattern


@pytest.mark.parametrize(
    ("changes", "kind", "observed", "threshold"),
    [
        ({"revenue_at_risk": 12_500}, K.REVENUE_IMPACT, 12_500, 10_000),
        ({"agent": {"minutes_investigated": 42}}, K.INVESTIGATION_TIMEOUT, 42, 30),
        ({"customer": {"health_score": 50, "health_score_30d_ago": 75}}, K.HEALTH_DROP, 25, 20),
        ({"sentiment_score": -0.9}, K.NEGATIVE_SENTIMENT, -0.9, -0.7),
    ],
)
def test_numbers_are_compared_with_thresholds_in_the_evidence(
    changes: dict[str, Any], kind: TriggerKind, observed: float, threshold: float
) -> None:
    found = run(make_event(**changes)).trigger(kind)
    assert found is not None
    assert (found.evidence[0].observed, found.evidence[0].threshold) == (observed, threshold)


def test_repeat_and_mass_evidence_list_the_tickets() -> None:
    context = TicketContext.model_validate({**_repeat(30, 2), **_burst(5, 20, 40, 50)})
    decision = run(make_event(), context)
    repeat, mass = decision.trigger(K.REPEATED_CONTACTS), decision.trigger(K.MASS_PATTERN)
    assert repeat is not None and mass is not None
    assert repeat.evidence[0].ticket_ids == ["R-0", "R-1"]
    assert mass.evidence[0].ticket_ids == ["M-3", "M-2", "M-1", "M-0", "T-100"]


def test_sla_evidence_says_breached_or_imminent() -> None:
    event = make_event(
        created_at=ago(minutes=70), sla={"first_response_minutes": 60, "resolution_minutes": 72}
    )
    found = run(event).trigger(K.SLA_BREACH_IMMINENT)
    assert found is not None
    details = [e.detail for e in found.evidence]
    assert "first response SLA breached" in details[0]
    assert "resolution SLA breach imminent: 97%" in details[1]


# ---- sentiment


def test_vader_scores_when_the_ticket_system_sends_no_score(vader: Any) -> None:
    event = make_event(description="This is the worst, most useless garbage. I hate it. Awful!")
    decision = run(event, scorer=vader)
    assert decision.sentiment.source == "computed"
    assert decision.sentiment.score < -0.7
    assert decision.trigger(K.NEGATIVE_SENTIMENT) is not None


def test_ticket_system_score_wins_and_vader_is_not_called() -> None:
    scorer = FixedScorer(default=-0.99)
    decision = run(make_event(sentiment_score=0.3), scorer=scorer)
    assert decision.sentiment.source == "ticket_system"
    assert decision.trigger(K.NEGATIVE_SENTIMENT) is None
    assert scorer.calls == 0


def test_latest_customer_message_is_scored(vader: Any) -> None:
    event = make_event(
        description="Thanks, love the product!",
        comments=[
            comment("This is awful, horrible and I hate it.", minutes_ago=2),
            comment("Still waiting", role="agent", minutes_ago=1),
        ],
    )
    decision = run(event, scorer=vader)
    assert decision.sentiment.where == "comments[0]"
    assert decision.sentiment.score < -0.7


@pytest.mark.parametrize(
    ("scores", "agent_replied", "prior", "fires"),
    [
        ([0.2, -0.3, -0.6], True, [], True),
        ([0.2, -0.3, -0.6], False, [], False),  # no effort yet
        ([0.1, -0.1, -0.3], True, [], False),  # dropped only 0.4
        ([-0.6, -0.3, 0.1], True, [], False),  # improving
        ([0.5, 0.2, 0.0], True, [], False),  # fell, but not negative
        ([-0.5], True, [0.4, 0.1], True),  # earlier messages known by the store
        ([0.3, -0.5], True, [], False),  # too few messages
    ],
)
def test_sentiment_trend(
    scores: list[float], agent_replied: bool, prior: list[float], fires: bool
) -> None:
    texts = [f"message {i}" for i in range(len(scores))]
    comments = [comment(t, minutes_ago=30 - i) for i, t in enumerate(texts[1:])]
    if agent_replied:
        comments.append(comment("We are looking into it", role="agent", minutes_ago=29))
    event = make_event(subject="", description=texts[0], comments=comments)
    scorer = FixedScorer(scores=dict(zip(texts, scores, strict=True)))
    context = TicketContext(prior_customer_sentiments=prior)
    found = run(event, context, scorer=scorer).trigger(K.SENTIMENT_TREND)
    assert (found is not None) is fires
