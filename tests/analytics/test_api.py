"""HTTP: dashboard JSON and page, monthly report formats, surveys (token misuse), reviews and
KB drafts, the handled-tickets feed. Real app, real PostgreSQL; Temporal is not needed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from store import models
from store.closing import ClosingStore
from store.db import make_engine, make_sessionmaker
from tests.analytics import dataset
from tests.conftest import make_settings

VIEWER, RESPONDER, INTAKE = (
    "viewer-secret-0123456789",
    "responder-secret-0123",
    "intake-secret-0123",
)
KEYS = f"board:viewer:{VIEWER},oncall:responder:{RESPONDER},helpdesk:ticket-system:{INTAKE}"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[TestClient]:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        dataset.load(session)
        session.add(
            models.TimelineEvent(
                event_key="escalation-T3.aaaa:9",
                escalation_key="escalation-T3.aaaa",
                ticket_id="T3",
                sequence=9,
                kind="resolved",
                at=dataset.JAN,
                actor="dan",
                via="api",
                step_index=None,
                detail={"resolution": "Cleared the stale SSO session cache for the tenant."},
            )
        )
    settings = make_settings(
        database_url,
        "unused",
        temporal_address="127.0.0.1:9",
        escalation_api_keys=KEYS,
        escalation_api_key_pepper="pepper-for-tests-0123456789",
        escalation_survey_secret="survey-secret-for-tests",
        escalation_public_url="http://testserver",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    engine.dispose()


# ------------------------------------------------------------------------------ dashboard
def test_dashboard_needs_a_read_key(client: TestClient) -> None:
    assert client.get("/v1/dashboard?period=2026-01").status_code == 401
    assert client.get("/dashboard").status_code == 200  # the page is public, holds no data


def test_dashboard_json(client: TestClient) -> None:
    response = client.get("/v1/dashboard?period=2026-01", headers=auth(VIEWER))
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["volume"]["total"] == 7
    assert board["outcomes"]["csat_avg"] == 4.0
    assert board["active"]["total"] == 3
    assert board["active"]["items"][0]["temporal_ui_url"].endswith("/workflows/escalation-T1")
    assert "l2" in board["teams"] and "engineering" in board["teams"]
    oncall = {row["team"]: row for row in board["oncall"]}
    assert oncall["engineering"]["pages"] == 3
    assert oncall["engineering"]["primary"]  # current on-call from the policy
    for section in ("over_time", "times", "routes", "agents", "reasons"):
        assert board[section]


def test_dashboard_filters(client: TestClient) -> None:
    board = client.get("/v1/dashboard?period=2026-01&team=security", headers=auth(VIEWER)).json()
    assert board["volume"]["total"] == 1 and board["team"] == "security"
    bad = client.get("/v1/dashboard?period=fortnight", headers=auth(VIEWER))
    assert bad.status_code == 422 and "period" in bad.text


# ------------------------------------------------------------------------------ report
def test_monthly_report_formats(client: TestClient) -> None:
    base = "/v1/reports/monthly?month=2026-01"
    as_json = client.get(base, headers=auth(VIEWER)).json()
    assert as_json["volume"]["total"] == 7 and as_json["empty"] is False
    assert as_json["recommendations"]
    md = client.get(base + "&format=markdown", headers=auth(VIEWER))
    assert md.headers["content-type"].startswith("text/markdown")
    for heading in (
        "Volume summary",
        "Resolution effectiveness",
        "Customer impact",
        "Process improvements",
        "Recommendations",
    ):
        assert f"## {heading}" in md.text
    text = client.get(base + "&format=text", headers=auth(VIEWER)).text
    assert text.startswith("Escalation Monthly Report: 2026-01")
    rows = list(
        csv.DictReader(io.StringIO(client.get(base + "&format=csv", headers=auth(VIEWER)).text))
    )
    total = next(r for r in rows if r["metric"] == "escalations" and r["key"] == "total")
    assert total["value"] == "7"


def test_report_for_an_empty_month_says_so(client: TestClient) -> None:
    for fmt in ("text", "markdown", "csv"):
        body = client.get(f"/v1/reports/monthly?month=2024-02&format={fmt}", headers=auth(VIEWER))
        assert "No escalations in 2024-02" in body.text
    report = client.get("/v1/reports/monthly?month=2024-02", headers=auth(VIEWER)).json()
    assert report["empty"] is True and report["recommendations"] == []
    assert client.get("/v1/reports/monthly?month=2024-13", headers=auth(VIEWER)).status_code == 422


# ------------------------------------------------------------------------------ surveys
def _issue(client: TestClient, ticket: str = "T4") -> str:
    response = client.post("/v1/surveys", json={"ticket_id": ticket}, headers=auth(RESPONDER))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"] == f"http://testserver/survey/{body['token']}"
    return str(body["token"])


def test_survey_records_once(client: TestClient) -> None:
    token = _issue(client)
    assert client.get(f"/v1/surveys/{token}").json()["answered"] is False
    assert client.get(f"/survey/{token}").status_code == 200  # the form a customer opens
    first = client.post(f"/v1/surveys/{token}", json={"score": 4, "comment": "quick fix"})
    assert first.status_code == 200 and first.json()["score"] == 4
    again = client.post(f"/v1/surveys/{token}", json={"score": 1})
    assert again.status_code == 409 and again.json()["detail"]["problem"] == "used"


def test_forged_malformed_and_invalid_answers_are_rejected(client: TestClient) -> None:
    token = _issue(client)
    nonce, expiry, signature = token.split(".")
    forged = [
        f"{nonce}.{int(expiry) + 86400 * 365}.{signature}",  # expiry pushed out
        f"{nonce[:-2]}AA.{expiry}.{signature}",  # another survey's id
        f"{nonce}.{expiry}.{'A' * len(signature)}",  # made-up signature
    ]
    for bad in forged:
        response = client.post(f"/v1/surveys/{bad}", json={"score": 5})
        assert response.status_code == 403, bad
        assert response.json()["detail"]["problem"] == "forged"
    assert client.post("/v1/surveys/not-a-token", json={"score": 5}).status_code == 404
    assert client.post(f"/v1/surveys/{token}", json={"score": 6}).status_code == 422
    assert client.post(f"/v1/surveys/{token}", json={"score": 0}).status_code == 422
    assert client.post(f"/v1/surveys/{token}", json={}).status_code == 422
    assert client.post("/v1/surveys", json={"ticket_id": "T4"}).status_code == 401
    assert (
        client.post("/v1/surveys", json={"ticket_id": "NOPE"}, headers=auth(RESPONDER)).status_code
        == 404
    )
    # Still answerable after all that.
    assert client.post(f"/v1/surveys/{token}", json={"score": 5}).status_code == 200


def test_expired_survey_is_rejected(client: TestClient, database_url: str) -> None:
    engine = make_engine(database_url)
    store = ClosingStore(make_sessionmaker(engine), secret=b"survey-secret-for-tests")
    issued = store.issue_survey(
        "escalation-T4.aaaa", "T4", ttl_days=1, now=datetime.now(UTC) - timedelta(days=2)
    )
    engine.dispose()
    response = client.post(f"/v1/surveys/{issued.token}", json={"score": 3})
    assert response.status_code == 410 and response.json()["detail"]["problem"] == "expired"
    # A token signed with another secret is forged, not merely unknown.
    other = ClosingStore(make_sessionmaker(make_engine(database_url)), secret=b"another")
    assert (
        client.post(
            f"/v1/surveys/{other.issue_survey('escalation-T4.aaaa', 'T4').token}", json={"score": 3}
        ).status_code
        == 403
    )


# ------------------------------------------------------------------------------ reviews, KB
def test_review_with_kb_article_needed_creates_an_exportable_draft(client: TestClient) -> None:
    response = client.post(
        "/v1/reviews",
        json={
            "ticket_id": "T3",
            "necessary": True,
            "preventable": True,
            "gap_category": "documentation",
            "reviewed_by": "carol",
            "agent_id": "a1",
            "kb_article_needed": True,
            "kb_title": "SSO login loops after an IdP certificate rotation",
        },
        headers=auth(RESPONDER),
    )
    assert response.status_code == 200, response.text
    draft_id = response.json()["kb_draft_id"]
    assert draft_id
    listed = client.get("/v1/kb/drafts", headers=auth(VIEWER)).json()
    assert any(d["id"] == draft_id for d in listed["items"])
    md = client.get(f"/v1/kb/drafts/{draft_id}.md", headers=auth(VIEWER))
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# SSO login loops after an IdP certificate rotation")
    assert "Cleared the stale SSO session cache" in md.text
    assert client.get(f"/v1/kb/drafts/{draft_id}", headers=auth(VIEWER)).json()["ticket_id"] == "T3"
    assert client.get("/v1/kb/drafts/99999.md", headers=auth(VIEWER)).status_code == 404
    bad = client.post(
        "/v1/reviews", json={"ticket_id": "T6", "gap_category": "luck"}, headers=auth(RESPONDER)
    )
    assert bad.status_code == 422
    assert client.post("/v1/reviews", json={}, headers=auth(RESPONDER)).status_code == 422


def test_handled_tickets_feed(client: TestClient) -> None:
    items = [
        {
            "ticket_id": f"W-{i}",
            "agent_id": "a9",
            "team": "tier2",
            "handled_at": "2026-01-09T10:00:00Z",
        }
        for i in range(3)
    ]
    first = client.post("/v1/agents/tickets", json={"items": items}, headers=auth(INTAKE))
    assert first.json() == {"recorded": 3}
    again = client.post("/v1/agents/tickets", json={"items": items}, headers=auth(INTAKE))
    assert again.json() == {"recorded": 0}
    assert (
        client.post("/v1/agents/tickets", json={"items": items}, headers=auth(VIEWER)).status_code
        == 403
    )
    assert json.loads(first.text)["recorded"] == 3
