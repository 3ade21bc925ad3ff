"""Parsing what responders do in Slack and PagerDuty: button clicks, v3 webhooks, dedup keys."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from activities.delivery import dedup_key
from escalation.models import DeliverRequest, PlannedAction
from escalation.policy import ActionKind, Policy, Target
from escalation.responder_events import (
    ResponderAction,
    pagerduty_actor,
    parse_dedup_key,
    parse_pagerduty_webhook,
    parse_slack_interaction,
    slack_actor,
)
from escalation.vocabulary import CustomerTier, Priority, RouteKey
from tests.vendors.schemas import json_schema_validator

SLACK_SCHEMA = "slack/derived/block-actions-payload.schema.json"
PD_SCHEMA = "pagerduty/derived/webhook-v3-event.schema.json"


def slack_payload(action_id: str = "escalation.ack", value: str = "ZD-4711") -> dict[str, Any]:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0DAN", "username": "dan", "name": "dan", "team_id": "T1"},
        "team": {"id": "T1", "domain": "acme"},
        "api_app_id": "A1",
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.com/actions/T1/1/abc",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "incidents"},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": f"esc:{value}",
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }
    assert json_schema_validator(SLACK_SCHEMA)(payload) == []
    return payload


def form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def pd_body(
    event_type: str = "incident.acknowledged",
    incident_key: str | None = "escalation-ZD-4711.0a1b2c3d.g0:s0:dan",
    agent: dict[str, Any] | None = None,
) -> bytes:
    body = {
        "event": {
            "id": "01EVENT",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-12-24T22:03:00Z",
            "agent": agent
            if agent is not None
            else {"id": "PUSER1", "type": "user_reference", "summary": "Dan Okafor"},
            "client": None,
            "data": {
                "id": "PINC1",
                "type": "incident",
                "status": "acknowledged",
                "incident_key": incident_key,
                "title": "[P0] Checkout down",
            },
        }
    }
    assert json_schema_validator(PD_SCHEMA)(body) == []
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("action_id", "expected"),
    [
        ("escalation.ack", ResponderAction.ACKNOWLEDGE),
        ("escalation.resolve", ResponderAction.RESOLVE),
        ("escalation.reassign", ResponderAction.REASSIGN),
    ],
)
def test_slack_buttons_map_to_actions(action_id: str, expected: ResponderAction) -> None:
    click = parse_slack_interaction(form(slack_payload(action_id)))
    assert click is not None
    assert click.action is expected
    assert click.ticket_id == "ZD-4711"
    assert click.user_id == "U0DAN" and click.user_name == "dan"
    assert click.channel_id == "C1" and click.message_ts == "1700000000.000100"
    assert click.response_url == "https://hooks.slack.com/actions/T1/1/abc"


def test_slack_payloads_that_are_not_ours_are_ignored() -> None:
    assert parse_slack_interaction(form(slack_payload("other.app.button"))) is None
    view = {**slack_payload(), "type": "view_submission"}
    assert parse_slack_interaction(form(view)) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"payload=",
        b"payload=not-json",
        b"token=abc&team_id=T1",
        b"\xff\xfe",
        urlencode({"payload": json.dumps({"type": "block_actions"})}).encode(),
    ],
)
def test_malformed_slack_bodies_are_value_errors(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_slack_interaction(body)


def test_slack_button_without_a_ticket_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="ticket id"):
        parse_slack_interaction(form(slack_payload(value="<script>")))


def test_slack_user_maps_to_the_policy_person(policy: Policy) -> None:
    assert slack_actor(policy, "U0DAN", "dan.o") == "dan"
    assert slack_actor(policy, "U9STRANGER", "zed") == "slack:zed"
    assert slack_actor(policy, "U9STRANGER") == "slack:U9STRANGER"


def test_pagerduty_ack_and_resolve_events() -> None:
    ack = parse_pagerduty_webhook(pd_body())
    assert ack.action is ResponderAction.ACKNOWLEDGE
    assert ack.id == "01EVENT" and ack.incident_id == "PINC1"
    assert ack.incident_key == "escalation-ZD-4711.0a1b2c3d.g0:s0:dan"
    assert not ack.by_integration
    resolved = parse_pagerduty_webhook(pd_body("incident.resolved"))
    assert resolved.action is ResponderAction.RESOLVE


@pytest.mark.parametrize(
    "event_type", ["incident.annotated", "incident.triggered", "incident.escalated", "x.future"]
)
def test_other_pagerduty_events_carry_no_action(event_type: str) -> None:
    assert parse_pagerduty_webhook(pd_body(event_type)).action is None


def test_pagey_ping_carries_no_action() -> None:
    ping = {
        "event": {
            "id": "01PING",
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "occurred_at": "2026-12-24T22:00:00Z",
            "agent": None,
            "client": None,
            "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
        }
    }
    assert parse_pagerduty_webhook(json.dumps(ping).encode()).action is None


@pytest.mark.parametrize("body", [b"", b"{}", b"[]", b"{not json", b'{"event": {"id": "x"}}'])
def test_malformed_pagerduty_bodies_are_value_errors(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_pagerduty_webhook(body)


def test_pagerduty_agent_maps_to_the_policy_person(policy: Policy) -> None:
    assert pagerduty_actor(policy, parse_pagerduty_webhook(pd_body())) == "dan"
    other = pd_body(agent={"id": "PX", "type": "user_reference", "summary": "Zed Zedson"})
    assert pagerduty_actor(policy, parse_pagerduty_webhook(other)) == "pagerduty:Zed Zedson"
    echo = parse_pagerduty_webhook(
        pd_body(agent={"id": "PI", "type": "integration_reference", "summary": "Events API"})
    )
    assert echo.by_integration


def _request(ticket: str, key: str, step: int) -> DeliverRequest:
    return DeliverRequest(
        escalation_key=key,
        workflow_id=f"escalation-{ticket}",
        ticket_id=ticket,
        priority=Priority.P0,
        route=RouteKey.OUTAGE,
        team="engineering",
        team_name="Engineering",
        step_index=step,
        action_index=0,
        action=PlannedAction(kind=ActionKind.PAGE, target=Target.PRIMARY_ONCALL),
        subject="",
        customer_name="",
        customer_tier=CustomerTier.STANDARD,
        paging_provider="pagerduty",
    )


@pytest.mark.parametrize("ticket", ["ZD-4711", "JIRA.OPS:12", "a", "T-1.deadbeef", "x" * 128])
def test_dedup_keys_we_generate_parse_back_to_their_ticket(ticket: str) -> None:
    run = "0a1b2c3d"
    key = dedup_key(_request(ticket, f"escalation-{ticket}.{run}.g2", 1), "dan")
    parsed = parse_dedup_key(key)
    assert parsed is not None
    assert parsed.ticket_id == ticket
    assert parsed.workflow_id == f"escalation-{ticket}"
    assert (parsed.run, parsed.generation, parsed.step) == (run, 2, 1)


@pytest.mark.parametrize(
    "key",
    [None, "", "some-other-integration-key", "escalation-ZD-1", "escalation-ZD-1.XYZ.g0:s0:dan"],
)
def test_foreign_dedup_keys_are_not_ours(key: str | None) -> None:
    assert parse_dedup_key(key) is None
