"""Bad input: the API's OpenAPI document fuzzed with schemathesis against the real app on
loopback (uvicorn, PostgreSQL, the dev server and a worker, admin key), valid and invalid
cases for every operation: at least 1,000 requests, no 5xx, no response that breaks its
declared schema or content type, and invalid input always refused with a 4xx. Then the
hand-written edge cases: an oversized body is 413, malformed JSON 422, an unknown enum value
422 naming the field."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import checks
from schemathesis.core.failures import Failure
from schemathesis.generation import GenerationMode
from temporalio.testing import WorkflowEnvironment

from escalation.policy import Policy
from store.repository import Repository
from tests.conftest import ADMIN_HEADERS, make_settings, running_worker
from tests.integration.api_server import serve_api

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("PROOF_FUZZ_EXAMPLES", "16"))  # per operation and mode
SLOW = 10.0  # seconds: an answer slower than this is a failure (a denial of service)
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
]


def _record(
    lock: threading.Lock,
    found: dict[str, Any],
    key: str,
    status: int,
    failure: str | None,
    note: str | None,
) -> None:
    with lock:
        found["counts"][key] += 1
        found["statuses"][status] += 1
        if failure:
            found["failures"].append(failure)
        if note:
            found["ignored_extra_query"] += 1


def _runner(
    strategy: Any,
    base_url: str,
    label: str,
    mode: str,
    declared_query: set[str],
    record: Callable[[str, int, str | None, str | None], None],
) -> Callable[[], None]:
    """A hypothesis test for one operation and mode that records instead of failing."""

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        began = time.monotonic()
        try:
            response = case.call(base_url=base_url, headers=dict(ADMIN_HEADERS), timeout=30)
        except Exception as exc:  # connection reset after a crash, timeout: a failure too
            record(
                f"{label} [{mode}]",
                0,
                f"{label} [{mode}] -> no answer: {exc!r}; body {json.dumps(case.body)[:300]}",
                None,
            )
            return
        took = time.monotonic() - began
        if took > SLOW or response.status_code >= 500:
            with open(os.environ.get("PROOF_FUZZ_DUMP", os.devnull), "a") as dump:
                dump.write(
                    json.dumps(
                        {
                            "operation": label,
                            "status": response.status_code,
                            "seconds": round(took, 1),
                            "query": case.query,
                            "body": case.body if isinstance(case.body, dict | list) else None,
                        }
                    )
                    + "\n"
                )
        if took > SLOW:
            record(
                f"{label} [{mode}]",
                response.status_code,
                f"{label} [{mode}] -> {response.status_code} after {took:.1f}s (slow); "
                f"body {json.dumps(case.body)[:300]}",
                None,
            )
            return
        wanted = list(CHECKS)
        if mode == "negative" and response.status_code < 400:
            # Invalid input must be refused. Not counted: an undeclared query parameter (HTTP
            # APIs ignore those, OpenAPI does not forbid them); a 413 is a refusal too.
            extra = set(case.query or {}) - declared_query
            if extra:
                record(f"{label} [{mode}]", response.status_code, None, f"ignored {extra}")
                return
            wanted.append(checks.negative_data_rejection)
        failure = None
        try:
            case.validate_response(response, checks=wanted)
        except (Failure, BaseExceptionGroup) as exc:
            title = next((line.strip() for line in str(exc).splitlines() if "- " in line), "")
            failure = (
                f"{label} [{mode}] -> {response.status_code} {title}: path "
                f"{case.path_parameters} query {case.query} body {case.body!r:.300}; answer "
                f"{response.text[:200]!r}"
            )
        record(f"{label} [{mode}]", response.status_code, failure, None)

    return run  # type: ignore[no-any-return]


def _fuzz(base_url: str, limit: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Run every operation's positive and negative strategies; collect, do not stop."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    found: dict[str, Any] = {
        "counts": Counter(),
        "statuses": Counter(),
        "failures": [],
        "unsatisfiable": [],
        "ignored_extra_query": 0,
        "seconds": Counter(),
    }
    lock = threading.Lock()

    def record(key: str, status: int, failure: str | None, note: str | None) -> None:
        _record(lock, found, key, status, failure, note)

    for result in schema.get_all_operations():
        operation = result.ok()
        if limit is not None and not limit(operation.label):
            continue
        method, path = operation.label.split(" ", 1)
        parameters = spec["paths"][path][method.lower()].get("parameters", [])
        declared = {p["name"] for p in parameters if p.get("in") == "query"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception as exc:  # an operation schemathesis cannot generate for
                found["failures"].append(f"{operation.label} [{mode.value}]: no strategy: {exc!r}")
                continue
            began = time.monotonic()
            try:
                _runner(strategy, base_url, operation.label, mode.value, declared, record)()
            except hypothesis.errors.Unsatisfiable:
                # e.g. no invalid request exists for an operation without parameters
                found["unsatisfiable"].append(f"{operation.label} [{mode.value}]")
            found["seconds"][f"{operation.label} [{mode.value}]"] = time.monotonic() - began
    return found


@pytest.fixture
def api_url(
    dev_env: WorkflowEnvironment,
    database_url: str,
    task_queue: str,
) -> Any:
    settings = make_settings(
        database_url,
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        escalation_max_body_bytes=64 * 1024,
    )
    with serve_api(settings) as url:
        yield url, settings


async def test_openapi_fuzzing_finds_no_5xx_and_no_schema_violation(
    api_url: tuple[str, Any],
    dev_env: WorkflowEnvironment,
    policy: Policy,
    repository: Repository,
) -> None:
    base_url, settings = api_url
    only = [s for s in os.environ.get("PROOF_FUZZ_ONLY", "").split(",") if s]
    limit = (lambda label: any(s in label for s in only)) if only else None
    async with running_worker(dev_env.client, settings, policy, repository):
        found = await asyncio.to_thread(_fuzz, base_url, limit)
    counts: Counter[str] = found["counts"]
    failures: list[str] = found["failures"]
    total = sum(counts.values())
    operations = len({label.rsplit(" [", 1)[0] for label in counts})
    print(
        f"\nfuzz: {total} requests over {operations} operations (valid and invalid cases); "
        f"statuses {dict(sorted(found['statuses'].items()))}; failures {len(failures)}; "
        f"undeclared query parameters ignored: {found['ignored_extra_query']}; "
        f"no case possible: {found['unsatisfiable']}"
    )
    slowest = [(k, round(v, 1)) for k, v in found["seconds"].most_common(5)]
    print(f"  slowest: {slowest}")
    for failure in failures[:30]:
        print("  " + failure.replace("\n", "\n  "))
    assert total >= 1000 or only, f"only {total} requests generated"
    assert not [f for f in failures if " -> 5" in f], "5xx answers (see above)"
    assert not failures, f"{len(failures)} schema/validation failures (see above)"


async def test_oversized_malformed_and_unknown_enum_bodies(api_url: tuple[str, Any]) -> None:
    base_url, settings = api_url
    limit = settings.escalation_max_body_bytes
    async with httpx.AsyncClient(base_url=base_url, headers=ADMIN_HEADERS, timeout=30) as http:
        # Oversized, announced by Content-Length: refused before the body is read.
        big = {"ticket_id": "BIG-1", "priority": "P2", "subject": "x", "reason": "y" * limit}
        response = await http.post("/v1/escalations", json=big)
        assert response.status_code == 413, response.text
        assert "too large" in response.json()["detail"]
        # Oversized and streamed (chunked, no Content-Length): refused once past the limit.

        async def chunks() -> Any:
            for _ in range(limit // 4096 + 2):
                yield b" " * 4096

        response = await http.post(
            "/v1/tickets/events", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413, response.text
        # Webhooks too (they read the raw body for signatures).
        response = await http.post("/v1/webhooks/pagerduty", content=b"{" + b" " * limit + b"}")
        assert response.status_code == 413
        # Just under the limit goes through to validation (422 here, not 413).
        response = await http.post(
            "/v1/escalations",
            content=b" " * (limit - 10),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text

        # Malformed JSON: 422 that says where.
        response = await http.post(
            "/v1/escalations",
            content=b'{"ticket_id": "T-1", "priority": ',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["type"] == "json_invalid"

        # Unknown enum values: 422 naming the field.
        cases = [
            ("/v1/escalations", {"ticket_id": "T-2", "priority": "P9"}, "priority"),
            ("/v1/escalations", {"ticket_id": "T-3", "priority": "P1", "route": "nope"}, "route"),
            (
                "/v1/escalations",
                {"ticket_id": "T-4", "priority": "P1", "customer": {"name": "x", "tier": "gold"}},
                "tier",
            ),
            ("/v1/escalations/T-5/resolve", {"by": "dan", "preventable": "luck"}, "preventable"),
        ]
        for path, body, field in cases:
            response = await http.post(path, json=body)
            assert response.status_code == 422, (path, body, response.text)
            locations = [error["loc"] for error in response.json()["detail"]]
            assert any(field in loc for loc in locations), (field, locations)
            assert field in json.dumps(response.json()), response.text
        # The 5xx the fuzzer found, now 422 naming the parameter.
        for path, field in [
            ("/v1/kb/drafts/99999999999", "draft_id"),
            ("/v1/kb/drafts/2147483648.md", "draft_id"),
            ("/v1/kb/drafts?offset=99999999999999999999", "offset"),
            ("/v1/escalations?offset=99999999999999999999", "offset"),
            ("/v1/reports/monthly?month=0000-01", "month"),
            ("/v1/reports/monthly?month=9999-12", "month"),
            ("/v1/dashboard?period=0000-01", "period"),
            ("/v1/dashboard?period=9999-12", "period"),
            ("/v1/dashboard?period=9999999d", "period"),
        ]:
            response = await http.get(path)
            assert response.status_code == 422, (path, response.status_code, response.text)
            assert field in json.dumps(response.json()), (path, response.text)
    print(f"\nlimits: 413 above {limit} bytes (announced or streamed), 422 for malformed JSON")
