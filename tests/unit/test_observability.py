"""JSON logs with bound ids and no personal data; the API's /metrics endpoint."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient

from activities import metrics
from api.app import create_app
from escalation.logging_setup import REDACTED, configure_logging
from store.migrate import upgrade
from tests.vendors.plugin import offline_settings


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(fmt="json", level="INFO", stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_and_stdlib_lines_are_json_with_bound_ids_and_no_personal_data(
    log_stream: io.StringIO,
) -> None:
    with structlog.contextvars.bound_contextvars(
        workflow_id="escalation-ZD-1", ticket_id="ZD-1", step=2
    ):
        structlog.get_logger("t").info(
            "delivered",
            channel="email",
            subject="Payroll leaks",
            customer_name="Rosalind",
            detail={"to": ["r@example.com"], "outcome": "ok", "nested": {"phone": "+1555"}},
        )
        logging.getLogger("stdlib").warning("from %s", "stdlib", extra={"email": "r@example.com"})
        try:
            raise ValueError("boom")
        except ValueError:
            secret_local = "Rosalind's salary"  # noqa: F841 - locals must not be logged
            structlog.get_logger("t").exception("failed")
    ours, stdlib, failed = _lines(log_stream)
    for line in (ours, stdlib, failed):
        assert line["workflow_id"] == "escalation-ZD-1"
        assert line["ticket_id"] == "ZD-1"
        assert line["step"] == 2
        assert line["timestamp"] and line["level"]
    assert ours["subject"] == ours["customer_name"] == REDACTED
    assert ours["detail"] == {"to": REDACTED, "outcome": "ok", "nested": {"phone": REDACTED}}
    assert stdlib["event"] == "from stdlib" and stdlib["email"] == REDACTED
    assert "exception" in failed
    text = log_stream.getvalue()
    for secret in ("Payroll", "Rosalind", "r@example.com", "+1555"):
        assert secret not in text


def test_trigger_label_is_bounded() -> None:
    assert metrics.trigger_label([]) == "explicit"
    assert metrics.trigger_label(["sla_breach_imminent", "x"]) == "sla_breach_imminent"
    assert metrics.trigger_label(["Rosalind called twice"]) == "other"


def test_instruments_are_noops_until_installed() -> None:
    metrics.notification("email", "delivered")
    metrics.vendor_error("pagerduty", None)
    metrics.acknowledgement_latency("P0", 12.5)


def test_api_metrics_endpoint_counts_requests_by_route_template(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'api.db'}"
    upgrade(database_url)
    settings = offline_settings(
        database_url=database_url,
        escalation_api_key_pepper="pepper-for-tests-" + "0" * 32,
        escalation_api_keys="prometheus:viewer:scrape-token-for-tests",
    )
    app = create_app(settings)
    with TestClient(app) as http:
        assert http.get("/openapi.json").status_code == 200
        # 422 (bad query) or 401 (no API key): either way counted under the route template
        listed = http.get("/v1/escalations", params={"priority": "P9"}).status_code
        detail = http.get("/v1/escalations/ZD-secret-4711").status_code
        assert http.get("/metrics").status_code == 401
        response = http.get("/metrics", headers={"authorization": "Bearer scrape-token-for-tests"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'escalation_api_requests_total{method="GET",route="/openapi.json",status="200"} 1.0' in text
    )
    assert (
        f'escalation_api_requests_total{{method="GET",route="/v1/escalations",status="{listed}"}}'
        " 1.0" in text
    )
    assert (
        'escalation_api_requests_total{method="GET",route="/v1/escalations/{ticket_id}",'
        f'status="{detail}"}} 1.0' in text
    )
    assert "ZD-secret-4711" not in text  # raw paths (ticket ids) never become labels
    assert 'escalation_api_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    assert "process_resident_memory_bytes" in text
    assert "/metrics" not in {
        line.split('route="')[1].split('"')[0] for line in text.splitlines() if 'route="' in line
    }
    assert "/metrics" not in app.openapi()["paths"]
