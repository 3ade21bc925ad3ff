"""Local vendor servers for tests: real HTTP (and SMTP) servers on 127.0.0.1.

Each class imitates the part of one vendor API the service uses, with the success and error
bodies documented in shared/vendor-apis.md, and keeps enough state to behave like the vendor
(PagerDuty alerts per dedup_key, Slack messages per channel, Jira issues searchable by label,
...). They serve the adapter tests (tests/adapters/) and the workflow integration tests.

Common behaviour (`VendorServer`):

* `start()` / `stop()` or `with Server() as server:`; `server.url` is the root URL and
  `server.base_url` the URL to configure (root + the vendor's API prefix, e.g. Slack's `/api`).
* Every request is recorded (`server.requests`, `server.requests_to(path)`), with method, path,
  query, headers (lower-case names), raw body and the parsed JSON or form.
* Every request body is validated against the vendor description in shared/vendor-specs (see
  tests/vendors/schemas.py) plus the vendor rules listed in vendor-apis.md section 8; problems
  are appended to `server.schema_violations` (tests assert it stays empty). With
  `strict=True` a request with violations is also refused with the vendor's 400 body.
* Faults are scripted per path (fnmatch pattern, with or without the API prefix)::

      server.fail_next("/v2/enqueue", status=429, headers={"Retry-After": "1"}, times=1)
      server.fail_next("/v2/enqueue", status=500, times=3)              # a burst of 500s
      server.fail_next("/rest/api/3/issue", status=400)                 # vendor's 400 body
      server.fail_next("/v2/alerts/*/close", status=503, method="POST")
      server.fail_next("/chat.postMessage", drop=True)                  # connection dropped
      server.fail_next("/v2/enqueue", status=None, delay=2.0)           # slow, normal answer
      server.fail_next("/rest/api/3/issue", lose_response=True)         # done, answer lost

  Without `body`, the vendor's own error body for that status is sent. A fault answers
  instead of the normal handler, so no state changes; `times` faults are consumed in order.

`SmtpServer` (aiosmtpd) records messages and can refuse the next N with a 4xx or 5xx reply.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import fnmatch
import json
import re
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal, Self
from urllib.parse import parse_qs, unquote, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.vendors import schemas

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# Common base
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str  # percent-decoded path, without the query string
    raw_path: str  # the request target exactly as sent (still percent-encoded)
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any = None  # parsed JSON body, if the body was JSON
    form: dict[str, list[str]] | None = None  # parsed form body, if form-encoded
    received_at: float = 0.0

    def header(self, name: str) -> str | None:
        """A header by (case-insensitive) name."""
        return self.headers.get(name.lower())

    def form_value(self, name: str) -> str | None:
        """The last value of a form field."""
        values = (self.form or {}).get(name)
        return values[-1] if values else None

    def basic_auth(self) -> tuple[str, str] | None:
        """The (user, password) of a Basic Authorization header."""
        value = self.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "basic" or not token:
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except ValueError:
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None


@dataclass
class Response:
    """What a handler answers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(data).encode("utf-8"), merged)

    @classmethod
    def text(cls, status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        return cls(status, text.encode("utf-8"), merged)


@dataclass
class Fault:
    """A scripted failure: answer requests matching `pattern` (and `method`) like this."""

    pattern: str
    status: int | None  # None: answer normally (with `delay`, a slow answer)
    body: Any
    headers: dict[str, str]
    remaining: int
    method: str | None = None
    delay: float = 0.0
    drop: bool = False
    lose_response: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.pattern)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections give up after this many seconds
    # Headers and body are written separately: without TCP_NODELAY, Nagle + delayed ACK
    # add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        response = self.server.owner._dispatch(self.command, self.path, headers, body)
        if response is None:  # scripted connection drop
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: VendorServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class VendorServer:
    """Base of every local vendor HTTP server: a ThreadingHTTPServer on 127.0.0.1 (free port)
    in a daemon thread, a thread-safe request log, schema validation of every request body
    into `schema_violations`, and per-path fault scripting with `fail_next`.

    Subclasses set `vendor` and `prefix` and implement `route` (the vendor behaviour),
    `validate` (schema checks) and `error_response` (the vendor's error body for a status).
    """

    vendor: ClassVar[str] = "vendor"
    prefix: ClassVar[str] = ""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.schema_violations: list[str] = []
        self.errors: list[str] = []  # exceptions raised by the server's own handlers
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{self.vendor}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{self.vendor} server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:54321."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL to put in the vendor's *_URL setting (root + API prefix)."""
        return self.url + self.prefix

    # -- recording and faults ---------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """Requests whose path matches `path` (fnmatch pattern, prefix optional)."""
        pattern = self._pattern(path)
        return [
            r
            for r in self.requests
            if fnmatch.fnmatchcase(r.path, pattern)
            and (method is None or r.method == method.upper())
        ]

    def last_request(self, path: str | None = None) -> RecordedRequest:
        """The latest request (to `path`, if given); AssertionError if there is none."""
        found = self.requests_to(path) if path else self.requests
        if not found:
            raise AssertionError(f"{self.vendor}: no request{' to ' + path if path else ''}")
        return found[-1]

    def fail_next(
        self,
        path: str,
        *,
        status: int | None = 500,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
        delay: float = 0.0,
        drop: bool = False,
        lose_response: bool = False,
    ) -> None:
        """Answer the next `times` requests to `path` with `status` (and `body`, default the
        vendor's error body for that status, and `headers`), after `delay` seconds; or,
        with `drop=True`, close the connection without answering (a network error); or,
        with `lose_response=True`, handle the request normally (state changes) and then
        close the connection without answering: the "did it happen?" case of a timeout.
        `status=None` with `delay` answers normally, only late (a slow vendor)."""
        with self._lock:
            self._faults.append(
                Fault(
                    pattern=self._pattern(path),
                    status=status,
                    body=body,
                    headers=dict(headers or {}),
                    remaining=times,
                    method=method,
                    delay=delay,
                    drop=drop,
                    lose_response=lose_response,
                )
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_log(self) -> None:
        """Forget recorded requests, violations and faults (vendor state is kept)."""
        with self._lock:
            self._requests.clear()
            self.schema_violations.clear()
            self.errors.clear()
            self._faults.clear()

    def _pattern(self, path: str) -> str:
        if not path.startswith("/"):
            path = "/" + path
        if self.prefix and not (path == self.prefix or path.startswith(self.prefix + "/")):
            path = self.prefix + path
        return path

    # -- request handling -------------------------------------------------------------------

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Response | None:
        parts = urlsplit(target)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        parsed_json: Any = None
        form: dict[str, list[str]] | None = None
        bad_json = False
        if body and content_type == "application/json":
            try:
                parsed_json = json.loads(body)
            except ValueError:
                bad_json = True
        elif body and content_type == "application/x-www-form-urlencoded":
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        request = RecordedRequest(
            method=method.upper(),
            path=unquote(parts.path),
            raw_path=target,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=body,
            json=parsed_json,
            form=form,
            received_at=time.time(),
        )
        with self._lock:
            self._requests.append(request)
            if len(body) < int(headers.get("content-length") or 0):
                # The client went away mid-body (a worker killed while sending): a real server
                # never acts on an incomplete request. Recorded, not served.
                return None
            fault = next(
                (f for f in self._faults if f.remaining > 0 and f.matches(method, request.path)),
                None,
            )
            if fault is not None:
                fault.remaining -= 1
        problems: list[str] = []
        if bad_json:
            problems.append("body is not valid JSON")
        else:
            try:
                problems = self.validate(request)
            except Exception as exc:  # a validator bug must not hide as a 500
                problems = [f"validator failed: {exc!r}"]
        if problems:
            with self._lock:
                self.schema_violations.extend(
                    f"{request.method} {request.path}: {problem}" for problem in problems
                )
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and not fault.lose_response:
            if fault.drop:
                return None
            if fault.status is not None:
                return self._fault_response(fault, request)
            fault = None  # a slow but normal answer
        if bad_json or (self.strict and problems):
            return self.error_response(400, request)
        try:
            with self._lock:
                response = self.route(request)
        except Exception as exc:
            with self._lock:
                self.errors.append(f"{request.method} {request.path}: {exc!r}")
            return Response.text(500, f"test server error: {exc!r}")
        return None if fault is not None else response

    def _fault_response(self, fault: Fault, request: RecordedRequest) -> Response:
        assert fault.status is not None
        if fault.body is None:
            response = self.error_response(fault.status, request)
        elif isinstance(fault.body, bytes | str):
            raw = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
            response = Response(fault.status, raw, {"Content-Type": "text/plain; charset=utf-8"})
        else:
            response = Response.json(fault.status, fault.body)
        response.headers.update(fault.headers)
        return response

    # -- vendor-specific hooks --------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Response:
        """The vendor's behaviour for a request that is not faulted (called under the lock)."""
        return self.error_response(404, request)

    def validate(self, request: RecordedRequest) -> list[str]:
        """Schema problems of this request (empty when valid)."""
        return []

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        """The vendor's error answer for `status`."""
        return Response.json(status, {"error": f"HTTP {status}"})


def _split(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _encoded_segments(request: RecordedRequest) -> list[str]:
    """Path segments split *before* percent-decoding, so an encoded `/` stays inside one."""
    return [unquote(s) for s in urlsplit(request.raw_path).path.split("/") if s]


# --------------------------------------------------------------------------------------------
# PagerDuty Events API v2
# --------------------------------------------------------------------------------------------


@dataclass
class PagerDutyAlert:
    """One alert as PagerDuty tracks it: opened by a trigger, then acknowledged/resolved."""

    routing_key: str
    dedup_key: str
    status: Literal["triggered", "acknowledged", "resolved"]
    summary: str
    source: str
    severity: str
    custom_details: dict[str, Any]
    links: list[dict[str, Any]]
    events: list[str]  # event_action of every event applied, in order
    trigger_count: int = 1


class PagerDutyServer(VendorServer):
    """PagerDuty Events API v2: `POST /v2/enqueue`, answered 202
    `{"status":"success","message":"Event processed","dedup_key":...}`.

    Tracks alerts per (routing_key, dedup_key): a trigger de-duplicates into the open alert
    (status triggered or acknowledged) or opens a new one once the previous is resolved;
    acknowledge/resolve without an open alert are accepted but dropped (`dropped_events`), as
    PagerDuty does. Refuses with 400 `{"status":"invalid event",...}` what PagerDuty refuses
    (missing routing_key, bad event_action or severity, trigger without summary/source,
    ack/resolve without dedup_key). `routing_keys`, if given, limits the accepted keys.
    """

    vendor = "pagerduty"
    default_routing_key = "R0UT1NGKEY0000000000000000000001"

    def __init__(self, *, routing_keys: Iterable[str] | None = None, strict: bool = False) -> None:
        super().__init__(strict=strict)
        self.routing_key = self.default_routing_key
        self.routing_keys = set(routing_keys) if routing_keys is not None else None
        self.alerts: list[PagerDutyAlert] = []
        self.dropped_events: list[dict[str, Any]] = []

    def alert(self, dedup_key: str, routing_key: str | None = None) -> PagerDutyAlert | None:
        """The latest alert for `dedup_key` (on `routing_key`, if given)."""
        with self._lock:
            for alert in reversed(self.alerts):
                if alert.dedup_key == dedup_key and routing_key in (None, alert.routing_key):
                    return alert
        return None

    def open_alerts(self) -> list[PagerDutyAlert]:
        with self._lock:
            return [a for a in self.alerts if a.status != "resolved"]

    def validate(self, request: RecordedRequest) -> list[str]:
        if request.path != "/v2/enqueue":
            return []
        problems: list[str] = []
        if not (request.header("content-type") or "").startswith("application/json"):
            problems.append("Content-Type must be application/json")
        return problems + schemas.json_schema_validator(schemas.PAGERDUTY_ENQUEUE)(request.json)

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        if status == 400:
            return Response.json(
                400,
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["Event object format is unrecognized"],
                },
            )
        if status == 429:
            return Response.json(
                429,
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly. "
                    "Please retry later.",
                },
            )
        if status >= 500:
            return Response.json(status, {"status": "error", "message": "Internal error"})
        return Response.json(status, {"status": "error", "message": f"HTTP {status}"})

    def _invalid(self, *errors: str) -> Response:
        return Response.json(
            400,
            {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": list(errors),
            },
        )

    def route(self, request: RecordedRequest) -> Response:
        if request.path != "/v2/enqueue" or request.method != "POST":
            return Response.json(404, {"status": "error", "message": "Not found"})
        event = request.json
        if not isinstance(event, dict):
            return self._invalid("JSON parse error")
        routing_key = event.get("routing_key")
        action = event.get("event_action")
        if not isinstance(routing_key, str) or not routing_key:
            return self._invalid("'routing_key' is missing or blank")
        if self.routing_keys is not None and routing_key not in self.routing_keys:
            return self._invalid("Invalid routing key")
        if action not in ("trigger", "acknowledge", "resolve"):
            return self._invalid("'event_action' is missing or blank")
        dedup_key = event.get("dedup_key")
        if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
            return self._invalid("'dedup_key' must be a string of at most 255 characters")
        if action == "trigger":
            payload = event.get("payload")
            if not isinstance(payload, dict):
                return self._invalid("'payload' is missing or blank")
            missing = [f for f in ("summary", "source") if not payload.get(f)]
            if missing:
                return self._invalid(*(f"'payload.{f}' is missing or blank" for f in missing))
            if payload.get("severity") not in ("critical", "error", "warning", "info"):
                return self._invalid(
                    "'payload.severity' is invalid (must be one of the following: "
                    "'critical', 'warning', 'error' or 'info')"
                )
            if len(str(payload["summary"])) > 1024:
                return self._invalid("'payload.summary' is too long (maximum 1024 characters)")
            key = dedup_key or uuid.uuid4().hex
            alert = self._open_alert(routing_key, key)
            if alert is None:
                self.alerts.append(
                    PagerDutyAlert(
                        routing_key=routing_key,
                        dedup_key=key,
                        status="triggered",
                        summary=str(payload["summary"]),
                        source=str(payload["source"]),
                        severity=str(payload["severity"]),
                        custom_details=dict(payload.get("custom_details") or {}),
                        links=list(event.get("links") or []),
                        events=["trigger"],
                    )
                )
            else:
                alert.trigger_count += 1
                alert.events.append("trigger")
            return self._accepted(key)
        if not dedup_key:
            return self._invalid("'dedup_key' is required for acknowledge and resolve")
        alert = self._open_alert(routing_key, dedup_key)
        if alert is None:
            self.dropped_events.append(event)
        else:
            alert.events.append(action)
            alert.status = "acknowledged" if action == "acknowledge" else "resolved"
        return self._accepted(dedup_key)

    def _open_alert(self, routing_key: str, dedup_key: str) -> PagerDutyAlert | None:
        for alert in reversed(self.alerts):
            if (
                alert.routing_key == routing_key
                and alert.dedup_key == dedup_key
                and alert.status != "resolved"
            ):
                return alert
        return None

    @staticmethod
    def _accepted(dedup_key: str) -> Response:
        return Response.json(
            202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        )


