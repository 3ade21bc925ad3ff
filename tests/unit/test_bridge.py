"""The war-room bridge link built from ESCALATION_BRIDGE_URL_TEMPLATE."""

from __future__ import annotations

import pydantic
import pytest

from escalation.bridge import bridge_url, check_bridge_template, room_slug
from escalation.settings import Settings


def test_zoom_template_with_a_team_room() -> None:
    url = bridge_url(
        "https://zoom.us/j/{room}",
        escalation_id="escalation-ZD-4711",
        ticket_id="ZD-4711",
        room="5551234567",
    )
    assert url == "https://zoom.us/j/5551234567"


def test_room_defaults_to_a_slug_of_the_escalation() -> None:
    url = bridge_url(
        "https://meet.jit.si/{room}?ticket={ticket}",
        escalation_id="escalation-ZD 4711/Ä",
        ticket_id="ZD 4711/x",
    )
    assert url == "https://meet.jit.si/escalation-zd-4711?ticket=ZD%204711%2Fx"
    assert room_slug("!!!") == "war-room" and len(room_slug("x" * 200)) == 64


def test_no_template_means_no_link() -> None:
    assert bridge_url(None, escalation_id="e", ticket_id="t") is None
    assert bridge_url("https://zoom.us/j/555", escalation_id="e", ticket_id="t") == (
        "https://zoom.us/j/555"
    )


@pytest.mark.parametrize(
    "template",
    ["https://zoom.us/j/{rooom}", "https://zoom.us/j/{room!r}", "zoom.us/j/{room}", "https://x/{"],
)
def test_bad_templates_fail_when_settings_load(template: str) -> None:
    with pytest.raises(ValueError):
        check_bridge_template(template)
    with pytest.raises(pydantic.ValidationError):
        Settings(escalation_bridge_url_template=template)


def test_settings_accept_a_good_template() -> None:
    settings = Settings(escalation_bridge_url_template=" https://zoom.us/j/{room} ")
    assert settings.escalation_bridge_url_template == "https://zoom.us/j/{room}"
