"""Local vendor servers for the issue-8 adapters, on the same base as tests/vendors/servers.py
(`VendorServer`: real HTTP on 127.0.0.1, request log, schema validation into
`schema_violations`, `fail_next` faults, `strict` mode).

* `ZendeskServer`: Tickets API update (internal notes, assignee, tags) and Help Center article
  create, Basic `<email>/token:<api_token>`.
* `FreshdeskServer`: ticket notes and ticket update, Basic `<api_key>:X`.
* `IntercomServer`: conversation reply/note, Bearer token, `Intercom-Version` header.
* `TeamsServer`: a Workflows ("Post to a channel when a webhook request is received") webhook,
  or the legacy incoming-webhook connector with `legacy=True`.
* `LinearServer`: GraphQL `issueCreate` (client ids, duplicate refusal) and `issue(id:)`.
* `GitHubServer`: create and list repository issues (label filter, pull requests mixed in).
* `HubSpotServer`: company by id with `properties=` (values always strings), and the companies
  search (`POST /crm/v3/objects/companies/search`, EQ filters).
* `SalesforceServer`: Account by id with `fields=`, and the SOQL query endpoint for
  `SELECT <fields> FROM Account WHERE <field> = '<literal>' LIMIT n`.

Each answers errors with the vendor's own body shape and, on a scripted 429 (or the vendor's
rate-limit signal), the vendor's rate-limit headers.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.vendors import schemas, schemas_more
from tests.vendors.servers import RecordedRequest, Response, VendorServer, _now_iso, _split

# --------------------------------------------------------------------------------------------
# Zendesk Support + Guide
# --------------------------------------------------------------------------------------------


class ZendeskServer(VendorServer):
    """Zendesk: `PUT /api/v2/tickets/{id}` (and `.json`) answered 200 `{ticket, audit}`;
    `GET /api/v2/tickets/{id}`; `POST /api/v2/help_center/sections/{id}/articles` answered 201
    `{article}`.

    Auth: Basic `<email>/token:<api_token>` (401 `{"error": "Couldn't authenticate you"}`).
    Unknown ticket or section: 404 `{"error": "RecordNotFound"}`; an assignee who is not an
    agent, or an article without title/permission group: 422 `RecordInvalid`. Comments are
    kept per ticket (`public` as sent); `additional_tags` adds to the tags, `tags` replaces
    them. Update bodies are validated against the derived internal-note schema; article bodies
    against a hand-written schema. 429 carries Retry-After.
    """

    vendor = "zendesk"

    def __init__(
        self,
        *,
        email: str = "zendesk-bot@example.com",
        api_token: str = "zendesk-test-token",
        agents: Iterable[int] = (1001, 1002),
        sections: Iterable[str] = ("360000000001",),
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.email = email
        self.api_token = api_token
        self.agents = set(agents)
        self.sections = set(sections)
        self.tickets: dict[int, dict[str, Any]] = {}
        self.articles: dict[int, dict[str, Any]] = {}
        self._audit_ids = 9000
        self._article_ids = 36000
        self.add_ticket(4711, subject="Checkout returns 502", assignee_id=1001, tags=["vip"])

    def add_ticket(self, ticket_id: int, **fields: Any) -> dict[str, Any]:
        with self._lock:
            ticket = {
                "id": ticket_id,
                "subject": "Ticket",
                "status": "open",
                "priority": "normal",
                "assignee_id": None,
                "tags": [],
                "comments": [],
                "created_at": _now_iso(),
                "updated_at": _now_iso(),
                **fields,
            }
            self.tickets[ticket_id] = ticket
            return ticket

    def validate(self, request: RecordedRequest) -> list[str]:
        parts = _split(request.path)
        if request.method == "PUT" and parts[:3] == ["api", "v2", "tickets"]:
            return schemas.json_schema_validator(schemas_more.ZENDESK_NOTE)(request.json)
        if request.method == "POST" and parts[:4] == ["api", "v2", "help_center", "sections"]:
            return schemas_more.zendesk_guide_validator()(request.json)
        return []

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        if status == 401:
            return Response.json(401, {"error": "Couldn't authenticate you"})
        if status == 404:
            return Response.json(404, {"error": "RecordNotFound", "description": "Not found"})
        if status == 422:
            return Response.json(
                422,
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {"base": [{"description": "Invalid record"}]},
                },
            )
        if status == 429:
            return Response.json(
                429,
                {
                    "error": "APIRateLimitExceeded",
                    "description": "Number of allowed API requests per minute exceeded",
                },
                {"Retry-After": "1"},
            )
        return Response.json(status, {"error": f"HTTP {status}"})

    def route(self, request: RecordedRequest) -> Response:
        if request.basic_auth() != (f"{self.email}/token", self.api_token):
            return self.error_response(401, request)
        parts = _split(request.path)
        if parts[:3] == ["api", "v2", "tickets"] and len(parts) == 4:
            raw_id = parts[3].removesuffix(".json")
            ticket = self.tickets.get(int(raw_id)) if raw_id.isdigit() else None
            if ticket is None:
                return self.error_response(404, request)
            if request.method == "GET":
                return Response.json(200, {"ticket": self._ticket_json(ticket)})
            if request.method == "PUT":
                return self._update(ticket, request)
        if (
            parts[:4] == ["api", "v2", "help_center", "sections"]
            and len(parts) == 6
            and parts[5] == "articles"
            and request.method == "POST"
        ):
            return self._create_article(parts[4], request)
        return self.error_response(404, request)

    @staticmethod
    def _ticket_json(ticket: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in ticket.items() if k != "comments"}

    def _invalid(self, field_name: str, description: str) -> Response:
        return Response.json(
            422,
            {
                "error": "RecordInvalid",
                "description": "Record validation errors",
                "details": {field_name: [{"description": description}]},
            },
        )

    def _update(self, ticket: dict[str, Any], request: RecordedRequest) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        changes = body.get("ticket")
        if not isinstance(changes, dict):
            return self._invalid("ticket", "ticket is required")
        if "assignee_id" in changes and changes["assignee_id"] not in self.agents:
            return self._invalid("assignee", "Assignee is not an agent")
        events: list[dict[str, Any]] = []
        comment = changes.get("comment")
        if isinstance(comment, dict):
            text = comment.get("body") or comment.get("html_body")
            if not text:
                return self._invalid("comment", "Comment body can't be blank")
            self._audit_ids += 1
            entry = {
                "id": self._audit_ids * 10,
                "type": "Comment",
                "body": text,
                "public": comment.get("public", True),
                "author_id": 1999,
            }
            ticket["comments"].append(entry)
            events.append(entry)
        for key in ("assignee_id", "priority", "status"):
            if key in changes:
                events.append({"type": "Change", "field_name": key, "value": changes[key]})
                ticket[key] = changes[key]
        if "tags" in changes:
            ticket["tags"] = list(changes["tags"])
        for tag in changes.get("additional_tags") or []:
            if tag not in ticket["tags"]:
                ticket["tags"].append(tag)
        ticket["updated_at"] = _now_iso()
        self._audit_ids += 1
        audit = {
            "id": self._audit_ids,
            "ticket_id": ticket["id"],
            "created_at": ticket["updated_at"],
            "author_id": 1999,
            "events": events,
        }
        return Response.json(200, {"ticket": self._ticket_json(ticket), "audit": audit})

    def _create_article(self, section: str, request: RecordedRequest) -> Response:
        if section not in self.sections:
            return self.error_response(404, request)
        body = request.json if isinstance(request.json, dict) else {}
        article = body.get("article")
        if not isinstance(article, dict) or not article.get("title"):
            return self._invalid("title", "Title cannot be blank")
        if not isinstance(article.get("permission_group_id"), int):
            return self._invalid("permission_group_id", "Permission group is required")
        self._article_ids += 1
        article_id = self._article_ids
        created = {
            "id": article_id,
            "url": f"{self.url}/api/v2/help_center/en-us/articles/{article_id}.json",
            "html_url": f"{self.url}/hc/en-us/articles/{article_id}",
            "section_id": int(section) if section.isdigit() else section,
            "title": article["title"],
            "body": article.get("body", ""),
            "locale": article.get("locale", "en-us"),
            "draft": bool(article.get("draft", False)),
            "permission_group_id": article["permission_group_id"],
            "user_segment_id": article.get("user_segment_id"),
            "label_names": list(article.get("label_names") or []),
            "created_at": _now_iso(),
        }
        self.articles[article_id] = created
        return Response.json(201, {"article": created})


# --------------------------------------------------------------------------------------------
# Freshdesk
# --------------------------------------------------------------------------------------------


class FreshdeskServer(VendorServer):
    """Freshdesk API v2: `POST /api/v2/tickets/{id}/notes` (201 note), `PUT
    /api/v2/tickets/{id}` (200 ticket). Auth: Basic `<api_key>:<anything>` (401 `{"code":
    "invalid_credentials", ...}`). Refuses like Freshdesk with 400 `{"description":
    "Validation failed", "errors": [{field, message, code}]}` (priority outside 1-4, empty
    note body); unknown ticket 404. 429 carries Retry-After and X-RateLimit-* headers."""

    vendor = "freshdesk"

    def __init__(self, *, api_key: str = "freshdesk-test-key", strict: bool = False) -> None:
        super().__init__(strict=strict)
        self.api_key = api_key
        self.tickets: dict[int, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self._note_ids = 5000
        self.add_ticket(42, subject="Invoice charged twice", priority=2)

    def add_ticket(self, ticket_id: int, **fields: Any) -> dict[str, Any]:
        with self._lock:
            ticket = {
                "id": ticket_id,
                "subject": "Ticket",
                "priority": 1,
                "status": 2,
                "responder_id": None,
                **fields,
            }
            self.tickets[ticket_id] = ticket
            return ticket

    def validate(self, request: RecordedRequest) -> list[str]:
        parts = _split(request.path)
        if parts[:3] != ["api", "v2", "tickets"]:
            return []
        if request.method == "POST" and len(parts) == 5 and parts[4] == "notes":
            return schemas_more.freshdesk_validator("note")(request.json)
        if request.method == "PUT" and len(parts) == 4:
            return schemas_more.freshdesk_validator("ticket")(request.json)
        return []

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        if status == 401:
            return Response.json(
                401,
                {
                    "code": "invalid_credentials",
                    "message": "You have to be logged in to perform this action.",
                },
            )
        if status == 404:
            return Response.json(404, {"code": "not_found", "message": "Record not found"})
        if status == 400:
            return self._validation("body", "It should be a valid value", "invalid_value")
        if status == 429:
            return Response.json(
                429,
                {"code": "rate_limit_exceeded", "message": "Too many requests"},
                {
                    "Retry-After": "1",
                    "X-RateLimit-Total": "50",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Used-CurrentRequest": "1",
                },
            )
        return Response.json(status, {"code": "error", "message": f"HTTP {status}"})

    @staticmethod
    def _validation(field_name: str, message: str, code: str) -> Response:
        return Response.json(
            400,
            {
                "description": "Validation failed",
                "errors": [{"field": field_name, "message": message, "code": code}],
            },
        )

    def route(self, request: RecordedRequest) -> Response:
        auth = request.basic_auth()
        if auth is None or auth[0] != self.api_key:
            return self.error_response(401, request)
        parts = _split(request.path)
        if parts[:3] != ["api", "v2", "tickets"] or len(parts) < 4 or not parts[3].isdigit():
            return self.error_response(404, request)
        ticket = self.tickets.get(int(parts[3]))
        if ticket is None:
            return self.error_response(404, request)
        body = request.json if isinstance(request.json, dict) else {}
        if len(parts) == 5 and parts[4] == "notes" and request.method == "POST":
            if not isinstance(body.get("body"), str) or not body["body"].strip():
                return self._validation("body", "It should not be blank", "missing_field")
            self._note_ids += 1
            note = {
                "id": self._note_ids,
                "ticket_id": ticket["id"],
                "body": body["body"],
                "body_text": body["body"],
                "private": body.get("private", True),
                "incoming": False,
                "user_id": 77000,
                "support_email": None,
                "to_emails": [],
                "created_at": _now_iso(),
                "updated_at": _now_iso(),
            }
            self.notes.append(note)
            return Response.json(201, note)
        if len(parts) == 4 and request.method == "PUT":
            if "priority" in body and body["priority"] not in (1, 2, 3, 4):
                return self._validation(
                    "priority", "It should be one of these values: '1,2,3,4'", "invalid_value"
                )
            for key in ("priority", "status", "responder_id", "group_id"):
                if key in body:
                    ticket[key] = body[key]
            ticket["updated_at"] = _now_iso()
            return Response.json(200, ticket)
        if len(parts) == 4 and request.method == "GET":
            return Response.json(200, ticket)
        return self.error_response(404, request)


# --------------------------------------------------------------------------------------------
# Intercom
# --------------------------------------------------------------------------------------------


class IntercomServer(VendorServer):
    """Intercom REST 2.14: `POST /conversations/{id}/reply` (200 conversation with the new part
    last), `GET /conversations/{id}`. Auth: Bearer token (401 error.list `unauthorized`);
    unknown conversation 404 `not_found`; an unknown admin 404 `admin_not_found`. Bodies are
    validated against the subset OpenAPI (replyConversation) and the `Intercom-Version` header
    against its enum. Rate limit (scripted 429): `X-RateLimit-Limit`, `-Remaining: 0`,
    `-Reset` (epoch seconds, `reset_in` from now), no Retry-After, as Intercom documents."""

    vendor = "intercom"
    reset_in = 7

    def __init__(
        self,
        *,
        access_token: str = "intercom-test-token",
        admins: Iterable[str] = ("991267001",),
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.access_token = access_token
        self.admins = set(admins)
        self.admin_id = next(iter(self.admins))
        self.conversations: dict[str, dict[str, Any]] = {}
        self._part_ids = 100
        self.add_conversation("215468")

    def add_conversation(self, conversation_id: str) -> dict[str, Any]:
        with self._lock:
            now = int(time.time())
            conversation = {
                "type": "conversation",
                "id": conversation_id,
                "created_at": now,
                "updated_at": now,
                "state": "open",
                "open": True,
                "read": False,
                "priority": "not_priority",
                "admin_assignee_id": None,
                "team_assignee_id": None,
                "conversation_parts": {
                    "type": "conversation_part.list",
                    "conversation_parts": [],
                    "total_count": 0,
                },
            }
            self.conversations[conversation_id] = conversation
            return conversation

    def parts(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self.conversations.get(conversation_id)
            return list(found["conversation_parts"]["conversation_parts"]) if found else []

    def validate(self, request: RecordedRequest) -> list[str]:
        problems: list[str] = []
        version = request.header("intercom-version")
        if version is not None:
            enum = schemas.load_spec(schemas_more.INTERCOM_SUBSET)["components"]["schemas"][
                "intercom_version"
            ]["enum"]
            if version not in enum:
                problems.append(f"Intercom-Version {version!r} is not a known version")
        parts = _split(request.path)
        if request.method == "POST" and len(parts) == 3 and parts[2] == "reply":
            problems += schemas.openapi_body_validator(
                schemas_more.INTERCOM_SUBSET, "/conversations/{conversation_id}/reply", "post"
            )(request.json)
        return problems

    @staticmethod
    def _errors(status: int, code: str, message: str, headers: Mapping[str, str] | None = None):
        return Response.json(
            status,
            {
                "type": "error.list",
                "request_id": str(uuid.uuid4()),
                "errors": [{"code": code, "message": message}],
            },
            headers,
        )

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        if status == 401:
            return self._errors(401, "unauthorized", "Access Token Invalid")
        if status == 404:
            return self._errors(404, "not_found", "Resource Not Found")
        if status == 429:
            return self._errors(
                429,
                "rate_limit_exceeded",
                "Exceeded rate limit",
                {
                    "X-RateLimit-Limit": "10000",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(time.time()) + self.reset_in),
                },
            )
        if status == 400:
            return self._errors(400, "parameter_invalid", "Invalid parameter")
        return self._errors(status, "server_error", f"HTTP {status}")

    def route(self, request: RecordedRequest) -> Response:
        if request.header("authorization") != f"Bearer {self.access_token}":
            return self.error_response(401, request)
        parts = _split(request.path)
        if len(parts) < 2 or parts[0] != "conversations":
            return self.error_response(404, request)
        conversation = self.conversations.get(parts[1])
        if conversation is None:
            return self.error_response(404, request)
        if len(parts) == 2 and request.method == "GET":
            return Response.json(200, conversation)
        if len(parts) == 3 and parts[2] == "reply" and request.method == "POST":
            body = request.json if isinstance(request.json, dict) else {}
            if body.get("type") == "admin" and str(body.get("admin_id")) not in self.admins:
                return self._errors(404, "admin_not_found", "Admin not found")
            if not body.get("body") and body.get("message_type") in ("note", "comment"):
                return self._errors(400, "parameter_invalid", "Body is required")
            self._part_ids += 1
            now = int(time.time())
            part = {
                "type": "conversation_part",
                "id": str(self._part_ids),
                "part_type": body.get("message_type", "comment"),
                "body": body.get("body"),
                "created_at": now,
                "updated_at": now,
                "notified_at": now,
                "author": {"id": str(body.get("admin_id")), "type": "admin"},
                "attachments": [],
                "redacted": False,
            }
            listing = conversation["conversation_parts"]
            listing["conversation_parts"].append(part)
            listing["total_count"] = len(listing["conversation_parts"])
            conversation["updated_at"] = now
            return Response.json(200, conversation)
        return self.error_response(404, request)


# --------------------------------------------------------------------------------------------
# Microsoft Teams webhook
# --------------------------------------------------------------------------------------------


class TeamsServer(VendorServer):
    """A Teams Workflows webhook at `webhook_path` with `?sig=<signature>` (401 JSON error on a
    wrong signature), answering 202 with an empty body; with `legacy=True`, an Office 365
    incoming-webhook connector answering 200 `1` (and 400 `Bad payload received by generic
    incoming webhook.`). Bodies are validated against the hand-written Adaptive Card envelope
    schema; `cards` holds every Adaptive Card received. A legacy-style failure reported with
    HTTP 200 is scripted with `fail_next(path, status=200, body="Webhook message delivery
    failed with error: ... HTTP error 429 ...")`."""

    vendor = "teams"

    def __init__(self, *, legacy: bool = False, strict: bool = False) -> None:
        super().__init__(strict=strict)
        self.legacy = legacy
        self.signature = "teams-test-signature"
        self.webhook_path = (
            "/webhookb2/00000000-0000-0000-0000-000000000000/IncomingWebhook/abc/def"
            if legacy
            else "/workflows/0a1b2c3d/triggers/manual/paths/invoke"
        )
        self.cards: list[dict[str, Any]] = []

    @property
    def webhook_url(self) -> str:
        """The URL to configure as TEAMS_WEBHOOK_URL (the secret is in the URL)."""
        if self.legacy:
            return self.url + self.webhook_path
        return (
            f"{self.url}{self.webhook_path}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun"
            f"&sv=1.0&sig={self.signature}"
        )

    def validate(self, request: RecordedRequest) -> list[str]:
        if request.path != self.webhook_path:
            return [f"unexpected path {request.path!r}"]
        problems = []
        if not (request.header("content-type") or "").startswith("application/json"):
            problems.append("Content-Type must be application/json")
        return problems + schemas_more.teams_validator()(request.json)

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        if self.legacy:
            if status == 400:
                return Response.text(400, "Bad payload received by generic incoming webhook.")
            if status == 429:
                return Response.text(429, "Too many requests", {"Retry-After": "1"})
            return Response.text(status, f"HTTP {status}")
        codes = {
            400: "TriggerInputSchemaMismatch",
            401: "DirectApiAuthorizationRequired",
            404: "WorkflowNotFound",
            429: "WorkflowRequestsThrottled",
        }
        headers = {"Retry-After": "1"} if status == 429 else {}
        return Response.json(
            status,
            {"error": {"code": codes.get(status, "InternalServerError"), "message": f"{status}"}},
            headers,
        )

    def route(self, request: RecordedRequest) -> Response:
        if request.path != self.webhook_path or request.method != "POST":
            return self.error_response(404, request)
        if not self.legacy and request.query.get("sig") != [self.signature]:
            return self.error_response(401, request)
        message = request.json if isinstance(request.json, dict) else None
        attachments = message.get("attachments") if message else None
        if not isinstance(attachments, list) or not attachments:
            return self.error_response(400, request)
        for attachment in attachments:
            if isinstance(attachment, dict) and isinstance(attachment.get("content"), dict):
                self.cards.append(attachment["content"])
        if self.legacy:
            return Response.text(200, "1")
        return Response(202, b"", {})


# --------------------------------------------------------------------------------------------
# Linear GraphQL
# --------------------------------------------------------------------------------------------


@dataclass
class LinearIssue:
    id: str
    identifier: str
    number: int
    team_id: str
    input: dict[str, Any]
    url: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "identifier": self.identifier,
            "number": float(self.number),
            "url": self.url,
            "title": self.input.get("title", ""),
            "description": self.input.get("description"),
            "priority": float(self.input.get("priority") or 0),
            "labelIds": list(self.input.get("labelIds") or []),
        }


class LinearServer(VendorServer):
    """Linear GraphQL at `/graphql`: `issueCreate` (an `id` already used is refused with an
    `INVALID_INPUT` error, HTTP 200; an unknown teamId likewise) and `issue(id:)` (an unknown
    id is an `ENTITY_NOT_FOUND` error). Auth: `Authorization: <api key>` (no Bearer; an
    `AUTHENTICATION_ERROR`, HTTP 400, otherwise). Every request is validated against the
    vendored SDL (tests/vendors/schemas_more.py). `rate_limit_next()` scripts Linear's
    rate-limit answer: HTTP 400 with code `RATELIMITED` and `X-RateLimit-Requests-*` headers
    (reset in epoch milliseconds); a scripted 429 answers the same body with status 429."""

    vendor = "linear"
    prefix = ""

    def __init__(
        self,
        *,
        api_key: str = "lin_api_testkey0000000000",
        team_id: str = "3f6b2b4e-9d1c-4c1e-9a55-0f4a0c7d2a10",
        team_key: str = "ENG",
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.api_key = api_key
        self.team_id = team_id
        self.team_key = team_key
        self.issues: dict[str, LinearIssue] = {}
        self._sync = 1000

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def validate(self, request: RecordedRequest) -> list[str]:
        if request.path != "/graphql":
            return [f"unexpected path {request.path!r}"]
        return schemas_more.validate_linear_request(request.json)

    @staticmethod
    def _error(
        status: int,
        message: str,
        code: str,
        friendly: str,
        headers: Mapping[str, str] | None = None,
        type_: str = "invalid input",
    ) -> Response:
        return Response.json(
            status,
            {
                "errors": [
                    {
                        "message": message,
                        "extensions": {
                            "type": type_,
                            "code": code,
                            "userPresentableMessage": friendly,
                        },
                    }
                ],
                "data": None,
            },
            headers,
        )

    @staticmethod
    def _rate_limit_headers() -> dict[str, str]:
        return {
            "X-RateLimit-Requests-Limit": "1500",
            "X-RateLimit-Requests-Remaining": "0",
            "X-RateLimit-Requests-Reset": str(int((time.time() + 30) * 1000)),
        }

    @staticmethod
    def _rate_limit_body() -> dict[str, Any]:
        return {
            "errors": [
                {
                    "message": "Rate limit exceeded",
                    "extensions": {
                        "type": "ratelimited",
                        "code": "RATELIMITED",
                        "userPresentableMessage": "You have exceeded the rate limit.",
                    },
                }
            ],
            "data": None,
        }

    def rate_limit_next(self, *, times: int = 1) -> None:
        """Answer the next `times` requests as Linear does when rate limited: HTTP 400 with
        code RATELIMITED and the request-bucket headers (reset in epoch milliseconds)."""
        self.fail_next(
            "/graphql",
            status=400,
            body=self._rate_limit_body(),
            headers=self._rate_limit_headers(),
            times=times,
        )

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        if status == 429:
            return Response.json(429, self._rate_limit_body(), self._rate_limit_headers())
        if status >= 500:
            return Response.json(status, {"errors": [{"message": "Internal server error"}]})
        return self._error(
            status, f"HTTP {status}", "GRAPHQL_VALIDATION_FAILED", "The request is invalid."
        )

    def route(self, request: RecordedRequest) -> Response:
        if request.path != "/graphql" or request.method != "POST":
            return Response.json(404, {"errors": [{"message": "Not found"}]})
        if request.header("authorization") != self.api_key:
            return self._error(
                400,
                "Authentication required, not authenticated",
                "AUTHENTICATION_ERROR",
                "You need to authenticate to access this operation.",
                type_="authentication error",
            )
        body = request.json if isinstance(request.json, dict) else {}
        try:
            operation = schemas_more.parse_operation(str(body.get("query") or ""))
        except ValueError as exc:
            return self._error(400, f"Syntax Error: {exc}", "GRAPHQL_PARSE_FAILED", str(exc))
        variables = body.get("variables") or {}
        if operation.root_field == "issueCreate":
            return self._issue_create(variables.get("input") or {}, operation.selection)
        if operation.root_field == "issue":
            found = self.issues.get(str(variables.get("id")))
            if found is None:
                return self._error(
                    200, "Entity not found: Issue", "ENTITY_NOT_FOUND", "Issue not found"
                )
            return Response.json(
                200, {"data": {"issue": _select(found.as_json(), operation.selection)}}
            )
        return self._error(400, "Unknown operation", "GRAPHQL_VALIDATION_FAILED", "Unknown")

    def _issue_create(self, issue_input: dict[str, Any], selection: Any) -> Response:
        if issue_input.get("teamId") != self.team_id:
            return self._error(200, "Argument Validation Error", "INVALID_INPUT", "Team not found")
        issue_id = str(issue_input.get("id") or uuid.uuid4())
        if issue_id in self.issues:
            return self._error(
                200,
                "Argument Validation Error",
                "INVALID_INPUT",
                "An entity with this id already exists",
            )
        if not issue_input.get("title"):
            return self._error(200, "Argument Validation Error", "INVALID_INPUT", "Title needed")
        number = 1 + sum(1 for i in self.issues.values() if i.team_id == self.team_id)
        identifier = f"{self.team_key}-{number}"
        issue = LinearIssue(
            id=issue_id,
            identifier=identifier,
            number=number,
            team_id=self.team_id,
            input=dict(issue_input),
            url=f"https://linear.app/test/issue/{identifier.lower()}",
        )
        self.issues[issue_id] = issue
        self._sync += 1
        payload = {"success": True, "lastSyncId": float(self._sync), "issue": issue.as_json()}
        return Response.json(200, {"data": {"issueCreate": _select(payload, selection)}})


def _select(value: Any, selection: Mapping[str, Any]) -> Any:
    """Keep only the selected fields (GraphQL answers exactly what was asked)."""
    if not selection or not isinstance(value, dict):
        return value
    return {name: _select(value.get(name), sub) for name, sub in selection.items()}


# --------------------------------------------------------------------------------------------
# GitHub REST (issues)
# --------------------------------------------------------------------------------------------


class GitHubServer(VendorServer):
    """GitHub REST: `POST /repos/{owner}/{repo}/issues` (201 issue + Location; labels that do
    not exist are created, a label over 50 characters or a missing title is 422
    `Validation Failed`) and `GET /repos/{owner}/{repo}/issues?labels=&state=&per_page=`
    (pull requests included, with a `pull_request` key, as GitHub does). Auth: Bearer token
    (401 `Bad credentials`); another repository is 404; `issues_disabled=True` gives 410.
    Create bodies are validated against the subset OpenAPI; `Accept` and
    `X-GitHub-Api-Version` headers are checked. `rate_limit_next(status=403|429)` scripts a
    primary rate limit (`x-ratelimit-remaining: 0`, `x-ratelimit-reset` epoch)."""

    vendor = "github"

    def __init__(
        self,
        *,
        token: str = "ghp_testtoken000000000000000000000000",
        repository: str = "acme/platform",
        issues_disabled: bool = False,
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.token = token
        self.repository = repository
        self.issues_disabled = issues_disabled
        self.issues: list[dict[str, Any]] = []
        self.labels: set[str] = {"bug"}

    def add_pull_request(self, *, title: str, labels: Iterable[str]) -> dict[str, Any]:
        with self._lock:
            item = self._new_item(title, "", list(labels))
            item["pull_request"] = {"url": item["url"].replace("/issues/", "/pulls/")}
            return item

    def issues_with_label(self, label: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                i
                for i in self.issues
                if "pull_request" not in i and label in [x["name"] for x in i["labels"]]
            ]

    def rate_limit_next(self, *, status: int = 403, times: int = 1) -> None:
        self.fail_next(
            f"/repos/{self.repository}/issues",
            status=status,
            times=times,
            body={
                "message": "API rate limit exceeded for user ID 1.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                "status": str(status),
            },
            headers={
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": str(int(time.time()) + 60),
                "x-ratelimit-resource": "core",
            },
        )

    def validate(self, request: RecordedRequest) -> list[str]:
        problems: list[str] = []
        if request.header("accept") != "application/vnd.github+json":
            problems.append("Accept should be application/vnd.github+json")
        if request.header("x-github-api-version") != "2022-11-28":
            problems.append("X-GitHub-Api-Version should be 2022-11-28")
        parts = _split(request.path)
        if request.method == "POST" and len(parts) == 4 and parts[3] == "issues":
            problems += schemas.openapi_body_validator(
                schemas_more.GITHUB_SUBSET, "/repos/{owner}/{repo}/issues", "post"
            )(request.json)
        return problems

    @staticmethod
    def _error(status: int, message: str, **extra: Any) -> Response:
        return Response.json(
            status,
            {
                "message": message,
                "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
                "status": str(status),
                **extra,
            },
        )

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        messages = {
            400: "Problems parsing JSON",
            401: "Bad credentials",
            403: "Resource not accessible by personal access token",
            404: "Not Found",
            410: "Issues are disabled for this repo",
            422: "Validation Failed",
        }
        if status == 429:
            response = self._error(429, "You have exceeded a secondary rate limit.")
            response.headers.update({"retry-after": "60", "x-ratelimit-remaining": "0"})
            return response
        return self._error(status, messages.get(status, "Server Error"))

    def route(self, request: RecordedRequest) -> Response:
        if request.header("authorization") != f"Bearer {self.token}":
            return self.error_response(401, request)
        parts = _split(request.path)
        if len(parts) != 4 or parts[0] != "repos" or parts[3] != "issues":
            return self.error_response(404, request)
        if f"{parts[1]}/{parts[2]}" != self.repository:
            return self.error_response(404, request)
        if self.issues_disabled:
            return self.error_response(410, request)
        if request.method == "GET":
            return self._list(request)
        if request.method == "POST":
            return self._create(request)
        return self.error_response(404, request)

    def _new_item(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        number = len(self.issues) + 1
        base = f"{self.url}/repos/{self.repository}"
        self.labels.update(labels)
        item = {
            "id": 900000 + number,
            "node_id": f"I_test{number}",
            "number": number,
            "url": f"{base}/issues/{number}",
            "html_url": f"https://github.com/{self.repository}/issues/{number}",
            "title": title,
            "body": body,
            "state": "open",
            "labels": [{"id": 1000 + i, "name": name} for i, name in enumerate(labels)],
            "assignees": [],
            "created_at": _now_iso(),
        }
        self.issues.append(item)
        return item

    def _create(self, request: RecordedRequest) -> Response:
        body = request.json if isinstance(request.json, dict) else None
        if body is None:
            return self.error_response(400, request)
        title = body.get("title")
        if title is None or str(title).strip() == "":
            return self._error(
                422,
                "Validation Failed",
                errors=[{"resource": "Issue", "code": "missing_field", "field": "title"}],
            )
        names: list[str] = []
        for label in body.get("labels") or []:
            name = label.get("name") if isinstance(label, dict) else label
            if not isinstance(name, str) or not name or len(name) > 50:
                return self._error(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "Label", "code": "invalid", "field": "name"}],
                )
            if name not in names:
                names.append(name)
        item = self._new_item(str(title), str(body.get("body") or ""), names)
        return Response.json(201, item, {"Location": item["url"]})

    def _list(self, request: RecordedRequest) -> Response:
        wanted = [x for x in (request.query.get("labels") or [""])[-1].split(",") if x]
        state = (request.query.get("state") or ["open"])[-1]
        per_page = int((request.query.get("per_page") or ["30"])[-1])
        found = [
            i
            for i in self.issues
            if (state == "all" or i["state"] == state)
            and all(w in [x["name"] for x in i["labels"]] for w in wanted)
        ]
        direction = (request.query.get("direction") or ["desc"])[-1]
        found.sort(key=lambda i: i["number"], reverse=direction != "asc")
        return Response.json(200, found[:per_page])


# --------------------------------------------------------------------------------------------
# HubSpot CRM v3
# --------------------------------------------------------------------------------------------


class HubSpotServer(VendorServer):
    """HubSpot CRM v3: `GET /crm/v3/objects/companies/{id}?properties=a,b` answered 200
    `{id, properties, createdAt, updatedAt, archived}`; every property value is a string (or
    null for a requested property the company does not have). Auth: Bearer token (401
    `INVALID_AUTHENTICATION`); unknown company 404 `OBJECT_NOT_FOUND`; 429 `RATE_LIMIT` with
    `X-HubSpot-RateLimit-*` headers and Retry-After. Checks that `properties=` is given.

    `POST /crm/v3/objects/companies/search` answers `{total, results: [{id, properties,
    createdAt, updatedAt, archived}]}` for filter groups (OR) of filters (AND) with the
    operators EQ/NEQ (case-insensitive, as HubSpot compares strings) and HAS_PROPERTY; a body
    HubSpot would refuse (no filterGroups, more than 6 groups, limit above 200, an unknown
    operator) is a 400 `VALIDATION_ERROR` and a schema violation."""

    vendor = "hubspot"

    def __init__(self, *, token: str = "pat-na1-test-token", strict: bool = False) -> None:
        super().__init__(strict=strict)
        self.token = token
        self.companies: dict[str, dict[str, str | None]] = {}

    def add_company(self, company_id: str, **properties: Any) -> None:
        """Add a company; values are stored as HubSpot would return them: strings."""
        with self._lock:
            self.companies[company_id] = {
                k: None if v is None else str(v) for k, v in properties.items()
            }

    def validate(self, request: RecordedRequest) -> list[str]:
        if request.path == self.SEARCH:
            return self._search_problems(request.json)
        is_read = request.method == "GET" and request.path.startswith("/crm/v3/objects/companies/")
        if is_read and not request.query.get("properties"):
            return ["no properties= query parameter: only HubSpot's defaults come back"]
        return []

    SEARCH = "/crm/v3/objects/companies/search"
    OPERATORS = frozenset(
        {
            "EQ",
            "NEQ",
            "LT",
            "LTE",
            "GT",
            "GTE",
            "BETWEEN",
            "IN",
            "NOT_IN",
            "HAS_PROPERTY",
            "NOT_HAS_PROPERTY",
            "CONTAINS_TOKEN",
            "NOT_CONTAINS_TOKEN",
        }
    )

    def _search_problems(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["search body must be a JSON object"]
        problems: list[str] = []
        groups = body.get("filterGroups")
        if not isinstance(groups, list) or not groups:
            problems.append("filterGroups must be a non-empty list")
            groups = []
        if len(groups) > 6:
            problems.append(f"{len(groups)} filter groups: at most 6")
        for group in groups:
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list) or not filters:
                problems.append("every filter group needs a non-empty `filters` list")
                continue
            for item in filters:
                if not isinstance(item, dict) or not isinstance(item.get("propertyName"), str):
                    problems.append(f"filter without propertyName: {item!r}")
                elif item.get("operator") not in self.OPERATORS:
                    problems.append(f"unknown operator {item.get('operator')!r}")
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or not 0 < limit <= 200:
            problems.append(f"limit {limit!r}: 1..200")
        properties = body.get("properties")
        if properties is not None and not (
            isinstance(properties, list) and all(isinstance(p, str) for p in properties)
        ):
            problems.append("properties must be a list of names")
        return problems

    @staticmethod
    def _matches(company: Mapping[str, str | None], item: Mapping[str, Any]) -> bool:
        value = company.get(str(item.get("propertyName")))
        wanted = str(item.get("value", "")).lower()
        operator = item.get("operator")
        if operator == "HAS_PROPERTY":
            return value is not None
        if operator == "EQ":
            return value is not None and value.lower() == wanted
        if operator == "NEQ":
            return value is None or value.lower() != wanted
        return False  # operators the service never sends: no match

    def _search(self, request: RecordedRequest) -> Response:
        body = request.json
        if self._search_problems(body):
            return self._error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        groups = body["filterGroups"]
        found = [
            (company_id, company)
            for company_id, company in sorted(self.companies.items())
            if any(all(self._matches(company, f) for f in g["filters"]) for g in groups)
        ]
        names = body.get("properties") or ["name", "domain", "createdate", "hs_lastmodifieddate"]
        results = [
            {
                "id": company_id,
                "properties": {
                    **{name: company.get(name) for name in names},
                    "hs_object_id": company_id,
                },
                "createdAt": "2024-01-02T03:04:05.000Z",
                "updatedAt": _now_iso(),
                "archived": False,
            }
            for company_id, company in found[: body.get("limit", 10)]
        ]
        return Response.json(200, {"total": len(found), "results": results})

    @staticmethod
    def _error(
        status: int, message: str, category: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        return Response.json(
            status,
            {
                "status": "error",
                "message": message,
                "correlationId": str(uuid.uuid4()),
                "category": category,
            },
            headers,
        )

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        if status == 401:
            return self._error(
                401,
                "Authentication credentials not found.",
                "INVALID_AUTHENTICATION",
            )
        if status == 404:
            return self._error(404, "resource not found", "OBJECT_NOT_FOUND")
        if status == 429:
            return self._error(
                429,
                "You have reached your secondly limit.",
                "RATE_LIMITS",
                {
                    "Retry-After": "1",
                    "X-HubSpot-RateLimit-Max": "100",
                    "X-HubSpot-RateLimit-Remaining": "0",
                    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                },
            )
        if status == 400:
            return self._error(400, "Invalid input", "VALIDATION_ERROR")
        return self._error(status, "internal error", "INTERNAL_ERROR")

    def route(self, request: RecordedRequest) -> Response:
        if request.header("authorization") != f"Bearer {self.token}":
            return self.error_response(401, request)
        if request.path == self.SEARCH:
            if request.method != "POST":
                return self.error_response(404, request)
            return self._search(request)
        parts = _split(request.path)
        if parts[:4] != ["crm", "v3", "objects", "companies"] or len(parts) != 5:
            return self.error_response(404, request)
        company = self.companies.get(parts[4])
        if company is None or request.method != "GET":
            return self.error_response(404, request)
        wanted = [
            name
            for value in request.query.get("properties", [])
            for name in value.split(",")
            if name
        ]
        defaults = {"name", "domain", "hs_object_id", "createdate", "hs_lastmodifieddate"}
        names = wanted or sorted(defaults)
        properties = {name: company.get(name) for name in names}
        properties["hs_object_id"] = parts[4]
        return Response.json(
            200,
            {
                "id": parts[4],
                "properties": properties,
                "createdAt": "2024-01-02T03:04:05.000Z",
                "updatedAt": _now_iso(),
                "archived": False,
            },
        )


# --------------------------------------------------------------------------------------------
# Salesforce REST
# --------------------------------------------------------------------------------------------


@dataclass
class SalesforceOrg:
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields: set[str] = field(
        default_factory=lambda: {
            "Id",
            "Name",
            "Type",
            "Industry",
            "Rating",
            "Website",
            "AnnualRevenue",
            "OwnerId",
            "Tier__c",
            "ARR__c",
            "Health_Score__c",
            "CSM__c",
        }
    )


class SalesforceServer(VendorServer):
    """Salesforce REST: `GET /services/data/vNN.0/sobjects/Account/{Id}?fields=A,B` answered
    200 with `attributes` and the requested fields (null when unset). Errors are JSON arrays
    `[{"message", "errorCode"}]`: 401 `INVALID_SESSION_ID`, 404 `NOT_FOUND`, 400
    `INVALID_FIELD` (a field the org does not have), 403 `REQUEST_LIMIT_EXCEEDED`
    (`quota_exhausted = True`). Every response carries `Sforce-Limit-Info`.

    `GET /services/data/vNN.0/query?q=SELECT a,b FROM Account WHERE F = 'x' LIMIT n` answers
    `{totalSize, done, records: [{attributes, ...}]}`. The parser is deliberately narrow: one
    equality on one field with a string literal in the SOQL escapes (`\\'`, `\\\\`); anything
    else, an unbalanced quote included (the injection case), is 400 `MALFORMED_QUERY` and
    recorded in `malformed_queries`. The comparison is case-insensitive, as SOQL's is."""

    vendor = "salesforce"

    def __init__(self, *, token: str = "00Dtest!session-token", strict: bool = False) -> None:
        super().__init__(strict=strict)
        self.token = token
        self.org = SalesforceOrg()
        self.quota_exhausted = False
        self.api_calls = 0
        self.malformed_queries: list[str] = []

    def add_account(self, account_id: str, **fields: Any) -> None:
        with self._lock:
            self.org.accounts[account_id] = {"Id": account_id, **fields}

    def validate(self, request: RecordedRequest) -> list[str]:
        parts = _split(request.path)
        if parts[:2] != ["services", "data"] or len(parts) < 3:
            return [f"unexpected path {request.path!r}"]
        if not parts[2].startswith("v") or not parts[2].endswith(".0"):
            return [f"API version {parts[2]!r} should look like v61.0"]
        return []

    def _headers(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_calls}/15000"}

    def _error(self, status: int, code: str, message: str) -> Response:
        return Response.json(status, [{"message": message, "errorCode": code}], self._headers())

    def error_response(self, status: int, request: RecordedRequest) -> Response:
        known = {
            400: ("MALFORMED_QUERY", "Bad request"),
            401: ("INVALID_SESSION_ID", "Session expired or invalid"),
            403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            404: ("NOT_FOUND", "The requested resource does not exist"),
        }
        code, message = known.get(status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred."))
        return self._error(status, code, message)

    def route(self, request: RecordedRequest) -> Response:
        self.api_calls += 1
        if request.header("authorization") != f"Bearer {self.token}":
            return self.error_response(401, request)
        if self.quota_exhausted:
            return self.error_response(403, request)
        parts = _split(request.path)
        if parts[:2] == ["services", "data"] and parts[3:] == ["query"]:
            return self._query(request) if request.method == "GET" else self._not_found()
        if (
            len(parts) != 6
            or parts[:2] != ["services", "data"]
            or parts[3:5] != ["sobjects", "Account"]
            or request.method != "GET"
        ):
            return self.error_response(404, request)
        account = self.org.accounts.get(parts[5])
        if account is None:
            return self.error_response(404, request)
        wanted = [
            name for value in request.query.get("fields", []) for name in value.split(",") if name
        ]
        unknown = [name for name in wanted if name not in self.org.fields]
        if unknown:
            return self._error(
                400,
                "INVALID_FIELD",
                f"No such column '{unknown[0]}' on entity 'Account'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field name.",
            )
        names = wanted or sorted(self.org.fields)
        record: dict[str, Any] = {
            "attributes": {"type": "Account", "url": f"/{'/'.join(parts)}"},
            "Id": parts[5],
        }
        record.update({name: account.get(name) for name in names})
        return Response.json(200, record, self._headers())

    def _not_found(self) -> Response:
        return self._error(404, "NOT_FOUND", "The requested resource does not exist")

    _SOQL = re.compile(
        r"^SELECT\s+(?P<fields>[A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*)\s+FROM\s+Account"
        r"\s+WHERE\s+(?P<field>[A-Za-z0-9_]+)\s*=\s*'(?P<literal>(?:[^'\\]|\\.)*)'"
        r"\s+LIMIT\s+(?P<limit>\d+)\s*$",
        re.IGNORECASE,
    )

    def _query(self, request: RecordedRequest) -> Response:
        soql = (request.query.get("q") or [""])[-1]
        match = self._SOQL.match(soql)
        if match is None:
            self.malformed_queries.append(soql)
            return self._error(400, "MALFORMED_QUERY", f"unexpected token in: {soql[:200]}")
        fields = [f.strip() for f in match["fields"].split(",")]
        unknown = [f for f in [*fields, match["field"]] if f not in self.org.fields]
        if unknown:
            return self._error(
                400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity 'Account'."
            )
        literal = re.sub(r"\\(.)", r"\1", match["literal"]).lower()
        found = [
            account
            for _, account in sorted(self.org.accounts.items())
            if str(account.get(match["field"]) or "").lower() == literal
        ][: int(match["limit"])]
        records = [
            {
                "attributes": {
                    "type": "Account",
                    "url": f"/services/data/v61.0/sobjects/Account/{account['Id']}",
                },
                **{name: account.get(name) for name in fields},
            }
            for account in found
        ]
        return Response.json(
            200, {"totalSize": len(records), "done": True, "records": records}, self._headers()
        )