# --------------------------------------------------------------------------------------------
# Slack Web API
# --------------------------------------------------------------------------------------------


@dataclass
class SlackChannel:
    """A channel of the fake workspace, with the messages posted to it."""

    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    members: set[str] = field(default_factory=set)
    messages: list[dict[str, Any]] = field(default_factory=list)
    created: int = 0
    creator: str = "U0ADMIN001"  # a person; channels made by conversations.create: the bot

    def as_conversation(self) -> dict[str, Any]:
        """The channel as Slack's conversation object."""
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": self.created,
            "creator": self.creator,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "is_member": True,
            "num_members": len(self.members),
            "unlinked": 0,
            "last_read": "0000000000.000000",
            "pending_shared": [],
            "previous_names": [],
            "priority": 0,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


_SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
_SLACK_USER_ID = re.compile(r"^[UWB][A-Z0-9]{2,}$")


class SlackServer(VendorServer):
    """Slack Web API under `/api`: chat.postMessage, chat.update, conversations.create and
    conversations.invite, with Slack's HTTP 200 + `{"ok": false, "error": ...}` failures.

    The workspace starts with the channels in `channels` (default general, incidents,
    escalations). `chat.postMessage` accepts a channel id or a name (`#` optional); an unknown
    name is created on the fly when `auto_create_channels` (so workflow tests need no set-up),
    an unknown id is `channel_not_found`. Messages are kept per channel with a unique `ts`;
    `chat.update` needs the channel *id* and an existing ts (`message_not_found` otherwise).
    `conversations.create` refuses taken names (archived ones too) with `name_taken`;
    `conversations.invite` reports `already_in_channel` when every user is already a member.
    `auth.test` names the bot user (`user_id`, the `creator` of the channels it creates;
    `add_channel` makes channels created by a person unless given `creator=`).
    `conversations.list` (form-encoded, as Slack's read methods take it) pages through the
    channels with an opaque `cursor` and `response_metadata.next_cursor`, honouring `limit`
    (1..1000), `exclude_archived` and `types`; `max_page_size` makes pages shorter than
    `limit`, as Slack may (tests of pagination).
    Auth: `Authorization: Bearer <token>` (missing: `not_authed`, wrong: `invalid_auth`).
    Bodies must be JSON with `charset=utf-8` (a missing charset is a violation, as Slack warns
    `missing_charset`) and are validated against the derived JSON-body schema and the required
    parameters of the 2021 OpenAPI file. A scripted 429 defaults to `Retry-After: 1` and body
    `{"ok": false, "error": "ratelimited"}`; `fail_next_error` scripts an ok=false answer.
    """

    vendor = "slack"
    prefix = "/api"
    bot_user_id = "U0BOTUSER1"
    methods = (
        "chat.postMessage",
        "chat.update",
        "conversations.create",
        "conversations.invite",
        "auth.test",
        "conversations.list",
    )
    # Methods outside the 2021 subset file: checked against hand-written rules (form bodies).
    form_methods = ("auth.test", "conversations.list")

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        channels: Iterable[str] = ("general", "incidents", "escalations"),
        auto_create_channels: bool = True,
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.token = token
        self.auto_create_channels = auto_create_channels
        self.channels: dict[str, SlackChannel] = {}
        self.max_page_size = 1000
        self._ids = 0
        self._ts = 0
        for name in channels:
            self.add_channel(name)

    # -- state helpers ----------------------------------------------------------------------

    def add_channel(
        self,
        name: str,
        *,
        archived: bool = False,
        members: Iterable[str] = (),
        creator: str | None = None,
    ) -> str:
        """Create a channel (e.g. to make a name taken); returns its id. `creator` defaults to
        a person; pass `SlackServer.bot_user_id` for a channel our bot created."""
        with self._lock:
            self._ids += 1
            channel_id = f"C{self._ids:09d}"
            self.channels[channel_id] = SlackChannel(
                id=channel_id,
                name=name,
                is_archived=archived,
                members={self.bot_user_id, *members},
                created=int(time.time()),
            )
            if creator is not None:
                self.channels[channel_id].creator = creator
            return channel_id

    def channel(self, id_or_name: str) -> SlackChannel | None:
        """A channel by id, or by name (with or without `#`)."""
        with self._lock:
            if id_or_name in self.channels:
                return self.channels[id_or_name]
            name = id_or_name.lstrip("#")
            return next((c for c in self.channels.values() if c.name == name), None)

    def messages(self, id_or_name: str) -> list[dict[str, Any]]:
        """The messages in a channel (copies), oldest first; [] for an unknown channel."""
        found = self.channel(id_or_name)
        with self._lock:
            return [dict(m) for m in found.messages] if found else []

    def fail_next_error(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`."""
        self.fail_next(
            f"/{method}",
            status=status,
            body={"ok": False, "error": error},
            headers=headers,
            times=times,
        )

    # -- hooks ------------------------------------------------------------------------------

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        if status == 429:
            return Response.json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        if status >= 500:
            return Response.json(status, {"ok": False, "error": "fatal_error"})
        if status == 400:
            return Response.json(400, {"ok": False, "error": "invalid_arguments"})
        if status == 404:
            return Response.json(404, {"ok": False, "error": "unknown_method"})
        return Response.json(status, {"ok": False, "error": f"http_{status}"})

    def _body(self, request: RecordedRequest) -> dict[str, Any] | None:
        if request.json is not None:
            return request.json if isinstance(request.json, dict) else None
        if request.form is not None:
            body: dict[str, Any] = {k: v[-1] for k, v in request.form.items()}
            for key in ("blocks", "attachments"):
                if isinstance(body.get(key), str):
                    with contextlib.suppress(ValueError):
                        body[key] = json.loads(body[key])
            return body
        return None

    def validate(self, request: RecordedRequest) -> list[str]:
        method = request.path.removeprefix(self.prefix + "/")
        if method not in self.methods:
            return [f"unexpected Slack method {method!r}"]
        problems: list[str] = []
        content_type = request.header("content-type") or ""
        if method in self.form_methods:
            return self._validate_read(method, request)
        if content_type.startswith("application/json"):
            if "charset=utf-8" not in content_type.replace(" ", "").lower():
                problems.append("missing_charset: use 'application/json; charset=utf-8'")
        elif not content_type.startswith("application/x-www-form-urlencoded"):
            problems.append(f"unsupported Content-Type {content_type!r}")
        if not (request.header("authorization") or "").startswith("Bearer "):
            problems.append("no 'Authorization: Bearer <token>' header")
        body = self._body(request)
        if body is None:
            return [*problems, "body is not a JSON object or form"]
        # The 2021 vendor file: required form parameters, and booleans must be booleans.
        parameters = schemas.swagger_form_parameters(schemas.SLACK_SUBSET, f"/{method}", "post")
        for name, parameter in parameters.items():
            if parameter.get("in") != "formData":
                continue
            if parameter.get("required") and name not in body:
                problems.append(f"$: '{name}' is required (slack_web_openapi_v2)")
            if (
                request.json is not None
                and name in body
                and parameter.get("type") == "boolean"
                and not isinstance(body[name], bool)
            ):
                problems.append(f"$.{name}: must be a boolean")
        validate = schemas.json_schema_validator(schemas.SLACK_JSON_BODIES, method)
        return problems + validate(body)

    def _validate_read(self, method: str, request: RecordedRequest) -> list[str]:
        """auth.test and conversations.list (docs.slack.dev method pages): arguments as a
        form or query string; Slack takes JSON bodies for write methods only."""
        problems: list[str] = []
        content_type = request.header("content-type") or ""
        if request.body and not content_type.startswith("application/x-www-form-urlencoded"):
            problems.append(f"{method} takes form-encoded arguments, not {content_type!r}")
        if not (request.header("authorization") or "").startswith("Bearer "):
            problems.append("no 'Authorization: Bearer <token>' header")
        args = {k: v[-1] for k, v in {**request.query, **(request.form or {})}.items()}
        allowed = {
            "auth.test": set(),
            "conversations.list": {"cursor", "exclude_archived", "limit", "types", "team_id"},
        }[method]
        problems += [f"$: unknown argument {name!r} for {method}" for name in args.keys() - allowed]
        if "limit" in args and not (args["limit"].isdigit() and 1 <= int(args["limit"]) <= 1000):
            problems.append("$.limit: must be an integer from 1 to 1000")
        if args.get("exclude_archived", "true") not in ("true", "false", "1", "0"):
            problems.append("$.exclude_archived: must be true or false")
        kinds = {"public_channel", "private_channel", "mpim", "im"}
        if "types" in args and not set(args["types"].split(",")) <= kinds:
            problems.append(f"$.types: each of {sorted(kinds)}")
        return problems

    def route(self, request: RecordedRequest) -> Response:
        method = request.path.removeprefix(self.prefix + "/")
        if request.method != "POST" or method not in self.methods:
            return Response.json(200, {"ok": False, "error": "unknown_method"})
        authorization = request.header("authorization") or ""
        if not authorization:
            return self._error("not_authed")
        if authorization != f"Bearer {self.token}":
            return self._error("invalid_auth")
        if method in self.form_methods:
            args = {k: v[-1] for k, v in {**request.query, **(request.form or {})}.items()}
            return self._auth_test() if method == "auth.test" else self._list(args)
        body = self._body(request)
        if body is None:
            return self._error("invalid_arguments")
        warnings: list[str] = []
        content_type = (request.header("content-type") or "").replace(" ", "").lower()
        if content_type.startswith("application/json") and "charset=utf-8" not in content_type:
            warnings.append("missing_charset")
        handler: Callable[[dict[str, Any]], Response] = {
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "conversations.create": self._create,
            "conversations.invite": self._invite,
        }[method]
        response = handler(body)
        if warnings and response.status == 200:
            data = json.loads(response.body)
            data["warning"] = ",".join(warnings)
            data["response_metadata"] = {"warnings": warnings}
            response = Response.json(200, data)
        return response

    @staticmethod
    def _error(error: str, **extra: Any) -> Response:
        return Response.json(200, {"ok": False, "error": error, **extra})

    def _resolve_channel(self, value: Any, *, allow_name: bool) -> SlackChannel | None:
        if not isinstance(value, str) or not value:
            return None
        if value in self.channels:
            return self.channels[value]
        if not allow_name or _SLACK_CHANNEL_ID.match(value):
            return None
        name = value.lstrip("#")
        found = next((c for c in self.channels.values() if c.name == name), None)
        if found is None and self.auto_create_channels and re.match(r"^[a-z0-9_-]{1,80}$", name):
            found = self.channels[self.add_channel(name)]
        return found

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{int(time.time())}.{self._ts:06d}"

    def _post_message(self, body: dict[str, Any]) -> Response:
        channel = self._resolve_channel(body.get("channel"), allow_name=True)
        if channel is None:
            return self._error("channel_not_found")
        if channel.is_archived:
            return self._error("is_archived")
        text = body.get("text")
        blocks = body.get("blocks")
        if not text and not blocks and not body.get("attachments"):
            return self._error("no_text")
        if isinstance(text, str) and len(text) > 40000:
            text = text[:40000]
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > 50):
            return self._error("invalid_blocks")
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0TESTBOT1",
            "user": self.bot_user_id,
            "text": text or "",
            "ts": ts,
        }
        if blocks is not None:
            message["blocks"] = blocks
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        channel.messages.append(message)
        return Response.json(200, {"ok": True, "channel": channel.id, "ts": ts, "message": message})

    def _update(self, body: dict[str, Any]) -> Response:
        channel = self._resolve_channel(body.get("channel"), allow_name=False)
        if channel is None:
            return self._error("channel_not_found")
        ts = body.get("ts")
        message = next((m for m in channel.messages if m["ts"] == ts), None)
        if message is None:
            return self._error("message_not_found")
        if "text" not in body and "blocks" not in body and "attachments" not in body:
            return self._error("no_text")
        if "text" in body:
            message["text"] = body["text"]
        if "blocks" in body:
            if body["blocks"]:
                message["blocks"] = body["blocks"]
            else:
                message.pop("blocks", None)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        result: dict[str, Any] = {"text": message["text"]}
        if "blocks" in message:
            result["blocks"] = message["blocks"]
        return Response.json(
            200,
            {
                "ok": True,
                "channel": channel.id,
                "ts": ts,
                "text": message["text"],
                "message": result,
            },
        )

    def _create(self, body: dict[str, Any]) -> Response:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            return self._error("invalid_name_required")
        if len(name) > 80:
            return self._error("invalid_name_maxlength")
        if not re.match(r"^[a-z0-9_-]+$", name):
            return self._error(
                "invalid_name_punctuation" if re.search(r"[.\s]", name) else "invalid_name_specials"
            )
        if any(c.name == name for c in self.channels.values()):
            return self._error("name_taken")
        channel = self.channels[self.add_channel(name, creator=self.bot_user_id)]
        channel.is_private = bool(body.get("is_private", False))
        return Response.json(200, {"ok": True, "channel": channel.as_conversation()})

    def _auth_test(self) -> Response:
        return Response.json(
            200,
            {
                "ok": True,
                "url": "https://escalation-test.slack.com/",
                "team": "Escalation Test",
                "user": "escalation-bot",
                "team_id": "T0TEST0001",
                "user_id": self.bot_user_id,
                "bot_id": "B0TESTBOT1",
                "is_enterprise_install": False,
            },
        )

    def _list(self, args: dict[str, str]) -> Response:
        limit_text = args.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            return self._error("invalid_limit")
        kinds = set(args.get("types", "public_channel").split(","))
        if not kinds <= {"public_channel", "private_channel", "mpim", "im"}:
            return self._error("invalid_types")
        start = 0
        if args.get("cursor"):
            try:
                start = int(base64.b64decode(args["cursor"], validate=True).decode().split(":")[1])
            except (ValueError, IndexError):
                return self._error("invalid_cursor")
        exclude_archived = args.get("exclude_archived") in ("true", "1")
        listed = [
            c
            for c in self.channels.values()
            if ("private_channel" if c.is_private else "public_channel") in kinds
            and not (exclude_archived and c.is_archived)
        ]
        size = min(int(limit_text), self.max_page_size)
        page = listed[start : start + size]
        after = start + len(page)
        more = after < len(listed)
        cursor = base64.b64encode(f"offset:{after}".encode()).decode() if more else ""
        return Response.json(
            200,
            {
                "ok": True,
                "channels": [c.as_conversation() for c in page],
                "response_metadata": {"next_cursor": cursor},
            },
        )

    def _invite(self, body: dict[str, Any]) -> Response:
        channel = self._resolve_channel(body.get("channel"), allow_name=False)
        if channel is None:
            return self._error("channel_not_found")
        if channel.is_archived:
            return self._error("is_archived")
        users = [u for u in str(body.get("users") or "").split(",") if u]
        if not users:
            return self._error("no_user")
        if len(users) > 1000:
            return self._error("too_many_users")
        bad = [u for u in users if not _SLACK_USER_ID.match(u)]
        if bad:
            return self._error("user_not_found", errors=[{"user": u, "ok": False} for u in bad])
        if self.bot_user_id in users:
            return self._error("cant_invite_self")
        if all(u in channel.members for u in users):
            return self._error("already_in_channel")
        channel.members.update(users)
        return Response.json(200, {"ok": True, "channel": channel.as_conversation()})


# --------------------------------------------------------------------------------------------
# Jira Cloud REST v3
# --------------------------------------------------------------------------------------------


@dataclass
class JiraIssue:
    """An issue of the fake Jira site."""

    id: str
    key: str
    fields: dict[str, Any]
    comments: list[dict[str, Any]] = field(default_factory=list)
    created: str = ""

    @property
    def labels(self) -> list[str]:
        return list(self.fields.get("labels") or [])


_JQL_CLAUSE = re.compile(r'^\s*(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|\S+)\s*$')


class JiraServer(VendorServer):
    """Jira Cloud REST v3: create issue (`POST /rest/api/3/issue`, 201 `{id, key, self}`),
    search (`GET` or `POST /rest/api/3/search/jql`, JQL `field = value [AND ...]` on project,
    labels, key, issuetype, optional `ORDER BY`), get issue, add comment (`POST
    /rest/api/3/issue/{key}/comment`, 201 comment).

    Auth: Basic `email:api_token` (401 ErrorCollection otherwise). Refuses with 400
    `{"errorMessages": [...], "errors": {field: message}}` what Jira refuses: unknown project,
    missing summary or issue type, summary over 255 characters or with line breaks, description
    not ADF, labels with spaces. Bodies are validated against the subset OpenAPI
    (IssueUpdateDetails / Comment) and the derived create-issue schema (ADF for comments).
    """

    vendor = "jira"

    def __init__(
        self,
        *,
        email: str = "jira-bot@example.com",
        api_token: str = "jira-test-token",
        projects: Iterable[str] = ("OPS",),
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.email = email
        self.api_token = api_token
        self.projects = {key: index for index, key in enumerate(projects, start=10000)}
        self.issues: dict[str, JiraIssue] = {}
        self._counters: dict[str, int] = {}
        self._comment_ids = 10000

    def issue(self, key: str) -> JiraIssue | None:
        with self._lock:
            return self.issues.get(key)

    def issues_with_label(self, label: str) -> list[JiraIssue]:
        with self._lock:
            return [issue for issue in self.issues.values() if label in issue.labels]

    def validate(self, request: RecordedRequest) -> list[str]:
        parts = _split(request.path)
        if request.method == "POST" and parts == ["rest", "api", "3", "issue"]:
            return schemas.openapi_body_validator(schemas.JIRA_SUBSET, "/rest/api/3/issue", "post")(
                request.json
            ) + schemas.json_schema_validator(schemas.JIRA_CREATE_DERIVED)(request.json)
        if request.method == "POST" and len(parts) == 6 and parts[5] == "comment":
            problems = schemas.openapi_body_validator(
                schemas.JIRA_SUBSET, "/rest/api/3/issue/{issueIdOrKey}/comment", "post"
            )(request.json)
            body = request.json.get("body") if isinstance(request.json, dict) else None
            adf = schemas.json_schema_validator(schemas.JIRA_CREATE_DERIVED, "adf_doc")
            return problems + [f"$.body{p[1:]}" for p in adf(body)]
        return []

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        messages = {
            400: ["The request was invalid."],
            401: ["You are not authenticated. Authentication required to perform this operation."],
            403: ["You do not have permission to create issues in this project."],
            404: ["Issue does not exist or you do not have permission to see it."],
            429: ["Rate limit exceeded."],
        }
        headers: dict[str, str] = {}
        if status == 429:
            headers = {"Retry-After": "1", "RateLimit-Reason": "jira-burst-based"}
        return Response.json(
            status,
            {"errorMessages": messages.get(status, [f"HTTP {status}"]), "errors": {}},
            headers,
        )

    def _errors(self, status: int, messages: list[str], errors: dict[str, str]) -> Response:
        return Response.json(status, {"errorMessages": messages, "errors": errors})

    def route(self, request: RecordedRequest) -> Response:
        if request.basic_auth() != (self.email, self.api_token):
            return self.error_response(401, request)
        parts = _split(request.path)
        if parts[:3] != ["rest", "api", "3"]:
            return self.error_response(404, request)
        rest = parts[3:]
        if rest == ["issue"] and request.method == "POST":
            return self._create(request)
        if rest == ["search", "jql"] and request.method in ("GET", "POST"):
            return self._search(request)
        if len(rest) == 2 and rest[0] == "issue" and request.method == "GET":
            found = self.issues.get(rest[1])
            if found is None:
                return self.error_response(404, request)
            return Response.json(200, self._issue_json(found, None))
        if rest[2:] == ["comment"] and rest[0] == "issue" and request.method == "POST":
            return self._comment(request, rest[1])
        return self.error_response(404, request)

    def _url(self, suffix: str) -> str:
        return f"{self.url}/rest/api/3/{suffix}"

    def _create(self, request: RecordedRequest) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        fields = body.get("fields")
        if not isinstance(fields, dict):
            return self._errors(400, ["Field 'fields' is required"], {})
        errors: dict[str, str] = {}
        project = fields.get("project") or {}
        project_key = project.get("key") if isinstance(project, dict) else None
        if project_key not in self.projects:
            errors["project"] = "valid project is required"
        issuetype = fields.get("issuetype")
        if not isinstance(issuetype, dict) or not (issuetype.get("name") or issuetype.get("id")):
            errors["issuetype"] = "valid issue type is required"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255:
            errors["summary"] = "Summary must be less than 255 characters."
        elif "\n" in summary or "\r" in summary:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        for adf_field in ("description", "environment"):
            value = fields.get(adf_field)
            if value is not None and not (
                isinstance(value, dict) and value.get("type") == "doc" and value.get("version") == 1
            ):
                errors[adf_field] = "Operation value must be an Atlassian Document (see ADF)."
        labels = fields.get("labels")
        if labels is not None:
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                errors["labels"] = "Labels must be a list of strings."
            else:
                spaced = [x for x in labels if re.search(r"\s", x) or not x]
                if spaced:
                    errors["labels"] = f"The label '{spaced[0]}' contains spaces which is invalid."
        if errors:
            return self._errors(400, [], errors)
        assert isinstance(project_key, str)
        number = self._counters.get(project_key, 0) + 1
        self._counters[project_key] = number
        issue_id = str(10000 + len(self.issues) + 1)
        key = f"{project_key}-{number}"
        self.issues[key] = JiraIssue(id=issue_id, key=key, fields=dict(fields), created=_now_iso())
        return Response.json(
            201, {"id": issue_id, "key": key, "self": self._url(f"issue/{issue_id}")}
        )

    def _issue_json(self, issue: JiraIssue, wanted: list[str] | None) -> dict[str, Any]:
        fields = {**issue.fields, "created": issue.created, "status": {"name": "To Do"}}
        if wanted is not None and "*all" not in wanted:
            fields = {k: v for k, v in fields.items() if k in wanted}
        return {
            "id": issue.id,
            "key": issue.key,
            "self": self._url(f"issue/{issue.id}"),
            "fields": fields,
        }

    def _search(self, request: RecordedRequest) -> Response:
        if request.method == "POST":
            body = request.json if isinstance(request.json, dict) else {}
            jql = str(body.get("jql") or "")
            fields_raw: Any = body.get("fields")
            max_results = int(body.get("maxResults") or 50)
        else:
            jql = (request.query.get("jql") or [""])[-1]
            fields_raw = ",".join(request.query.get("fields", []))
            max_results = int((request.query.get("maxResults") or ["50"])[-1])
        wanted: list[str] | None
        if isinstance(fields_raw, list):
            wanted = [str(f) for f in fields_raw]
        elif fields_raw:
            wanted = [f.strip() for f in str(fields_raw).split(",") if f.strip()]
        else:
            wanted = []  # the new search returns only ids unless fields are requested
        where = re.split(r"\s+ORDER\s+BY\s+", jql, flags=re.IGNORECASE)[0]
        clauses: list[tuple[str, str]] = []
        for text in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE) if where.strip() else []:
            match = _JQL_CLAUSE.match(text)
            if match is None:
                return self._errors(400, [f"Error in the JQL Query: cannot parse {text!r}"], {})
            field_name, raw = match.group(1).lower(), match.group(2)
            value = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
            if field_name not in ("project", "labels", "key", "issuetype"):
                return self._errors(
                    400, [f"Field '{field_name}' is not supported by the test server."], {}
                )
            clauses.append((field_name, value))
        found = [
            issue
            for issue in self.issues.values()
            if all(self._matches(issue, name, value) for name, value in clauses)
        ]
        found.sort(key=lambda issue: int(issue.id))
        return Response.json(
            200,
            {
                "issues": [self._issue_json(i, wanted) for i in found[:max_results]],
                "isLast": len(found) <= max_results,
            },
        )

    @staticmethod
    def _matches(issue: JiraIssue, name: str, value: str) -> bool:
        if name == "project":
            return issue.key.split("-")[0] == value
        if name == "labels":
            return value in issue.labels
        if name == "key":
            return issue.key == value
        issuetype = issue.fields.get("issuetype") or {}
        return value in (issuetype.get("name"), issuetype.get("id"))

    def _comment(self, request: RecordedRequest, key: str) -> Response:
        found = self.issues.get(key) or next((i for i in self.issues.values() if i.id == key), None)
        if found is None:
            return self.error_response(404, request)
        body = request.json.get("body") if isinstance(request.json, dict) else None
        if not (isinstance(body, dict) and body.get("type") == "doc"):
            return self._errors(400, [], {"comment": "Comment body must be an Atlassian Document."})
        self._comment_ids += 1
        now = _now_iso()
        comment = {
            "id": str(self._comment_ids),
            "self": self._url(f"issue/{found.id}/comment/{self._comment_ids}"),
            "author": {"accountId": "test-account", "displayName": self.email},
            "body": body,
            "created": now,
            "updated": now,
            "jsdPublic": True,
        }
        found.comments.append(comment)
        return Response.json(201, comment)


# --------------------------------------------------------------------------------------------
# Atlassian Statuspage
# --------------------------------------------------------------------------------------------


class StatuspageServer(VendorServer):
    """Statuspage API under `/v1`: `GET /pages/{page}/incidents/unresolved`,
    `POST /pages/{page}/incidents` (201 incident), `GET` and `PATCH`/`PUT
    /pages/{page}/incidents/{id}` (200 incident).

    Auth: `Authorization: OAuth <api_key>` (401 otherwise); an unknown page is 404; errors are
    `{"message": ...}`; a create without `incident.name` is 422. Incidents keep `metadata` and
    an `incident_updates` history; resolving sets `resolved_at`. Bodies are validated against
    the hand-written schemas in tests/vendors/schemas.py (there is no vendor description).
    """

    vendor = "statuspage"
    prefix = "/v1"
    unresolved_statuses = ("investigating", "identified", "monitoring")

    def __init__(
        self,
        *,
        api_key: str = "statuspage-test-key",
        page_id: str = "testpage0001",
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.api_key = api_key
        self.page_id = page_id
        self.incidents: dict[str, dict[str, Any]] = {}

    def add_incident(self, **incident: Any) -> dict[str, Any]:
        """Put an incident on the page directly (e.g. one opened by hand)."""
        with self._lock:
            return self._new_incident({"name": "Existing incident", **incident})

    def validate(self, request: RecordedRequest) -> list[str]:
        parts = _split(request.path)
        if len(parts) == 4 and parts[3] == "incidents" and request.method == "POST":
            return schemas.statuspage_validator("create")(request.json)
        if len(parts) == 5 and parts[3] == "incidents" and request.method in ("PATCH", "PUT"):
            return schemas.statuspage_validator("update")(request.json)
        return []

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        messages = {
            400: "Bad request",
            401: "Could not authenticate",
            404: "The requested resource could not be found.",
            420: "Rate limit exceeded",
            422: "Unprocessable entity",
            429: "Rate limit exceeded",
        }
        return Response.json(status, {"message": messages.get(status, f"HTTP {status}")})

    def route(self, request: RecordedRequest) -> Response:
        if request.header("authorization") != f"OAuth {self.api_key}":
            return self.error_response(401, request)
        parts = _split(request.path)
        if parts[:2] != ["v1", "pages"] or len(parts) < 4 or parts[3] != "incidents":
            return self.error_response(404, request)
        if parts[2] != self.page_id:
            return self.error_response(404, request)
        rest = parts[4:]
        if rest == ["unresolved"] and request.method == "GET":
            unresolved = [
                i for i in self.incidents.values() if i["status"] in self.unresolved_statuses
            ]
            unresolved.sort(key=lambda i: str(i["created_at"]), reverse=True)
            return Response.json(200, unresolved)
        if not rest and request.method == "POST":
            body = request.json if isinstance(request.json, dict) else {}
            incident = body.get("incident")
            if not isinstance(incident, dict) or not incident.get("name"):
                return Response.json(422, {"message": "Name can't be blank"})
            return Response.json(201, self._new_incident(incident))
        if len(rest) == 1 and rest[0] in self.incidents:
            found = self.incidents[rest[0]]
            if request.method == "GET":
                return Response.json(200, found)
            if request.method in ("PATCH", "PUT"):
                body = request.json if isinstance(request.json, dict) else {}
                changes = body.get("incident")
                if not isinstance(changes, dict):
                    return Response.json(422, {"message": "incident is required"})
                return Response.json(200, self._update(found, changes))
        return self.error_response(404, request)

    def _components(self, incident: Mapping[str, Any]) -> list[dict[str, Any]]:
        statuses = incident.get("components") or {}
        return [
            {
                "id": cid,
                "page_id": self.page_id,
                "name": f"Component {cid}",
                "status": statuses.get(cid, "operational"),
            }
            for cid in incident.get("component_ids") or list(statuses)
        ]

    def _update_entry(self, status: str, body: str, incident_id: str) -> dict[str, Any]:
        now = _now_iso()
        return {
            "id": uuid.uuid4().hex[:12],
            "incident_id": incident_id,
            "status": status,
            "body": body,
            "created_at": now,
            "updated_at": now,
            "display_at": now,
            "deliver_notifications": True,
        }

    def _new_incident(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        incident_id = uuid.uuid4().hex[:12]
        now = _now_iso()
        status = str(fields.get("status") or "investigating")
        impact = str(fields.get("impact_override") or "none")
        incident: dict[str, Any] = {
            "id": incident_id,
            "page_id": self.page_id,
            "name": fields["name"],
            "status": status,
            "impact": impact,
            "impact_override": fields.get("impact_override"),
            "shortlink": f"https://stspg.io/{incident_id[:6]}",
            "created_at": now,
            "updated_at": now,
            "started_at": now,
            "monitoring_at": None,
            "resolved_at": now if status == "resolved" else None,
            "metadata": fields.get("metadata") or {},
            "components": self._components(fields),
            "incident_updates": [
                self._update_entry(status, str(fields.get("body") or ""), incident_id)
            ],
            "postmortem_body": None,
            "scheduled_for": None,
            "scheduled_until": None,
        }
        self.incidents[incident_id] = incident
        return incident

    def _update(self, incident: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        now = _now_iso()
        for key in ("name", "status", "impact_override", "metadata"):
            if key in changes:
                incident[key] = changes[key]
        if "impact_override" in changes:
            incident["impact"] = changes["impact_override"]
        if "components" in changes or "component_ids" in changes:
            incident["components"] = self._components(changes)
        if changes.get("status") == "resolved":
            incident["resolved_at"] = now
        if changes.get("status") == "monitoring":
            incident["monitoring_at"] = now
        incident["updated_at"] = now
        if "status" in changes or "body" in changes:
            incident["incident_updates"].insert(
                0,
                self._update_entry(
                    str(incident["status"]), str(changes.get("body") or ""), incident["id"]
                ),
            )
        return incident


# --------------------------------------------------------------------------------------------
# Opsgenie Alert API v2
# --------------------------------------------------------------------------------------------


@dataclass
class OpsgenieAlert:
    """An alert of the fake Opsgenie account."""

    id: str
    tiny_id: str
    alias: str
    message: str
    priority: str
    status: Literal["open", "closed"] = "open"
    acknowledged: bool = False
    count: int = 1
    description: str = ""
    responders: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    created_at: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tinyId": self.tiny_id,
            "alias": self.alias,
            "message": self.message,
            "status": self.status,
            "acknowledged": self.acknowledged,
            "isSeen": False,
            "tags": self.tags,
            "snoozed": False,
            "count": self.count,
            "lastOccurredAt": self.created_at,
            "createdAt": self.created_at,
            "updatedAt": _now_iso(),
            "source": "escalation-routing",
            "owner": "",
            "priority": self.priority,
            "responders": self.responders,
            "description": self.description,
            "details": self.details,
        }


class OpsgenieServer(VendorServer):
    """Opsgenie Alert API v2: `POST /v2/alerts`, `POST /v2/alerts/{identifier}/acknowledge`,
    `/close` and `/notes` (`identifierType=id|alias|tiny`, identifier URL-encoded), `GET
    /v2/alerts/{identifier}` and `GET /v2/alerts/requests/{requestId}`.

    Every action answers 202 `{"result": "Request will be processed", "took", "requestId"}`
    (even for an unknown alias, as Opsgenie does); the outcome is in the request status.
    An open alert with the same alias only gets its `count` bumped. Auth `Authorization:
    GenieKey <key>` (401 otherwise); errors are `{"message", "took", "requestId"}`. Bodies are
    validated against the subset swagger plus the documented limits (message <= 130, alias <=
    512, description <= 15000, <= 20 tags of <= 50, <= 50 responders).
    """

    vendor = "opsgenie"
    actions = ("acknowledge", "close", "notes")

    def __init__(self, *, api_key: str = "opsgenie-test-key", strict: bool = False) -> None:
        super().__init__(strict=strict)
        self.api_key = api_key
        self.alerts: dict[str, OpsgenieAlert] = {}
        self.request_status: dict[str, dict[str, Any]] = {}

    def alert(self, alias: str) -> OpsgenieAlert | None:
        """The open alert with this alias, else the latest closed one."""
        with self._lock:
            return self._by_alias(alias)

    def _by_alias(self, alias: str) -> OpsgenieAlert | None:
        candidates = [a for a in self.alerts.values() if a.alias == alias]
        open_ones = [a for a in candidates if a.status == "open"]
        found = open_ones or candidates
        return found[-1] if found else None

    def validate(self, request: RecordedRequest) -> list[str]:
        parts = _encoded_segments(request)
        if request.method != "POST" or parts[:2] != ["v2", "alerts"]:
            return []
        if len(parts) == 2:
            problems = schemas.openapi_body_validator(
                schemas.OPSGENIE_SUBSET, "/v2/alerts", "post"
            )(request.json)
            body = request.json if isinstance(request.json, dict) else {}
            limits = {"message": 130, "alias": 512, "description": 15000, "entity": 512}
            for name, limit in limits.items():
                if isinstance(body.get(name), str) and len(body[name]) > limit:
                    problems.append(f"$.{name}: longer than {limit} characters")
            tags = body.get("tags") or []
            if len(tags) > 20 or any(len(str(t)) > 50 for t in tags):
                problems.append("$.tags: at most 20 tags of at most 50 characters")
            if len(body.get("responders") or []) > 50:
                problems.append("$.responders: at most 50")
            return problems
        if len(parts) == 4 and parts[3] in self.actions:
            operation = {"acknowledge": "acknowledge", "close": "close", "notes": "notes"}[parts[3]]
            problems = []
            if request.body:
                problems = schemas.openapi_body_validator(
                    schemas.OPSGENIE_SUBSET, f"/v2/alerts/{{identifier}}/{operation}", "post"
                )(request.json)
            elif operation == "notes":
                problems = ["$: body with 'note' is required"]
            identifier_type = (request.query.get("identifierType") or ["id"])[-1]
            if identifier_type not in ("id", "alias", "tiny"):
                problems.append(f"identifierType {identifier_type!r} is not id, alias or tiny")
            return problems
        return [f"unexpected path {request.path}"]

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        messages = {
            400: "Invalid JSON body",
            401: "Key format is not valid!",
            402: "Your plan does not allow this action",
            403: "You are not authorized for this action",
            404: "Alert does not exist",
            422: "Request body is not processable. Please check the errors.",
            429: "You are making too many requests! To avoid errors, we recommend you limit "
            "requests.",
        }
        headers = {"X-RateLimit-State": "THROTTLED"} if status == 429 else {}
        return Response.json(
            status,
            {
                "message": messages.get(status, "Internal Server Error"),
                "took": 0.001,
                "requestId": str(uuid.uuid4()),
            },
            headers,
        )

    def _accepted(self, status: dict[str, Any]) -> Response:
        request_id = str(uuid.uuid4())
        self.request_status[request_id] = {
            **status,
            "processedAt": _now_iso(),
            "integrationId": "test-integration",
        }
        return Response.json(
            202, {"result": "Request will be processed", "took": 0.002, "requestId": request_id}
        )

    def route(self, request: RecordedRequest) -> Response:
        if request.header("authorization") != f"GenieKey {self.api_key}":
            return self.error_response(401, request)
        # Split the *encoded* path so an alias containing "/" stays one segment.
        encoded = _encoded_segments(request)
        if encoded[:2] != ["v2", "alerts"]:
            return self.error_response(404, request)
        rest = encoded[2:]
        if not rest and request.method == "POST":
            return self._create(request)
        if len(rest) == 2 and rest[0] == "requests" and request.method == "GET":
            status = self.request_status.get(rest[1])
            if status is None:
                return self.error_response(404, request)
            return Response.json(200, {"data": status, "took": 0.001, "requestId": rest[1]})
        identifier_type = (request.query.get("identifierType") or ["id"])[-1]
        if identifier_type not in ("id", "alias", "tiny"):
            return Response.json(
                422,
                {
                    "message": "Invalid identifier type",
                    "took": 0.001,
                    "requestId": str(uuid.uuid4()),
                },
            )
        if len(rest) == 1 and request.method == "GET":
            found = self._find(rest[0], identifier_type)
            if found is None:
                return self.error_response(404, request)
            return Response.json(
                200, {"data": found.as_json(), "took": 0.001, "requestId": str(uuid.uuid4())}
            )
        if len(rest) == 2 and rest[1] in self.actions and request.method == "POST":
            return self._act(request, rest[0], identifier_type, rest[1])
        return self.error_response(404, request)

    def _find(self, identifier: str, identifier_type: str) -> OpsgenieAlert | None:
        if identifier_type == "alias":
            return self._by_alias(identifier)
        if identifier_type == "tiny":
            return next((a for a in self.alerts.values() if a.tiny_id == identifier), None)
        return self.alerts.get(identifier)

    def _create(self, request: RecordedRequest) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            return Response.json(
                422,
                {
                    "message": "Request body is not processable. Please check the errors.",
                    "errors": {"message": "Message can not be empty."},
                    "took": 0.001,
                    "requestId": str(uuid.uuid4()),
                },
            )
        alias = str(body.get("alias") or uuid.uuid4())
        existing = self._by_alias(alias)
        if existing is not None and existing.status == "open":
            existing.count += 1
            return self._accepted(
                {
                    "success": True,
                    "isSuccess": True,
                    "action": "Create",
                    "status": "Alert count incremented",
                    "alertId": existing.id,
                    "alias": alias,
                }
            )
        alert = OpsgenieAlert(
            id=str(uuid.uuid4()),
            tiny_id=str(len(self.alerts) + 1),
            alias=alias,
            message=message[:130],
            priority=str(body.get("priority") or "P3"),
            description=str(body.get("description") or ""),
            responders=list(body.get("responders") or []),
            tags=list(body.get("tags") or []),
            details=dict(body.get("details") or {}),
            created_at=_now_iso(),
        )
        self.alerts[alert.id] = alert
        return self._accepted(
            {
                "success": True,
                "isSuccess": True,
                "action": "Create",
                "status": "Created alert",
                "alertId": alert.id,
                "alias": alias,
            }
        )

    def _act(
        self, request: RecordedRequest, identifier: str, identifier_type: str, action: str
    ) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        name = {"acknowledge": "Acknowledge", "close": "Close", "notes": "AddNote"}[action]
        found = self._find(identifier, identifier_type)
        if action == "notes" and not body.get("note"):
            return Response.json(
                422,
                {
                    "message": "Request body is not processable. Please check the errors.",
                    "errors": {"note": "Note can not be empty."},
                    "took": 0.001,
                    "requestId": str(uuid.uuid4()),
                },
            )
        if found is None:
            return self._accepted(
                {
                    "success": False,
                    "isSuccess": False,
                    "action": name,
                    "status": "Alert does not exist",
                    "alertId": "",
                    "alias": identifier,
                }
            )
        if action == "acknowledge":
            found.acknowledged = True
        elif action == "close":
            found.status = "closed"
        if body.get("note"):
            found.notes.append(str(body["note"]))
        return self._accepted(
            {
                "success": True,
                "isSuccess": True,
                "action": name,
                "status": {"acknowledge": "Acknowledged", "close": "Closed", "notes": "Added note"}[
                    action
                ],
                "alertId": found.id,
                "alias": found.alias,
            }
        )


# --------------------------------------------------------------------------------------------
# Twilio Programmable Messaging and Voice
# --------------------------------------------------------------------------------------------


class TwilioServer(VendorServer):
    """Twilio REST 2010-04-01: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` and
    `.../Calls.json`, form-encoded, answered 201 with a message (`SM...`, status `queued`) or
    call (`CA...`) resource.

    Auth: Basic `AccountSid:AuthToken` (401 code 20003 otherwise; another account's SID in the
    path is 404 code 20404). Refuses like Twilio: a `To` that is not E.164 is 400 code 21211,
    a missing `From` 21603, a missing `Body` 21602, a call without `Url`/`Twiml` 21205. Bodies
    are validated against the subset OpenAPI (with Twilio's one-of groups); `messages` and
    `calls` hold what was accepted.
    """

    vendor = "twilio"
    default_account_sid = "AC" + "0123456789abcdef" * 2

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str = "twilio-test-token",
        from_number: str = "+15555550100",
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.account_sid = account_sid or self.default_account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []

    def validate(self, request: RecordedRequest) -> list[str]:
        parts = _split(request.path)
        if len(parts) != 4 or parts[3] not in ("Messages.json", "Calls.json"):
            return []
        problems: list[str] = []
        if not (request.header("content-type") or "").startswith(
            "application/x-www-form-urlencoded"
        ):
            problems.append("Content-Type must be application/x-www-form-urlencoded")
        if not re.match(r"^AC[0-9a-fA-F]{32}$", parts[2]):
            problems.append(f"AccountSid {parts[2]!r} does not match ^AC[0-9a-fA-F]{{32}}$")
        form = request.form or {}
        to = (form.get("To") or [""])[-1]
        if not E164.match(to):
            problems.append(f"$.To: {to!r} is not E.164")
        spec_path = f"/2010-04-01/Accounts/{{AccountSid}}/{parts[3]}"
        return problems + schemas.openapi_form_validator(schemas.TWILIO_SUBSET, spec_path, "post")(
            form
        )

    def _error(self, status: int, code: int, message: str) -> Response:
        return Response.json(
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        known = {
            400: (21211, "The 'To' number is not a valid phone number."),
            401: (20003, "Authenticate"),
            404: (20404, "The requested resource was not found"),
            429: (20429, "Too Many Requests"),
        }
        code, message = known.get(status, (20500, "Internal Server Error"))
        return self._error(status, code, message)

    def route(self, request: RecordedRequest) -> Response:
        if request.basic_auth() != (self.account_sid, self.auth_token):
            return self.error_response(401, request)
        parts = _split(request.path)
        if (
            request.method != "POST"
            or len(parts) != 4
            or parts[:2] != ["2010-04-01", "Accounts"]
            or parts[3] not in ("Messages.json", "Calls.json")
        ):
            return self.error_response(404, request)
        if parts[2] != self.account_sid:
            return self.error_response(404, request)
        form = {k: v[-1] for k, v in (request.form or {}).items()}
        to = form.get("To", "")
        if not E164.match(to):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return self._error(400, 21603, "A 'From' phone number is required.")
        now = format_datetime(datetime.now(UTC), usegmt=True)
        base = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "from": form.get("From"),
            "to": to,
            "status": "queued",
            "price": None,
            "price_unit": "USD",
        }
        if parts[3] == "Messages.json":
            if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
                return self._error(400, 21602, "Message body is required.")
            sid = "SM" + uuid.uuid4().hex
            resource = {
                **base,
                "sid": sid,
                "body": form.get("Body", ""),
                "num_segments": str(max(1, -(-len(form.get("Body", "")) // 153))),
                "num_media": "0",
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "error_code": None,
                "error_message": None,
                "date_sent": None,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
                },
            }
            self.messages.append(resource)
            return Response.json(201, resource)
        if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
            return self._error(400, 21205, "Url parameter is required.")
        sid = "CA" + uuid.uuid4().hex
        resource = {
            **base,
            "sid": sid,
            "twiml": form.get("Twiml"),
            "url": form.get("Url"),
            "start_time": None,
            "end_time": None,
            "duration": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }
        self.calls.append(resource)
        return Response.json(201, resource)


# --------------------------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedEmail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: Message

    def header(self, name: str) -> str | None:
        value = self.message.get(name)
        return None if value is None else str(value)

    @property
    def body(self) -> str:
        """The text body, decoded, with SMTP's CRLF line ends turned into LF."""
        part = self.message
        if part.is_multipart():
            part = next(p for p in part.walk() if p.get_content_type() == "text/plain")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode(part.get_content_charset() or "utf-8").replace("\r\n", "\n")


@dataclass
class _Refusal:
    code: int
    text: str
    remaining: int
    stage: str


class _EphemeralController(Controller):
    """aiosmtpd's Controller, bound to port 0 (the OS picks a free port)."""

    def _trigger_server(self) -> None:
        server = self.server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    """An SMTP server (aiosmtpd Controller on 127.0.0.1, free port) that records messages.

    `refuse_next(code, times=N, stage="data"|"rcpt"|"mail")` makes the next N transactions
    fail at that stage with `code` (e.g. 451 temporary, 550 permanent). With `auth=(user,
    password)` it advertises AUTH (without TLS) and requires it. STARTTLS is not offered.
    `schema_violations` lists messages missing RFC 5322 basics (From, To, Date, Message-ID)
    or our `X-Escalation-Id` header.
    """

    vendor = "smtp"

    def __init__(self, *, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.schema_violations: list[str] = []
        self._messages: list[RecordedEmail] = []
        self._refusals: list[_Refusal] = []
        self._lock = threading.Lock()
        self._controller: _EphemeralController | None = None
        self.host = "127.0.0.1"

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            # AUTH without TLS on purpose (loopback only, no certificates). Set here, not at
            # import: pytest restores the warning filters after collection and each test.
            warnings.filterwarnings(
                "ignore", message="Requiring AUTH while not requiring TLS", module=r"aiosmtpd"
            )
            kwargs.update(
                authenticator=_SmtpHandler(self).authenticate,
                auth_required=True,
                auth_require_tls=False,
            )
        controller = _EphemeralController(
            _SmtpHandler(self), hostname=self.host, port=0, ready_timeout=5.0, **kwargs
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("SMTP server is not running")
        return int(self._controller.port)

    # -- test API ---------------------------------------------------------------------------

    @property
    def messages(self) -> list[RecordedEmail]:
        with self._lock:
            return list(self._messages)

    def refuse_next(
        self,
        code: int = 451,
        *,
        times: int = 1,
        stage: Literal["mail", "rcpt", "data"] = "data",
        text: str | None = None,
    ) -> None:
        """Refuse the next `times` MAIL/RCPT/DATA commands with `code`."""
        default = "4.3.0 Try again later" if code < 500 else "5.7.1 Message rejected"
        with self._lock:
            self._refusals.append(_Refusal(code, text or default, times, stage))

    def _refusal(self, stage: str) -> str | None:
        with self._lock:
            for refusal in self._refusals:
                if refusal.stage == stage and refusal.remaining > 0:
                    refusal.remaining -= 1
                    return f"{refusal.code} {refusal.text}"
        return None

    def _record(self, envelope: Envelope) -> None:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
        message = email.message_from_bytes(data, policy=email.policy.default)
        problems = [
            f"message {message.get('Message-ID')}: missing {name} header"
            for name in ("From", "To", "Date", "Message-ID", "Subject", "X-Escalation-Id")
            if message.get(name) is None
        ]
        with self._lock:
            self.schema_violations.extend(problems)
            self._messages.append(
                RecordedEmail(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    data=data,
                    message=message,
                )
            )


class _SmtpHandler:
    """aiosmtpd handler hooks of an SmtpServer (kept apart: aiosmtpd inspects the handler)."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    def authenticate(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        expected = self.owner.auth
        if isinstance(auth_data, LoginPassword) and expected is not None:
            ok = (auth_data.login.decode(), auth_data.password.decode()) == expected
            # handled=False: let aiosmtpd answer (235, or 535 on failure) itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        refused = self.owner._refusal("mail")
        if refused:
            return refused
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refused = self.owner._refusal("rcpt")
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        refused = self.owner._refusal("data")
        if refused:
            return refused
        self.owner._record(envelope)
        return "250 Message accepted for delivery"
