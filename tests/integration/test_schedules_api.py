"""Schedules over HTTP: run-time overrides and time off in PostgreSQL, /v1/oncall across a
handoff, the iCalendar feed, and the dry-run simulator. No Temporal needed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from escalation.oncall import resolve_oncall
from escalation.policy import Policy
from store.db import make_engine, make_sessionmaker
from store.schedules import ScheduleStore
from store.webhook_deliveries import STALE_CLAIM, WebhookDeliveryStore
from tests.conftest import ADMIN_HEADERS, TEST_ADMIN_TOKEN, make_settings
from tests.integration.api_server import serve_api

pytestmark = pytest.mark.integration

VIEWER = {"authorization": "Bearer viewer-token-not-secret"}
MANAGER = {"authorization": "Bearer manager-token-not-secret"}
# Security rotation (config/policy.yaml): weekly, Mondays 09:00 America/Chicago = 15:00 UTC in
# winter, from 2026-01-05; primary [max, dan], secondary [dan, max]. The week starting Mon
# 2026-11-30 is dan's (primary) and the week from Mon 2026-12-07 15:00 UTC is max's.
HANDOFF = "2026-12-07T15:00:00Z"


@pytest.fixture(scope="module")
def api_url(database_url: str) -> Iterator[str]:
    settings = make_settings(
        database_url,
        "tq-schedules",
        escalation_api_keys=(
            f"test-admin:admin:{TEST_ADMIN_TOKEN},"
            "schedules-viewer:viewer:viewer-token-not-secret,"
            "schedules-manager:manager:manager-token-not-secret"
        ),
    )
    with serve_api(settings) as url:
        yield url


@pytest.fixture
def http(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30, headers=MANAGER) as client:
        yield client


def oncall(http: httpx.Client, team: str, at: str) -> dict[str, Any]:
    response = http.get("/v1/oncall", params={"team": team, "at": at})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def who(answer: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    primary, secondary = answer["primary"], answer["secondary"]
    return (
        primary and primary["person_id"],
        primary and primary["source"],
        secondary and secondary["person_id"],
        secondary and secondary["source"],
    )


def test_oncall_across_a_handoff(http: httpx.Client) -> None:
    before = oncall(http, "security", "2026-12-07T14:59:59Z")
    assert who(before) == ("dan", "layer", "max", "layer")
    assert before["primary"]["layer"] == "weekly security rotation"
    assert before["next_handoff"] == "2026-12-07T15:00:00Z"
    assert before["has_schedule"] is True
    after = oncall(http, "security", HANDOFF)
    assert who(after) == ("max", "layer", "dan", "layer")
    # Another zone, same instant.
    assert who(oncall(http, "security", "2026-12-07T09:00:00-06:00")) == who(after)
    # A team without a schedule answers with its static on-call.
    static = oncall(http, "engineering", HANDOFF)
    assert who(static) == ("dan", "static", "erin", "static")
    assert static["has_schedule"] is False and static["next_handoff"] is None
    # After hours the vip after-hours rotation holds the primary level.
    night = oncall(http, "vip", "2026-12-08T03:00:00Z")
    assert night["primary"]["source"] == "after_hours"


def test_oncall_rejects_unknown_teams_and_bad_times(http: httpx.Client) -> None:
    for params, field in (
        ({"team": "mars", "at": HANDOFF}, "team"),
        ({"team": "security", "at": "2026-12-07T15:00:00"}, "at"),  # naive
        ({"team": "security", "at": "next tuesday"}, "at"),
        ({"at": HANDOFF}, "team"),
    ):
        response = http.get("/v1/oncall", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", field]
    now = http.get("/v1/oncall", params={"team": "security"})
    assert now.status_code == 200 and now.json()["at"].endswith("Z")


def test_override_and_time_off_crud_change_the_answer(
    http: httpx.Client, database_url: str, policy: Policy
) -> None:
    created = http.post(
        "/v1/schedules/security/overrides",
        json={
            "person": "erin",
            "level": "primary",
            "start": "2026-12-08T00:00:00Z",
            "end": "2026-12-09T00:00:00+00:00",
            "note": "max at a conference",
        },
    )
    assert created.status_code == 201, created.text
    override = created.json()
    assert override["id"].startswith("ovr_") and override["source"] == "runtime"
    assert override["created_by"] == "schedules-manager"
    assert who(oncall(http, "security", "2026-12-08T12:00:00Z"))[:2] == ("erin", "override")
    assert who(oncall(http, "security", "2026-12-09T00:00:00Z"))[:2] == ("max", "layer")

    # dan is away on a day of his week: his designated backup (erin) covers.
    away = http.post(
        "/v1/schedules/security/time-off",
        json={"person": "dan", "start": "2026-12-02T00:00:00Z", "end": "2026-12-03T00:00:00Z"},
    )
    assert away.status_code == 201, away.text
    time_off = away.json()
    covered = oncall(http, "security", "2026-12-02T12:00:00Z")
    assert who(covered)[:2] == ("erin", "time_off")
    assert covered["primary"]["replaced_person_id"] == "dan"
    assert "backup for dan" in covered["primary"]["reason"]

    # The same rows feed the worker's resolution (store function, then the pure resolver).
    engine = make_engine(database_url)
    try:
        changes = ScheduleStore(make_sessionmaker(engine)).runtime_schedule_changes
        at = datetime(2026, 12, 8, 12, tzinfo=UTC)
        overrides, periods = changes("security", at)
        assert [o.person for o in overrides] == ["erin"]
        assert periods == []
        assert changes("engineering", at) == ([], [])
        resolution = resolve_oncall(policy, "security", at, *changes("security", at))
        assert resolution.primary is not None and resolution.primary.person_id == "erin"
        # Time off follows the person onto every team.
        dan_day = datetime(2026, 12, 2, 12, tzinfo=UTC)
        assert [t.person for t in changes("engineering", dan_day)[1]] == ["dan"]
    finally:
        engine.dispose()

    detail = http.get("/v1/schedules/security", params={"include_past": True}).json()
    assert [o["id"] for o in detail["overrides"]] == [override["id"]]
    assert [t["id"] for t in detail["time_off"]] == [time_off["id"]]
    assert detail["schedule"]["primary"][0]["name"] == "weekly security rotation"
    assert detail["static_oncall"] == {"primary": "max", "secondary": "dan"}
    assert detail["ics_url"] == "/v1/schedules/security.ics"
    listed = http.get("/v1/schedules", params={"include_past": True}).json()
    assert [item["team"] for item in listed["items"]] == ["security", "vip"]

    assert http.delete(f"/v1/schedules/vip/overrides/{override['id']}").status_code == 404
    assert http.delete(f"/v1/schedules/security/overrides/{override['id']}").status_code == 204
    assert http.delete(f"/v1/schedules/security/overrides/{override['id']}").status_code == 404
    assert who(oncall(http, "security", "2026-12-08T12:00:00Z"))[:2] == ("max", "layer")
    assert http.delete(f"/v1/schedules/security/time-off/{time_off['id']}").status_code == 204
    assert who(oncall(http, "security", "2026-12-02T12:00:00Z"))[:2] == ("dan", "layer")
    assert http.delete(f"/v1/schedules/security/time-off/{time_off['id']}").status_code == 404


def test_an_override_gives_a_team_without_rotation_an_on_call(http: httpx.Client) -> None:
    created = http.post(
        "/v1/schedules/legal/overrides",
        json={"person": "kim", "start": "2026-12-10T00:00:00Z", "end": "2026-12-11T00:00:00Z"},
    )
    assert created.status_code == 201
    assert who(oncall(http, "legal", "2026-12-10T08:00:00Z"))[:2] == ("kim", "override")
    assert oncall(http, "legal", "2026-12-12T08:00:00Z")["primary"] is None
    listed = http.get("/v1/schedules", params={"include_past": True}).json()["items"]
    assert "legal" in [item["team"] for item in listed]
    assert http.delete(f"/v1/schedules/legal/overrides/{created.json()['id']}").status_code == 204


def test_bad_schedule_changes_are_422_and_unknown_teams_404(http: httpx.Client) -> None:
    good = {"person": "erin", "start": "2026-12-08T00:00:00Z", "end": "2026-12-09T00:00:00Z"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "person": "nobody"}, "person"),
        ({**good, "start": "2026-12-08T00:00:00"}, "start"),  # naive
        ({**good, "end": "2026-12-07T00:00:00Z"}, ""),  # end before start
        ({**good, "end": "2028-12-07T00:00:00Z"}, ""),  # longer than a year
        ({**good, "level": "tertiary"}, "level"),
        ({**good, "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        response = http.post("/v1/schedules/security/overrides", json=body)
        assert response.status_code == 422, (body, response.text)
        if field:
            assert field in response.json()["detail"][0]["loc"], response.text
    level_in_time_off = http.post("/v1/schedules/security/time-off", json={**good, "level": "x"})
    assert level_in_time_off.status_code == 422
    assert http.post("/v1/schedules/mars/overrides", json=good).status_code == 404
    assert http.post("/v1/schedules/mars/time-off", json=good).status_code == 404
    assert http.get("/v1/schedules/mars").status_code == 404
    assert http.get("/v1/schedules/mars.ics").status_code == 404


def test_roles_viewer_reads_manager_changes(api_url: str) -> None:
    body = {"person": "erin", "start": "2026-12-08T00:00:00Z", "end": "2026-12-09T00:00:00Z"}
    with httpx.Client(base_url=api_url, timeout=30) as anonymous:
        assert anonymous.get("/v1/oncall", params={"team": "security"}).status_code == 401
        assert anonymous.get("/v1/schedules").status_code == 401
        assert anonymous.get("/v1/schedules/security.ics").status_code == 401
        assert anonymous.post("/v1/simulate", json={"priority": "P0"}).status_code == 401
        assert anonymous.post("/v1/schedules/security/overrides", json=body).status_code == 401
    with httpx.Client(base_url=api_url, timeout=30, headers=VIEWER) as viewer:
        assert viewer.get("/v1/oncall", params={"team": "security"}).status_code == 200
        assert viewer.get("/v1/schedules/security").status_code == 200
        assert viewer.post("/v1/schedules/security/overrides", json=body).status_code == 403
        assert viewer.post("/v1/schedules/security/time-off", json=body).status_code == 403
        assert viewer.delete("/v1/schedules/security/overrides/ovr_x").status_code == 403
    with httpx.Client(base_url=api_url, timeout=30, headers=ADMIN_HEADERS) as admin:
        created = admin.post("/v1/schedules/security/time-off", json=body)
        assert created.status_code == 201
        assert created.json()["created_by"] == "test-admin"
        assert (
            admin.delete(f"/v1/schedules/security/time-off/{created.json()['id']}").status_code
            == 204
        )


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_ical_feed_parses_and_shows_overrides(http: httpx.Client) -> None:
    created = http.post(
        "/v1/schedules/security/overrides",
        json={"person": "erin", "start": "2026-12-08T00:00:00Z", "end": "2026-12-09T00:00:00Z"},
    ).json()
    try:
        response = http.get(
            "/v1/schedules/security.ics",
            params={"start": "2026-12-01T00:00:00Z", "days": 14},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/calendar")
        assert "oncall-security.ics" in response.headers["content-disposition"]
        lines = unfold(response.text)
        assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
        stack: list[str] = []
        for line in lines:
            if line.startswith("BEGIN:"):
                stack.append(line[6:])
            elif line.startswith("END:"):
                assert stack.pop() == line[4:]
        assert stack == []
        events = []
        for chunk in "\n".join(lines).split("BEGIN:VEVENT")[1:]:
            props = dict(line.split(":", 1) for line in chunk.strip().split("\n")[:-1])
            events.append(props)
        primaries = sorted(
            (e["DTSTART"], e["DTEND"], e["SUMMARY"]) for e in events if "primary" in e["CATEGORIES"]
        )
        assert primaries == [
            ("20261201T000000Z", "20261207T150000Z", "Primary on-call: Dan Okafor"),
            ("20261207T150000Z", "20261208T000000Z", "Primary on-call: Max Kowalski"),
            ("20261208T000000Z", "20261209T000000Z", "Primary on-call: Erin Walsh"),
            ("20261209T000000Z", "20261214T150000Z", "Primary on-call: Max Kowalski"),
            ("20261214T150000Z", "20261215T000000Z", "Primary on-call: Dan Okafor"),
        ]
        assert len({e["UID"] for e in events}) == len(events)
        default = http.get("/v1/schedules/security.ics")
        assert default.status_code == 200 and "BEGIN:VEVENT" in default.text
        empty = http.get("/v1/schedules/legal.ics")
        assert empty.status_code == 200 and "BEGIN:VEVENT" not in empty.text
        assert http.get("/v1/schedules/security.ics", params={"days": 0}).status_code == 422
        naive = http.get("/v1/schedules/security.ics", params={"start": "2026-12-01T00:00:00"})
        assert naive.status_code == 422
    finally:
        http.delete(f"/v1/schedules/security/overrides/{created['id']}")


def test_simulate_over_http_uses_run_time_changes(http: httpx.Client) -> None:
    body = {"priority": "P1", "route": "security", "at": "2026-12-02T12:00:00Z"}
    plain = http.post("/v1/simulate", json=body)
    assert plain.status_code == 200, plain.text
    assert plain.json()["steps"][0]["primary_oncall"]["person_id"] == "dan"
    away = http.post(
        "/v1/schedules/security/time-off",
        json={"person": "dan", "start": "2026-12-02T00:00:00Z", "end": "2026-12-03T00:00:00Z"},
    ).json()
    try:
        covered = http.post("/v1/simulate", json=body).json()
        first = covered["steps"][0]
        assert first["primary_oncall"]["person_id"] == "erin"
        assert first["primary_source"] == "time_off"
        assert first["notifications"][0]["channel"] == "slack #escalations"
        assert first["notifications"][0]["recipients"][0]["person_id"] == "erin"
        policy_only = http.post("/v1/simulate", json={**body, "runtime_changes": False}).json()
        assert policy_only["steps"][0]["primary_oncall"]["person_id"] == "dan"
    finally:
        http.delete(f"/v1/schedules/security/time-off/{away['id']}")

    p0 = http.post(
        "/v1/simulate", json={"priority": "P0", "route": "outage", "at": "2026-12-24T22:00:00Z"}
    ).json()
    assert [s["at"] for s in p0["steps"]] == [
        "2026-12-24T22:00:00Z",
        "2026-12-24T22:05:00Z",
        "2026-12-24T22:15:00Z",
        "2026-12-24T22:30:00Z",
    ]
    assert p0["steps"][0]["notifications"][0]["channel"] == "pagerduty"
    for bad in (
        {"priority": "P9"},
        {"priority": "P0", "route": "moon"},
        {"priority": "P0", "team": "mars"},
        {"priority": "P0", "at": "2026-12-24T22:00:00"},
    ):
        assert http.post("/v1/simulate", json=bad).status_code == 422, bad


def test_webhook_delivery_claims(database_url: str) -> None:
    """A delivery id is acted on once; a claim whose process died is taken over later."""
    engine = make_engine(database_url)
    try:
        store = WebhookDeliveryStore(make_sessionmaker(engine))
        t0 = datetime(2026, 12, 24, 22, tzinfo=UTC)
        assert store.claim("pagerduty", "wh-1", "incident.acknowledged", now=t0)
        assert not store.claim("pagerduty", "wh-1", now=t0 + timedelta(seconds=5))
        assert store.claim("slack", "wh-1", now=t0)  # ids are per vendor
        assert store.claim("pagerduty", "wh-1", now=t0 + STALE_CLAIM + timedelta(seconds=1))
        store.finish("pagerduty", "wh-1", "signalled", ticket_id="ZD-1", detail={"x": "y"})
        assert not store.claim("pagerduty", "wh-1", now=t0 + timedelta(days=1))
        assert store.get("pagerduty", "wh-1") == {
            "vendor": "pagerduty",
            "delivery_id": "wh-1",
            "event_type": "incident.acknowledged",
            "ticket_id": "ZD-1",
            "outcome": "signalled",
            "detail": {"x": "y"},
        }
        assert store.claim("pagerduty", "wh-2", now=t0)
        store.release("pagerduty", "wh-2")  # Temporal was down: the retry is handled
        assert store.claim("pagerduty", "wh-2", now=t0)
    finally:
        engine.dispose()
