"""Request-body validators built from the vendor descriptions in `shared/vendor-specs/`.

Every local vendor server (tests/vendors/servers.py) runs each request body it receives through
one of these and records the messages as schema violations. Kinds of validator:

* `json_schema_validator(file, definition)`: a derived JSON Schema (draft 2020-12), optionally
  one of its `$defs`.
* `openapi_body_validator(file, path, method)`: the request-body schema of one operation in a
  vendor subset (Swagger 2.0 `in: body` parameter or OpenAPI 3 `requestBody`), validated as
  draft 4 (what both formats are based on) with every `$ref` resolved inside the file.
* `openapi_form_validator(file, path, method)`: the same for form-encoded bodies; the form's
  strings are first converted to the types the schema declares (Twilio), and Twilio's
  `x-twilio.conditional` one-of groups are enforced.
* `swagger_form_parameters(file, path, method)`: Slack's 2021 file describes form parameters;
  the server checks that the required ones are present in the JSON body.
* `STATUSPAGE_*`: Statuspage publishes no reusable description, so these are hand-written
  from vendor-apis.md section 5.3.

Quirks tolerated (vendor-specs/README.md): `x-subset-source` is removed before use; Slack's
invalid `items` lists are never reached because only its form parameters are used; formats
such as `phone-number` are not checked by the generic validator (servers check E.164 where the
vendor requires it).

The shared folder is `$ESCALATION_SHARED_DIR`, else `shared/` beside the checkout.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

Validator = Callable[[Any], list[str]]
FormValidator = Callable[[Mapping[str, list[str]]], list[str]]


def shared_dir() -> Path:
    """The shared folder: `$ESCALATION_SHARED_DIR`, else `<checkout>/../shared`."""
    override = os.environ.get("ESCALATION_SHARED_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return Path(__file__).resolve().parents[3] / "shared"


def specs_dir() -> Path:
    """`<shared>/vendor-specs`; fails loudly when it cannot be found."""
    path = shared_dir() / "vendor-specs"
    if not path.is_dir():
        raise FileNotFoundError(
            f"vendor specs not found at {path}; set ESCALATION_SHARED_DIR to the shared folder"
        )
    return path


@cache
def load_spec(relative: str) -> dict[str, Any]:
    """Load one vendor-specs file (path relative to vendor-specs/), minus `x-subset-source`."""
    with (specs_dir() / relative).open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    data.pop("x-subset-source", None)
    return data


def _pointer_token(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")


def format_errors(errors: Iterable[jsonschema.ValidationError]) -> list[str]:
    """One readable line per error: `<json path>: <message>` (deepest errors first)."""
    lines: list[str] = []
    for error in sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        where = error.json_path
        message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
        lines.append(f"{where}: {message}")
    return lines


@cache
def json_schema_validator(relative: str, definition: str | None = None) -> Validator:
    """Validator for a derived (draft 2020-12) schema file, or for `$defs/<definition>`."""
    schema = copy.deepcopy(load_spec(relative))
    if definition is not None:
        if definition not in schema.get("$defs", {}):
            raise KeyError(f"{relative} has no $defs/{definition}")
        # Only the definitions: the root's own keywords must not apply to the part.
        schema = {
            "$schema": schema.get("$schema", "https://json-schema.org/draft/2020-12/schema"),
            "$defs": schema["$defs"],
            "$ref": f"#/$defs/{_pointer_token(definition)}",
        }
    validator = jsonschema.Draft202012Validator(schema)

    def validate(body: Any) -> list[str]:
        return format_errors(validator.iter_errors(body))

    return validate


def _operation(spec: Mapping[str, Any], path: str, method: str) -> Mapping[str, Any]:
    try:
        operation: Mapping[str, Any] = spec["paths"][path][method.lower()]
    except KeyError as exc:
        raise KeyError(f"no operation {method.upper()} {path} in spec") from exc
    return operation


def _resolve(spec: Mapping[str, Any], node: Any) -> Any:
    """Follow a local `$ref` (one level is enough for parameters and request bodies)."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = spec
        for token in str(node["$ref"]).lstrip("#/").split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _body_schema_pointer(spec: Mapping[str, Any], path: str, method: str, content_type: str) -> str:
    operation = _operation(spec, path, method)
    base = f"#/paths/{_pointer_token(path)}/{method.lower()}"
    if "requestBody" in operation:  # OpenAPI 3
        body = _resolve(spec, operation["requestBody"])
        if content_type not in body.get("content", {}):
            raise KeyError(f"{method.upper()} {path} has no {content_type} request body")
        return f"{base}/requestBody/content/{_pointer_token(content_type)}/schema"
    for index, parameter in enumerate(operation.get("parameters", [])):  # Swagger 2
        if _resolve(spec, parameter).get("in") == "body":
            return f"{base}/parameters/{index}/schema"
    raise KeyError(f"{method.upper()} {path} has no request body")


def _draft4_validator(relative: str, pointer: str) -> jsonschema.Draft4Validator:
    # The whole document is the root schema, so every "#/components/..." or
    # "#/definitions/..." reference resolves; in draft 4 a `$ref` overrides its siblings,
    # so the rest of the document is not applied as schema keywords.
    root = copy.deepcopy(load_spec(relative))
    root["$ref"] = pointer
    return jsonschema.Draft4Validator(root)


@cache
def openapi_body_validator(
    relative: str, path: str, method: str, content_type: str = "application/json"
) -> Validator:
    """Validator for the JSON request body of one operation of a vendor subset spec."""
    spec = load_spec(relative)
    validator = _draft4_validator(relative, _body_schema_pointer(spec, path, method, content_type))

    def validate(body: Any) -> list[str]:
        return format_errors(validator.iter_errors(body))

    return validate


