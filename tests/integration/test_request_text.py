"""Control characters in request strings are refused at the boundary with a 422 naming the
field (the real API over HTTP, real PostgreSQL; validation answers before Temporal is used)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from escalation.request_text import refuse_control_characters
from tests.conftest import ADMIN_HEADERS, make_settings
from tests.integration.api_server import serve_api

pytestmark = pytest.mark.integration

REFUSED = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))]


def test_every_c0_control_but_tab_newline_and_return_is_refused() -> None:
    assert len(REFUSED) == 29
    for char in REFUSED:
        with pytest.raises(ValueError, match=f"U\\+{ord(char):04X} at position 3"):
            refuse_control_characters(f"abc{char}def")
    allowed = "line one\tcol\r\nline two \u007f \u00e9 \u2028"
    assert refuse_control_characters(allowed) == allowed


@pytest.fixture(scope="module")
def api_url(database_url: str) -> Iterator[str]:
    settings = make_settings(database_url, "unused", temporal_address="127.0.0.1:1")
    with serve_api(settings) as url:
        yield url


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        (
            "/v1/escalations",
            {"ticket_id": "T-1", "priority": "P3", "subject": "checkout\u0000down"},
            ["body", "subject"],
        ),
        (
            "/v1/escalations",
            {"ticket_id": "T-1", "priority": "P3", "customer": {"name": "Globex\u001b[2J"}},
            ["body", "customer", "name"],
        ),
        (
            "/v1/escalations",
            {"ticket_id": "T-1", "priority": "P3", "triggers": ["ok", "bad\u0007"]},
            ["body", "triggers", 1],
        ),
        ("/v1/escalations/T-1/notes", {"by": "dan", "text": "a\u0000b"}, ["body", "text"]),
        ("/v1/escalations/T-1/resolve", {"by": "d\u0000n"}, ["body", "by"]),
        (
            "/v1/agents/tickets",
            {"items": [{"ticket_id": "T-1", "agent_id": "a\u0000"}]},
            ["body", "items", 0, "agent_id"],
        ),
        ("/v1/surveys/tok", {"score": 5, "comment": "great\u0000"}, ["body", "comment"]),
        (
            "/v1/schedules/payments/time-off",
            {
                "person": "dan",
                "start": "2030-01-01T00:00:00Z",
                "end": "2030-01-02T00:00:00Z",
                "note": "x\u000c",
            },
            ["body", "note"],
        ),
        ("/v1/simulate", {"priority": "P1", "team": "pay\u0000ments"}, ["body", "team"]),
    ],
)
def test_control_characters_get_a_422_naming_the_field(
    api_url: str, path: str, body: dict[str, Any], loc: list[Any]
) -> None:
    response = httpx.post(api_url + path, json=body, headers=ADMIN_HEADERS, timeout=10)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert [e["loc"] for e in errors] == [loc], errors
    assert "control character" in errors[0]["msg"]


def test_tab_and_newlines_pass_validation(api_url: str) -> None:
    """A multi-line note is valid: the request gets past validation to Temporal (unreachable
    here, so not a 422 but the documented 503)."""
    response = httpx.post(
        api_url + "/v1/escalations/T-1/notes",
        json={"by": "dan", "text": "line one\n\tindented\r\nline two"},
        headers=ADMIN_HEADERS,
        timeout=30,
    )
    assert response.status_code == 503, response.text


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/v1/simulate", {"priority": "P0", "runtime_changes": 0}, ["body", "runtime_changes"]),
        ("/v1/simulate", {"priority": "P0", "suspected_bug": "yes"}, ["body", "suspected_bug"]),
        (
            "/v1/escalations",
            {"ticket_id": "T-1", "priority": "P3", "legal_hold": 1},
            ["body", "legal_hold"],
        ),
        (
            "/v1/escalations/T-1/resolve",
            {"by": "dan", "kb_article_needed": "true"},
            ["body", "kb_article_needed"],
        ),
    ],
)
def test_a_boolean_field_takes_only_json_booleans(
    api_url: str, path: str, body: dict[str, Any], loc: list[Any]
) -> None:
    """The OpenAPI document says `boolean`: 0, 1, "yes" or "true" are refused (found by the
    fuzzer), not read as booleans."""
    response = httpx.post(api_url + path, json=body, headers=ADMIN_HEADERS, timeout=10)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [loc]
