"""The war room's bridge link (Zoom or any video-call URL), built from a URL template.

`ESCALATION_BRIDGE_URL_TEMPLATE` is a URL with optional placeholders:

* `{room}`: the room name. Callers pass one (e.g. a team's standing Zoom meeting id from the
  policy); without it, a URL-safe slug of the escalation id (`escalation-zd-4711`), which
  suits services that open a room for any name (Jitsi, Whereby, Google Meet aliases).
* `{ticket}`: the ticket id, percent-encoded.
* `{escalation}`: the escalation (workflow) id, percent-encoded.

Examples: `https://zoom.us/j/{room}` with a per-team meeting id, `https://zoom.us/j/5551234567`
(one standing bridge, no placeholder), `https://meet.jit.si/{room}`.

Pure and deterministic (no I/O, no clock), so the workflow or an activity can call it; the
template is checked when the settings load, so a typo fails at start, not in a war room.
"""

from __future__ import annotations

import re
import string
from typing import Final
from urllib.parse import quote, urlsplit

PLACEHOLDERS: Final = frozenset({"room", "ticket", "escalation"})
MAX_ROOM: Final = 64


def check_bridge_template(template: str) -> str:
    """Return `template` if it is an http(s) URL whose only placeholders are `{room}`,
    `{ticket}` and `{escalation}` (no format specs); raise ValueError naming the problem."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"bridge URL template {template!r}: {exc}") from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
            raise ValueError(
                f"bridge URL template {template!r}: unknown placeholder {{{name}}} "
                f"(allowed: {allowed})"
            )
        if spec or conversion:
            raise ValueError(
                f"bridge URL template {template!r}: placeholder {{{name}}} takes no format spec"
            )
    sample = template.format(room="room", ticket="ticket", escalation="escalation")
    parts = urlsplit(sample)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"bridge URL template {template!r}: must be an http(s) URL such as "
            "https://zoom.us/j/{room}"
        )
    return template


def room_slug(escalation_id: str) -> str:
    """A URL-safe room name for an escalation: lowercase `[a-z0-9-]`, at most 64 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", escalation_id.lower()).strip("-")
    return slug[:MAX_ROOM].rstrip("-") or "war-room"


def bridge_url(
    template: str | None,
    *,
    escalation_id: str,
    ticket_id: str,
    room: str | None = None,
) -> str | None:
    """The bridge link for one war room, or None when no template is configured.

    `room` defaults to `room_slug(escalation_id)`; every value is percent-encoded."""
    if template is None or not template.strip():
        return None
    check_bridge_template(template)
    chosen_room = room.strip() if room and room.strip() else room_slug(escalation_id)
    return template.format(
        room=quote(chosen_room, safe=""),
        ticket=quote(ticket_id, safe=""),
        escalation=quote(escalation_id, safe=""),
    )
