"""Data protection: payloads encrypted on the real dev server, and the codec endpoint for the UI.

The history is read back from the server with a client that has *no* codec, i.e. exactly what
the server stores and what anyone with access to its database or the UI without the codec sees.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.testing import WorkflowEnvironment

from escalation.policy import Policy
from escalation.settings import Settings
from store.repository import Repository
from tests.conftest import ADMIN_HEADERS, BIN, make_settings, running_worker
from tests.integration.api_server import serve_api
from worker.client import connect
from worker.codec import ENCODING, generate_key

pytestmark = pytest.mark.integration

OLD_KEY, ACTIVE_KEY = generate_key(), generate_key()
CODEC_KEYS = f"k2:{ACTIVE_KEY},k1:{OLD_KEY}"
VIEWER_TOKEN = f"viewer-{uuid.uuid4().hex}"
RESPONDER_TOKEN = f"responder-{uuid.uuid4().hex}"
KEYS = f"ops-viewer:viewer:{VIEWER_TOKEN},ops-responder:responder:{RESPONDER_TOKEN}"
UI = "http://localhost:8233"

# Sentences that exist only in this test's ticket: any of them in the history is a leak.
SUBJECT = "Invoices for Zanzibar Logistics show the wrong VAT since the March migration"
REASON = "Need help because Priya Raman from Zanzibar Logistics threatened to cancel"
EMAIL = "priya.raman@zanzibar-logistics.example"


def viewer() -> dict[str, str]:
    return {"authorization": f"Bearer {VIEWER_TOKEN}"}


@pytest.fixture
def settings(dev_env: WorkflowEnvironment, database_url: str, task_queue: str) -> Settings:
    return make_settings(
        database_url,
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_ui_url=UI,
        escalation_api_keys=f"test-admin:admin:{ADMIN_HEADERS['authorization'][7:]},{KEYS}",
        escalation_codec_keys=CODEC_KEYS,
        escalation_codec_trust_local_ui=False,
    )


@pytest.fixture
def api_url(settings: Settings) -> Iterator[str]:
    with serve_api(settings) as url:
        yield url


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


def _json(payload: Payload) -> dict[str, Any]:
    return json_format.MessageToDict(payload)


def _plain(value: object) -> dict[str, Any]:
    """A JSON payload as the pydantic converter writes it."""
    return {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(json.dumps(value).encode()).decode(),
    }


async def test_history_on_the_server_holds_no_ticket_text_and_the_codec_reads_it(
    dev_env: WorkflowEnvironment,
    settings: Settings,
    http: httpx.AsyncClient,
    policy: Policy,
    repository: Repository,
) -> None:
    ticket = f"DP-{uuid.uuid4().hex[:6]}"
    encrypting = await connect(settings)
    async with running_worker(encrypting, settings, policy, repository):
        created = await http.post(
            "/v1/escalations",
            json={
                "ticket_id": ticket,
                "priority": "P1",
                "route": "security",
                "subject": SUBJECT,
                "reason": REASON,
                "customer": {"name": "Zanzibar Logistics", "tier": "business", "email": EMAIL},
            },
            headers=ADMIN_HEADERS,
        )
        assert created.status_code == 201, created.text
        # The API (through the codec) still sees the clear state.
        acked = await http.post(
            f"/v1/escalations/{ticket}/acknowledge",
            json={"by": "dan", "note": SUBJECT},
            headers={"authorization": f"Bearer {RESPONDER_TOKEN}"},
        )
        assert acked.status_code == 200, acked.text
        resolved = await http.post(
            f"/v1/escalations/{ticket}/resolve",
            json={"by": "dan", "resolution": REASON},
            headers=ADMIN_HEADERS,
        )
        assert resolved.status_code == 200 and resolved.json()["resolution"] == REASON
        # Read what the server stores with a client that has no codec.
        history = await dev_env.client.get_workflow_handle(f"escalation-{ticket}").fetch_history()

    raw = History(events=history.events).SerializeToString()
    assert SUBJECT not in _payload_text(await _temporal_show(dev_env, ticket))
    # The temporal CLI, pointed at our codec with a viewer key, shows the clear text.
    shown = await _temporal_show(
        dev_env,
        ticket,
        "--codec-endpoint",
        f"{str(http.base_url).rstrip('/')}/codec",
        "--codec-auth",
        f"Bearer {VIEWER_TOKEN}",
    )
    assert SUBJECT in _payload_text(shown)
    for secret in (SUBJECT, REASON, EMAIL, "Priya", "Zanzibar Logistics show"):
        assert secret.encode() not in raw, f"{secret!r} is stored in clear"
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    payloads = list(started.workflow_execution_started_event_attributes.input.payloads)
    assert payloads and all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert {p.metadata["encryption-key-id"] for p in payloads} == {b"k2"}

    # What the Temporal UI does with it: POST to /codec/decode.
    answer = await http.post(
        "/codec/decode",
        json={"payloads": [_json(p) for p in payloads]},
        headers={**viewer(), "x-namespace": "default", "origin": UI},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == UI
    decoded = answer.json()["payloads"]
    assert base64.b64decode(decoded[0]["metadata"]["encoding"]) == b"json/plain"
    started_input = json.loads(base64.b64decode(decoded[0]["data"]))
    assert started_input["subject"] == SUBJECT and started_input["reason"] == REASON

    # Every encrypted payload of the history decodes (activity inputs, updates, timers' summaries).
    everything = [
        _json(p)
        for e in history.events
        for p in _payloads_of(e)
        if p.metadata.get("encoding") == ENCODING
    ]
    assert len(everything) > 10
    decoded_all = await http.post("/codec/decode", json={"payloads": everything}, headers=viewer())
    assert decoded_all.status_code == 200
    text = json.dumps(
        [base64.b64decode(p.get("data", "")).decode() for p in decoded_all.json()["payloads"]]
    )
    assert SUBJECT in text and "dan" in text


async def _temporal_show(dev_env: WorkflowEnvironment, ticket: str, *extra: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "temporal"),
        "workflow",
        "show",
        "--workflow-id",
        f"escalation-{ticket}",
        "--address",
        dev_env.client.service_client.config.target_host,
        "--output",
        "json",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out


def _payload_text(shown: bytes) -> str:
    """The data of every payload in `temporal workflow show -o json` output, decoded."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("metadata"), dict) and isinstance(node.get("data"), str):
                texts.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(shown))
    return "\n".join(texts)


