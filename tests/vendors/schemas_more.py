"""Request validators for the issue-8 vendor servers (tests/vendors/servers_more.py).

Vendor descriptions used where they exist (via tests/vendors/schemas.py):
* Zendesk internal note: `zendesk/derived/ticket-update-internal-note.request.schema.json`;
* Intercom reply: `intercom/conversations.subset.openapi.json` (replyConversation);
* GitHub create issue: `github/issues-create.subset.openapi.json`;
* Linear issueCreate: `linear/issueCreate.subset.graphql`, checked by `LinearSdl` below (a
  small SDL reader: input object fields, their types and nullability; the selection set
  against IssuePayload and Issue), since the project has no GraphQL library.

Hand-written (no vendor description exists), from shared/vendor-apis.md and vendor docs:
Freshdesk note and ticket update, Zendesk Guide article create, the Teams Adaptive Card
webhook envelope.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from tests.vendors import schemas

ZENDESK_NOTE = "zendesk/derived/ticket-update-internal-note.request.schema.json"
INTERCOM_SUBSET = "intercom/conversations.subset.openapi.json"
GITHUB_SUBSET = "github/issues-create.subset.openapi.json"
LINEAR_SDL = "linear/issueCreate.subset.graphql"


def _validator(schema: dict[str, Any]) -> schemas.Validator:
    checker = jsonschema.Draft202012Validator(schema)

    def validate(body: Any) -> list[str]:
        return schemas.format_errors(checker.iter_errors(body))

    return validate


FRESHDESK_NOTE_SCHEMA: dict[str, Any] = {
    "title": "Freshdesk POST /api/v2/tickets/{id}/notes (hand-written)",
    "type": "object",
    "required": ["body"],
    "additionalProperties": False,
    "properties": {
        "body": {"type": "string", "minLength": 1},
        "private": {"type": "boolean"},
        "incoming": {"type": "boolean"},
        "notify_emails": {"type": "array", "items": {"type": "string"}},
        "user_id": {"type": "integer"},
    },
}

FRESHDESK_TICKET_UPDATE_SCHEMA: dict[str, Any] = {
    "title": "Freshdesk PUT /api/v2/tickets/{id} (hand-written, fields the service sets)",
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "priority": {"enum": [1, 2, 3, 4]},
        "status": {"enum": [2, 3, 4, 5]},
        "responder_id": {"type": "integer"},
        "group_id": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}

ZENDESK_GUIDE_ARTICLE_SCHEMA: dict[str, Any] = {
    "title": "Zendesk Help Center POST /api/v2/help_center/sections/{id}/articles (hand-written)",
    "type": "object",
    "required": ["article"],
    "additionalProperties": False,
    "properties": {
        "notify_subscribers": {"type": "boolean"},
        "article": {
            "type": "object",
            "required": ["title", "locale", "permission_group_id", "user_segment_id"],
            "additionalProperties": False,
            "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": 255},
                "body": {"type": "string"},
                "locale": {"type": "string", "minLength": 2},
                "draft": {"type": "boolean"},
                "permission_group_id": {"type": "integer"},
                "user_segment_id": {"type": ["integer", "null"]},
                "label_names": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "promoted": {"type": "boolean"},
                "position": {"type": "integer"},
                "comments_disabled": {"type": "boolean"},
                "content_tag_ids": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}

_CARD_ELEMENT: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string", "minLength": 1}},
}
TEAMS_MESSAGE_SCHEMA: dict[str, Any] = {
    "title": "Teams webhook message with an Adaptive Card (hand-written)",
    "type": "object",
    "required": ["type", "attachments"],
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["contentType", "content"],
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": ["string", "null"]},
                    "content": {
                        "type": "object",
                        "required": ["type", "version", "body"],
                        "properties": {
                            "type": {"const": "AdaptiveCard"},
                            "version": {"enum": ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]},
                            "body": {"type": "array", "items": _CARD_ELEMENT},
                            "actions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["type"],
                                    "properties": {
                                        "type": {
                                            "enum": [
                                                "Action.OpenUrl",
                                                "Action.Submit",
                                                "Action.ShowCard",
                                                "Action.ToggleVisibility",
                                                "Action.Execute",
                                            ]
                                        },
                                        "url": {"type": "string", "pattern": "^https?://"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


@cache
def freshdesk_validator(kind: str) -> schemas.Validator:
    """`kind` is "note" or "ticket"."""
    return _validator(FRESHDESK_NOTE_SCHEMA if kind == "note" else FRESHDESK_TICKET_UPDATE_SCHEMA)


@cache
def zendesk_guide_validator() -> schemas.Validator:
    return _validator(ZENDESK_GUIDE_ARTICLE_SCHEMA)


@cache
def teams_validator() -> schemas.Validator:
    return _validator(TEAMS_MESSAGE_SCHEMA)


# --- Linear: a minimal reader of the vendored SDL ---------------------------------------------


@dataclass(frozen=True)
class SdlField:
    name: str
    type: str  # e.g. "String", "[String!]", "IssueCreateInput"

    @property
    def non_null(self) -> bool:
        return self.type.endswith("!")

    @property
    def base(self) -> str:
        return self.type.strip("[]!")

    @property
    def is_list(self) -> bool:
        return self.type.startswith("[")


_BLOCK = re.compile(r"^(type|input|enum|scalar)\s+(\w+)[^{\n]*(\{(.*?)^\})?", re.M | re.S)
_FIELD = re.compile(r"^\s*(\w+)(\([^)]*\))?\s*:\s*([\[\]\w!]+)", re.M)
_DOCSTRING = re.compile(r'"""(.*?)"""', re.S)


class LinearSdl:
    """The types of the Linear subset: `inputs`, `objects` (fields by name), `enums`,
    `scalars`."""

    def __init__(self, text: str) -> None:
        text = _DOCSTRING.sub("", text)
        text = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        self.inputs: dict[str, dict[str, SdlField]] = {}
        self.objects: dict[str, dict[str, SdlField]] = {}
        self.enums: dict[str, set[str]] = {}
        self.scalars: set[str] = {"String", "Int", "Float", "Boolean", "ID"}
        for match in _BLOCK.finditer(text):
            kind, name, body = match.group(1), match.group(2), match.group(4) or ""
            if kind == "scalar":
                self.scalars.add(name)
            elif kind == "enum":
                self.enums[name] = set(re.findall(r"^\s*(\w+)\s*$", body, re.M))
            else:
                fields = {
                    m.group(1): SdlField(m.group(1), m.group(3)) for m in _FIELD.finditer(body)
                }
                (self.inputs if kind == "input" else self.objects)[name] = fields

    def check_value(self, value: Any, type_: str, where: str) -> list[str]:
        """Problems of `value` as GraphQL input of type `type_` (variables coercion rules)."""
        if value is None:
            return [f"{where}: must not be null ({type_})"] if type_.endswith("!") else []
        inner = type_[:-1] if type_.endswith("!") else type_
        if inner.startswith("["):
            if not isinstance(value, list):
                return [f"{where}: expected a list ({type_})"]
            item_type = inner[1:-1]
            return [
                p
                for i, v in enumerate(value)
                for p in self.check_value(v, item_type, f"{where}[{i}]")
            ]
        if inner in self.inputs:
            if not isinstance(value, dict):
                return [f"{where}: expected an object ({inner})"]
            fields = self.inputs[inner]
            problems = [f"{where}.{k}: not a field of {inner}" for k in value if k not in fields]
            for field in fields.values():
                problems += self.check_value(
                    value.get(field.name), field.type, f"{where}.{field.name}"
                )
            return problems
        if inner in self.enums:
            return [] if value in self.enums[inner] else [f"{where}: {value!r} not in enum {inner}"]
        checks = {
            "String": lambda v: isinstance(v, str),
            "ID": lambda v: isinstance(v, str | int) and not isinstance(v, bool),
            "Int": lambda v: (
                isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31
            ),
            "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "Boolean": lambda v: isinstance(v, bool),
        }
        check = checks.get(inner, lambda v: isinstance(v, str | dict | list | int | float))
        return [] if check(value) else [f"{where}: {value!r} is not a valid {inner}"]

    def check_selection(self, selection: Selection, type_name: str, where: str) -> list[str]:
        """Problems of a selection set against an object type."""
        fields = self.objects.get(type_name)
        if fields is None:
            return []
        problems: list[str] = []
        for name, sub in selection.items():
            if name == "__typename":
                continue
            field = fields.get(name)
            if field is None:
                problems.append(f"{where}: {type_name} has no field {name!r}")
                continue
            is_object = field.base in self.objects
            if is_object and not sub:
                problems.append(f"{where}.{name}: object field needs a selection set")
            elif not is_object and sub:
                problems.append(f"{where}.{name}: scalar field cannot have a selection set")
            elif sub:
                problems += self.check_selection(sub, field.base, f"{where}.{name}")
        return problems


Selection = dict[str, "Selection"]


@dataclass(frozen=True)
class ParsedOperation:
    kind: str  # "query" | "mutation"
    variables: dict[str, str]  # name -> type, e.g. {"input": "IssueCreateInput!"}
    root_field: str
    root_arguments: str  # raw text between the parentheses
    selection: Selection


_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|\.\.\.|[{}():!$\[\],=@]|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?'
)


def parse_operation(query: str) -> ParsedOperation:
    """Parse one GraphQL operation with a single root field (what adapters send); ValueError
    for anything else."""
    tokens = _TOKEN.findall(re.sub(r"#[^\n]*", "", query))
    pos = 0

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError("unexpected end of query")
        token = tokens[pos]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, got {token!r}")
        pos += 1
        return token

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    kind = "query"
    variables: dict[str, str] = {}
    if peek() in ("query", "mutation"):
        kind = take()
        if peek() not in ("{", "("):
            take()  # operation name
        if peek() == "(":
            take("(")
            while peek() != ")":
                take("$")
                name = take()
                take(":")
                type_text = ""
                while peek() not in ("$", ")", "=") and peek() is not None:
                    type_text += take()
                variables[name] = type_text
                if peek() == "=":
                    raise ValueError("default values are not supported")
            take(")")

    def arguments() -> str:
        depth = 0
        text: list[str] = []
        while True:
            token = take()
            if token == "(":
                depth += 1
                if depth == 1:
                    continue
            elif token == ")":
                depth -= 1
                if depth == 0:
                    return " ".join(text)
            text.append(token)

    def selection_set() -> Selection:
        take("{")
        result: Selection = {}
        while peek() != "}":
            name = take()
            if peek() == ":":  # alias
                take(":")
                name = take()
            if peek() == "(":
                arguments()
            result[name] = selection_set() if peek() == "{" else {}
        take("}")
        return result

    take("{")
    root = take()
    root_arguments = arguments() if peek() == "(" else ""
    selection = selection_set() if peek() == "{" else {}
    take("}")
    if pos != len(tokens):
        raise ValueError("only one operation with one root field is expected")
    return ParsedOperation(kind, variables, root, root_arguments, selection)


@cache
def linear_sdl() -> LinearSdl:
    path = schemas.specs_dir() / LINEAR_SDL
    return LinearSdl(path.read_text(encoding="utf-8"))


def validate_linear_request(body: Any) -> list[str]:
    """Check a Linear GraphQL request: `issueCreate(input: $input)` against the vendored SDL
    (variables coerced to IssueCreateInput, selection against IssuePayload/Issue, `id` a UUID
    v4 when given); the `issue(id:)` lookup (outside the subset) only for its shape."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return ["$: body must be an object with a string 'query'"]
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return ["$.variables: must be an object"]
    try:
        operation = parse_operation(body["query"])
    except ValueError as exc:
        return [f"$.query: cannot parse: {exc}"]
    sdl = linear_sdl()
    problems: list[str] = []
    for name in variables:
        if name not in operation.variables:
            problems.append(f"$.variables.{name}: not declared by the operation")
    for name, type_ in operation.variables.items():
        problems += sdl.check_value(variables.get(name), type_, f"$.variables.{name}")
    if operation.root_field == "issueCreate":
        if operation.kind != "mutation":
            problems.append("$.query: issueCreate is a mutation")
        if operation.variables.get("input") != "IssueCreateInput!":
            problems.append("$.query: issueCreate takes $input: IssueCreateInput!")
        if operation.root_arguments.replace(" ", "") != "input:$input":
            problems.append(f"$.query: issueCreate arguments {operation.root_arguments!r}")
        problems += sdl.check_selection(operation.selection, "IssuePayload", "$.query.issueCreate")
        issue_input = variables.get("input")
        issue_id = issue_input.get("id") if isinstance(issue_input, dict) else None
        if issue_id is not None:
            try:
                parsed = uuid.UUID(str(issue_id))
            except ValueError:
                parsed = None
            if parsed is None or parsed.version != 4 or str(parsed) != str(issue_id).lower():
                problems.append(f"$.variables.input.id: {issue_id!r} is not a UUID v4")
    elif operation.root_field == "issue":
        problems += sdl.check_selection(operation.selection, "Issue", "$.query.issue")
    else:
        problems.append(f"$.query: unexpected root field {operation.root_field!r}")
    return problems