def _coerce(value: list[str], schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        return list(value)
    last = value[-1] if value else ""
    if kind == "integer":
        try:
            return int(last)
        except ValueError:
            return last
    if kind == "number":
        try:
            return float(last)
        except ValueError:
            return last
    if kind == "boolean":
        lowered = last.lower()
        return {"true": True, "false": False}.get(lowered, last)
    return last


def _snake(name: str) -> str:
    out = ""
    for index, char in enumerate(name):
        if char.isupper() and index:
            out += "_"
        out += char.lower()
    return out


@cache
def openapi_form_validator(
    relative: str,
    path: str,
    method: str,
    content_type: str = "application/x-www-form-urlencoded",
) -> FormValidator:
    """Validator for a form-encoded request body of an OpenAPI 3 operation (Twilio)."""
    spec = load_spec(relative)
    pointer = _body_schema_pointer(spec, path, method, content_type)
    validator = _draft4_validator(relative, pointer)
    operation = _operation(spec, path, method)
    schema = _resolve(
        spec, _resolve(spec, operation["requestBody"])["content"][content_type]["schema"]
    )
    properties: Mapping[str, Any] = schema.get("properties", {})
    groups: list[list[str]] = [
        list(group) for group in operation.get("x-twilio", {}).get("conditional", [])
    ]
    by_snake = {_snake(name): name for name in properties}

    def validate(form: Mapping[str, list[str]]) -> list[str]:
        typed = {
            name: _coerce(values, _resolve(spec, properties.get(name, {})))
            for name, values in form.items()
        }
        problems = format_errors(validator.iter_errors(typed))
        for group in groups:
            names = [by_snake.get(item, item) for item in group]
            if not any(form.get(name) for name in names):
                problems.append(f"$: one of {', '.join(names)} is required (x-twilio.conditional)")
        return problems

    return validate


@cache
def swagger_form_parameters(relative: str, path: str, method: str) -> dict[str, dict[str, Any]]:
    """The form and header parameters of a Swagger 2 operation, by name (Slack)."""
    spec = load_spec(relative)
    operation = _operation(spec, path, method)
    parameters: dict[str, dict[str, Any]] = {}
    for parameter in operation.get("parameters", []):
        resolved = _resolve(spec, parameter)
        parameters[str(resolved["name"])] = dict(resolved)
    return parameters


# --- Statuspage: hand-written from vendor-apis.md section 5.3 (no vendor schema exists) ---

_COMPONENT_STATUS = [
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
]
_INCIDENT_PROPERTIES: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "status": {
        "enum": [
            "investigating",
            "identified",
            "monitoring",
            "resolved",
            "scheduled",
            "in_progress",
            "verifying",
            "completed",
        ]
    },
    "impact_override": {"enum": ["none", "maintenance", "minor", "major", "critical"]},
    "body": {"type": "string", "maxLength": 25000},
    "component_ids": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "components": {
        "type": "object",
        "additionalProperties": {"enum": _COMPONENT_STATUS},
    },
    "deliver_notifications": {"type": "boolean"},
    "metadata": {"type": "object", "additionalProperties": {"type": "object"}},
    "scheduled_for": {"type": "string"},
    "scheduled_until": {"type": "string"},
    "scheduled_remind_prior": {"type": "boolean"},
    "scheduled_auto_in_progress": {"type": "boolean"},
    "scheduled_auto_completed": {"type": "boolean"},
    "auto_transition_to_maintenance_state": {"type": "boolean"},
    "auto_transition_to_operational_state": {"type": "boolean"},
    "auto_transition_deliver_notifications_at_start": {"type": "boolean"},
    "auto_transition_deliver_notifications_at_end": {"type": "boolean"},
    "backfilled": {"type": "boolean"},
    "backfill_date": {"type": "string"},
    "reminder_intervals": {"type": "string"},
}

STATUSPAGE_CREATE_INCIDENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Statuspage POST /pages/{page_id}/incidents body (hand-written)",
    "type": "object",
    "required": ["incident"],
    "additionalProperties": False,
    "properties": {
        "incident": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": _INCIDENT_PROPERTIES,
        }
    },
}

STATUSPAGE_UPDATE_INCIDENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Statuspage PATCH /pages/{page_id}/incidents/{incident_id} body (hand-written)",
    "type": "object",
    "required": ["incident"],
    "additionalProperties": False,
    "properties": {
        "incident": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": _INCIDENT_PROPERTIES,
        }
    },
}


@cache
def _statuspage_validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = (
        STATUSPAGE_CREATE_INCIDENT_SCHEMA if kind == "create" else STATUSPAGE_UPDATE_INCIDENT_SCHEMA
    )
    return jsonschema.Draft202012Validator(schema)


def statuspage_validator(kind: str) -> Validator:
    """`kind` is "create" or "update"."""
    validator = _statuspage_validator(kind)

    def validate(body: Any) -> list[str]:
        return format_errors(validator.iter_errors(body))

    return validate


# Paths of the files the servers use, relative to vendor-specs/.
PAGERDUTY_ENQUEUE = "pagerduty/derived/events-v2-enqueue.request.schema.json"
SLACK_SUBSET = "slack/web-api.subset.openapi2.json"
SLACK_JSON_BODIES = "slack/derived/web-api-json-bodies.schema.json"
JIRA_SUBSET = "jira/jira-platform-v3.subset.openapi.json"
JIRA_CREATE_DERIVED = "jira/derived/create-issue-request.schema.json"
OPSGENIE_SUBSET = "opsgenie/alert-api.subset.swagger2.json"
TWILIO_SUBSET = "twilio/api_v2010.messages-calls.subset.openapi.json"