def _payloads_of(message: Any) -> Iterator[Payload]:
    """Every Payload nested anywhere in a protobuf message."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if hasattr(value, "ListFields"):  # a single message
            yield from _payloads_of(value)
            continue
        items = value.values() if hasattr(value, "values") else value  # map or repeated
        for item in items:
            if hasattr(item, "ListFields"):
                yield from _payloads_of(item)


async def test_codec_round_trip_and_key_rotation(http: httpx.AsyncClient) -> None:
    plain = [_plain({"subject": SUBJECT}), _plain("second")]
    encoded = await http.post("/codec/encode", json={"payloads": plain}, headers=viewer())
    assert encoded.status_code == 200, encoded.text
    ciphered = encoded.json()["payloads"]
    assert [base64.b64decode(p["metadata"]["encryption-key-id"]) for p in ciphered] == [b"k2"] * 2
    assert SUBJECT not in json.dumps(ciphered)
    decoded = await http.post("/codec/decode", json={"payloads": ciphered}, headers=viewer())
    assert decoded.json()["payloads"] == plain

    # A payload written under the old key (still in the keyring) decodes after rotation.
    from worker.codec import EncryptionCodec, keyring_from_env

    old_codec = EncryptionCodec(keyring_from_env(f"k1:{OLD_KEY}"))
    old = await old_codec.encode([json_format.ParseDict(plain[0], Payload())])
    back = await http.post("/codec/decode", json={"payloads": [_json(old[0])]}, headers=viewer())
    assert back.status_code == 200 and back.json()["payloads"] == [plain[0]]

    # Unencrypted payloads (history from before encryption) pass through unchanged.
    same = await http.post("/codec/decode", json={"payloads": plain}, headers=viewer())
    assert same.json()["payloads"] == plain
    empty = await http.post("/codec/decode", json={"payloads": []}, headers=viewer())
    assert empty.status_code == 200 and empty.json() == {"payloads": []}


async def test_codec_rejects_bad_input_with_4xx(http: httpx.AsyncClient) -> None:
    encoded = await http.post("/codec/encode", json={"payloads": [_plain("x")]}, headers=viewer())
    tampered = encoded.json()["payloads"][0]
    data = bytearray(base64.b64decode(tampered["data"]))
    data[-1] ^= 1
    tampered["data"] = base64.b64encode(bytes(data)).decode()
    refused = await http.post("/codec/decode", json={"payloads": [tampered]}, headers=viewer())
    assert refused.status_code == 422 and "failed authentication" in refused.text

    unknown_key = {**tampered, "metadata": {**tampered["metadata"]}}
    unknown_key["metadata"]["encryption-key-id"] = base64.b64encode(b"k9").decode()
    missing = await http.post("/codec/decode", json={"payloads": [unknown_key]}, headers=viewer())
    assert missing.status_code == 422 and "'k9'" in missing.text
    assert ACTIVE_KEY not in missing.text and OLD_KEY not in missing.text

    not_base64 = {"payloads": [{"metadata": {"encoding": "!!"}, "data": "%%"}]}
    malformed = await http.post("/codec/decode", json=not_base64, headers=viewer())
    assert malformed.status_code == 422
    wrong_shape = await http.post("/codec/decode", json={"items": []}, headers=viewer())
    assert wrong_shape.status_code == 422
    other_namespace = await http.post(
        "/codec/decode", json={"payloads": []}, headers={**viewer(), "x-namespace": "billing"}
    )
    assert other_namespace.status_code == 422 and "x-namespace" in other_namespace.text


async def test_codec_needs_a_key_that_may_read(http: httpx.AsyncClient) -> None:
    anonymous = await http.post("/codec/decode", json={"payloads": []}, headers={"origin": UI})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    responder = await http.post(
        "/codec/decode",
        json={"payloads": []},
        headers={"authorization": f"Bearer {RESPONDER_TOKEN}"},
    )
    assert responder.status_code == 200  # responders may read


async def test_cors_preflight_answers_the_temporal_ui_only(http: httpx.AsyncClient) -> None:
    asked = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-namespace,authorization",
    }
    for origin in (UI, "http://127.0.0.1:8233"):
        preflight = await http.options("/codec/decode", headers={"origin": origin, **asked})
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == origin
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"content-type", "x-namespace", "authorization"} <= {
            h.strip() for h in allowed.split(",")
        }
        assert "POST" in preflight.headers["access-control-allow-methods"]

    foreign = await http.options(
        "/codec/decode", headers={"origin": "https://evil.example", **asked}
    )
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers
    # The rest of the API gets no CORS at all, even for the UI's origin.
    api = await http.options("/v1/escalations", headers={"origin": UI, **asked})
    assert "access-control-allow-origin" not in api.headers
    listed = await http.get("/v1/escalations", headers={**ADMIN_HEADERS, "origin": UI})
    assert listed.status_code == 200 and "access-control-allow-origin" not in listed.headers


async def test_dev_ui_on_loopback_may_decode_without_a_key(settings: Settings) -> None:
    trusting = settings.model_copy(update={"escalation_codec_trust_local_ui": True})
    with serve_api(trusting) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            from_ui = await client.post(
                "/codec/decode", json={"payloads": [_plain("x")]}, headers={"origin": UI}
            )
            assert from_ui.status_code == 200, from_ui.text
            no_origin = await client.post("/codec/decode", json={"payloads": []})
            assert no_origin.status_code == 401
            elsewhere = await client.post(
                "/codec/decode", json={"payloads": []}, headers={"origin": "http://evil.example"}
            )
            assert elsewhere.status_code == 401
            # Only the codec: the rest of the API still wants a key.
            api = await client.get("/v1/escalations", headers={"origin": UI})
            assert api.status_code == 401


async def test_codec_endpoint_without_keys_says_so(database_url: str, task_queue: str) -> None:
    with serve_api(make_settings(database_url, task_queue)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            answer = await client.post(
                "/codec/decode", json={"payloads": []}, headers=ADMIN_HEADERS
            )
    assert answer.status_code == 404 and "ESCALATION_CODEC_KEYS" in answer.text


def test_invalid_codec_keys_fail_at_start(database_url: str, task_queue: str) -> None:
    from api.app import create_app
    from worker.codec import CodecKeyError

    bad = make_settings(database_url, task_queue, escalation_codec_keys="k1:not-a-key")
    with pytest.raises(CodecKeyError, match="entry 1"):
        create_app(bad)
