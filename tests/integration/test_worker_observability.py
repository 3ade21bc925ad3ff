"""The worker's Prometheus endpoint (SDK metrics and ours) and its structured activity logs,
on the real dev server with a live local PagerDuty server."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from temporalio.common import MetricMeter
from temporalio.testing import WorkflowEnvironment

from activities import metrics
from escalation import activity_names as names
from escalation.logging_setup import configure_logging
from escalation.models import AcknowledgeInput, EscalationInput, EscalationState
from escalation.policy import Policy
from escalation.vocabulary import CustomerTier, Priority, RouteKey
from store.repository import Repository
from tests.conftest import make_settings
from tests.integration.api_server import free_port
from tests.integration.waiting import eventually
from tests.vendors.plugin import live_settings
from tests.vendors.servers import PagerDutyServer
from worker.main import connect_worker_client, escalation_worker

pytestmark = pytest.mark.integration

CUSTOMER = "Initech Rosalind Franklin"
SUBJECT = "Payroll export leaks salaries of Rosalind"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """JSON logs of this test into a buffer; the previous logging set-up is restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(fmt="json", level="INFO", stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample whose labels include `labels`."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


async def test_worker_serves_sdk_and_escalation_metrics_and_logs_ids_without_pii(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
    pagerduty_server: PagerDutyServer,
    policy: Policy,
    repository: Repository,
    log_stream: io.StringIO,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    live = live_settings(pagerduty=pagerduty_server).model_dump()
    live.update(
        temporal_address=dev_env.client.service_client.config.target_host,
        escalation_worker_metrics_address=address,
    )
    for key in ("database_url", "temporal_task_queue", "escalation_policy"):
        live.pop(key)
    settings = make_settings(database_url, task_queue, **live)
    # The first trigger fails with a 500 (retried), so a vendor error is counted too.
    pagerduty_server.fail_next("/v2/enqueue", status=500, times=1)
    client = await connect_worker_client(settings)
    ticket = f"OBS{uuid.uuid4().hex[:6]}"
    try:
        async with escalation_worker(client, settings, policy, repository) as worker, worker:
            handle = await client.start_workflow(
                names.ESCALATION_WORKFLOW,
                EscalationInput(
                    ticket_id=ticket,
                    priority=Priority.P0,
                    route=RouteKey.OUTAGE,
                    subject=SUBJECT,
                    customer_name=CUSTOMER,
                    customer_tier=CustomerTier.ENTERPRISE,
                    customer_email="rosalind@initech.example",
                    triggers=["critical_issue"],
                ),
                id=f"escalation-{ticket}",
                task_queue=task_queue,
                result_type=EscalationState,
            )
            await eventually(
                lambda: [
                    r for r in pagerduty_server.requests_to("/v2/enqueue") if r.json is not None
                ][1:],
                within=30,
            )
            await handle.execute_update(
                names.UPDATE_ACKNOWLEDGE, AcknowledgeInput(by="dan"), result_type=EscalationState
            )
            url = f"http://{address}/metrics"

            def scrape() -> str:
                return httpx.get(url, timeout=5).text

            def ready() -> str | None:
                text = scrape()
                return text if _sample(text, metrics.ACK_LATENCY + "_count") else None

            text = await eventually(ready, within=30)
    finally:
        metrics.install(MetricMeter.noop)

    # Ours
    assert _sample(text, metrics.STARTED, priority="P0", trigger="critical_issue") == 1
    assert (
        _sample(text, metrics.NOTIFICATIONS, channel="pagerduty", outcome="delivered") or 0
    ) >= 1
    assert _sample(text, metrics.VENDOR_ERRORS, vendor="pagerduty", status="500") == 1
    assert _sample(text, metrics.ACK_LATENCY + "_count", priority="P0") == 1
    assert _sample(text, metrics.ACK_LATENCY + "_bucket", priority="P0", le="+Inf") == 1
    # The SDK's own metrics on the same endpoint
    assert "temporal_workflow_task_execution_latency" in text
    assert "temporal_activity_execution_latency" in text

    # Logs: JSON lines; activity lines carry workflow id, ticket id and step; no personal data
    logged = log_stream.getvalue()
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert lines, logged
    activity_lines: list[dict[str, Any]] = [line for line in lines if "activity" in line]
    assert activity_lines, lines
    for line in activity_lines:
        assert line["workflow_id"] == f"escalation-{ticket}"
        assert line["ticket_id"] == ticket
        assert "step" in line
    assert any(line["event"] == "vendor_retry" and line["step"] == 0 for line in activity_lines)
    for secret in ("Rosalind", "Initech", "Payroll", "rosalind@initech.example"):
        leaks = [line for line in logged.splitlines() if secret in line]
        assert not leaks, leaks
