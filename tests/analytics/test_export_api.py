"""HTTP: GET /v1/analytics and /v1/analytics/{view}.csv on the real app and PostgreSQL (Temporal
is not needed): keys and roles, unknown views, filters, RFC 4180 quoting, streaming of a large
view, and the CSV agreeing with /v1/dashboard."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from escalation.apikeys import Permission, Role, role_allows
from store import models
from store.analytics.views import VIEWS, find_view
from store.db import make_engine, make_sessionmaker
from tests.analytics import dataset, views_data
from tests.conftest import make_settings

TOKENS = {role: f"{role.value}-secret-0123456789" for role in Role}
KEYS = ",".join(f"k-{role.value}:{role.value}:{token}" for role, token in TOKENS.items())
VIEWER = TOKENS[Role.VIEWER]
BULK = 2500  # notifications of one escalation: several fetch batches of 1,000


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[TestClient]:
    engine = make_engine(database_url)
    with make_sessionmaker(engine).begin() as session:
        dataset.load(session)
        views_data.add(session)
        session.add_all(
            models.Notification(
                idempotency_key=f"bulk:{i}",
                escalation_key="escalation-F2.aaaa",
                ticket_id="F2",
                step_index=1,
                action="slack",
                channel="slack",
                target="#escalations",
                outcome="delivered",
                result={},
                created_at=views_data.FEB + timedelta(hours=1, seconds=i),
            )
            for i in range(BULK)
        )
    settings = make_settings(
        database_url,
        "unused",
        temporal_address="127.0.0.1:9",
        escalation_api_keys=KEYS,
        escalation_api_key_pepper="pepper-for-tests-0123456789",
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client
    engine.dispose()


def parse(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body, newline="")))


# ------------------------------------------------------------------------------------ access
def test_no_key_is_401(client: TestClient) -> None:
    for path in ("/v1/analytics", "/v1/analytics/escalations.csv", "/v1/analytics/nope.csv"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/v1/analytics/escalations.csv", headers=auth("wrong")).status_code == 401


@pytest.mark.parametrize("role", list(Role))
def test_roles(client: TestClient, role: Role) -> None:
    """A read permission is what the export needs: 200 for every role that has it (all five
    today), 403 naming the role for any that does not."""
    response = client.get("/v1/analytics/surveys.csv", headers=auth(TOKENS[role]))
    if role_allows(role, Permission.READ):
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403 and role.value in response.json()["detail"]


def test_unknown_view_is_404_listing_the_valid_ones(client: TestClient) -> None:
    for name in ("tickets", "api_keys", "analytics_", "ESCALATIONS"):
        response = client.get(f"/v1/analytics/{name}.csv", headers=auth(VIEWER))
        assert response.status_code == 404, name
        assert (
            "valid views: escalations, escalation_triggers, notifications, oncall_pages"
            in (response.json()["detail"])
        )


def test_bad_filters_are_422(client: TestClient) -> None:
    base = "/v1/analytics/escalations.csv"
    for query in ("from=2026-02-01&to=2026-01-01", "from=January", "team=Not%20A%20Team"):
        assert client.get(f"{base}?{query}", headers=auth(VIEWER)).status_code == 422, query


# -------------------------------------------------------------------------------------- CSV
def test_listing(client: TestClient) -> None:
    response = client.get("/v1/analytics", headers=auth(VIEWER))
    assert response.status_code == 200
    listed = response.json()
    assert [v["csv_path"] for v in listed] == [f"/v1/analytics/{v.name}.csv" for v in VIEWS]
    assert listed[0]["definition"]["columns"][0] == {
        "name": "escalation_key",
        "kind": "text",
        "description": "escalation run id, `escalation-<ticket>.<run>`",
    }


def test_rfc4180_quoting_header_and_encoding(client: TestClient) -> None:
    response = client.get("/v1/analytics/analytics_surveys.csv", headers=auth(VIEWER))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    assert response.headers["content-disposition"] == 'attachment; filename="analytics_surveys.csv"'
    raw = response.content
    assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM
    header = ",".join(c.name for c in find_view("surveys").columns).encode()
    assert raw.startswith(header + b"\r\n")
    # The comment holds a comma, quotes, a line break and non-ASCII letters: one quoted field,
    # quotes doubled, the line break kept inside it, UTF-8 bytes.
    quoted = '"Fast, ""friendly""\nand naïve, ☃ fixed"'.encode()
    assert b"," + quoted + b"\r\n" in raw
    rows = parse(raw.decode("utf-8"))
    assert len(rows) == 1 + 5 and all(len(r) == len(rows[0]) for r in rows)
    assert rows[-1][rows[0].index("comment")] == views_data.COMMENT
    assert raw.count(b"\r\n") == 6 and raw.count(b"\n") == 7  # one LF is inside the comment


def test_filters(client: TestClient) -> None:
    response = client.get(
        "/v1/analytics/escalations.csv",
        params={"from": "2026-01-01", "to": "2026-02-01T00:00:00Z", "team": "engineering"},
        headers=auth(VIEWER),
    )
    rows = parse(response.text)
    key = rows[0].index("escalation_key")
    assert [r[key] for r in rows[1:]] == ["escalation-T1.aaaa", "escalation-T2.aaaa"]
    empty = client.get("/v1/analytics/daily_volume.csv?team=nobody", headers=auth(VIEWER))
    assert parse(empty.text) == [[c.name for c in find_view("daily_volume").columns]]


def test_a_large_view_is_streamed_in_order(client: TestClient) -> None:
    with client.stream("GET", "/v1/analytics/notifications.csv", headers=auth(VIEWER)) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not buffered
        chunks = list(response.iter_bytes())
    assert len(chunks) >= 3  # header, then one chunk per fetched batch of 1,000 rows
    rows = parse(b"".join(chunks).decode("utf-8"))
    assert len(rows) == 1 + 6 + 1 + BULK
    ids = [int(r[0]) for r in rows[1:]]
    recorded = [r[rows[0].index("recorded_at")] for r in rows[1:]]
    assert recorded == sorted(recorded) and len(set(ids)) == len(ids)


def test_the_csv_agrees_with_the_dashboard(client: TestClient) -> None:
    board = client.get("/v1/dashboard?period=2026-01", headers=auth(VIEWER)).json()
    days = parse(
        client.get(
            "/v1/analytics/daily_volume.csv?from=2026-01-01&to=2026-02-01", headers=auth(VIEWER)
        ).text
    )
    priority, count = days[0].index("priority"), days[0].index("escalations")
    by_priority: dict[str, int] = {}
    for row in days[1:]:
        by_priority[row[priority]] = by_priority.get(row[priority], 0) + int(row[count])
    assert board["volume"]["total"] == sum(by_priority.values()) == 7
    assert {c["key"]: c["count"] for c in board["volume"]["by_severity"] if c["count"]} == (
        by_priority
    )
