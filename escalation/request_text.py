"""The string type of every HTTP request body field: text without control characters.

PostgreSQL text cannot hold NUL (U+0000), so a NUL that got past the API failed every write of
the escalation's timeline. The other C0 control characters are refused with it: no person
types them, they break logs, Slack mrkdwn and e-mail headers, and accepting them would only
move the failure further from the caller. Tab, newline and carriage return stay allowed
(multi-line notes and resolutions). DEL and C1 controls are not C0 and pass.

Ticket text relayed by help desks (`TicketEvent`, from `POST /v1/tickets/events` and the
vendor webhooks) does not use this type: pasted logs do carry NUL, and intake drops it
(`escalation.intake.without_nul`) rather than refusing the customer's ticket.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, Strict

# C0 controls except \t (U+0009), \n (U+000A) and \r (U+000D).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def refuse_control_characters(value: str) -> str:
    """`value` unchanged, or ValueError naming the first control character found."""
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at position {found.start()} is not "
            "allowed (only tab, newline and carriage return are)"
        )
    return value


# Used as `field: RequestText = Field(max_length=...)`; pydantic answers a refusal with the
# usual 422 whose `loc` names the field.
RequestText = Annotated[str, AfterValidator(refuse_control_characters)]

# A JSON boolean and nothing else: pydantic's lax mode would take 0, 1, "yes" or "off" for a
# field the OpenAPI document declares `boolean` (found by the fuzzer: `runtime_changes: 0`).
RequestBool = Annotated[bool, Strict()]
