"""The search attributes of the contract (DESIGN.md section 4). No personal data in them:
they are stored in plain text and the payload codec does not apply."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

ESCALATION_PRIORITY = SearchAttributeKey.for_keyword("EscalationPriority")
ESCALATION_STATE = SearchAttributeKey.for_keyword("EscalationState")
ESCALATION_TEAM = SearchAttributeKey.for_keyword("EscalationTeam")
CUSTOMER_TIER = SearchAttributeKey.for_keyword("CustomerTier")
TICKET_ID = SearchAttributeKey.for_keyword("TicketId")
CUSTOMER_NAME = SearchAttributeKey.for_text("CustomerName")
ACKNOWLEDGED = SearchAttributeKey.for_bool("Acknowledged")
BOUNCES = SearchAttributeKey.for_int("Bounces")

ALL_KEYS = (
    ESCALATION_PRIORITY,
    ESCALATION_STATE,
    ESCALATION_TEAM,
    CUSTOMER_TIER,
    TICKET_ID,
    CUSTOMER_NAME,
    ACKNOWLEDGED,
    BOUNCES,
)

_CLI_TYPES = {"KEYWORD": "Keyword", "TEXT": "Text", "BOOL": "Bool", "INT": "Int"}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}"]
    return flags


def initial(
    *, ticket_id: str, priority: str, team: str, tier: str, customer_name: str, state: str
) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(TICKET_ID, ticket_id),
            SearchAttributePair(ESCALATION_PRIORITY, priority),
            SearchAttributePair(ESCALATION_STATE, state),
            SearchAttributePair(ESCALATION_TEAM, team),
            SearchAttributePair(CUSTOMER_TIER, tier),
            SearchAttributePair(CUSTOMER_NAME, customer_name),
            SearchAttributePair(ACKNOWLEDGED, False),
            SearchAttributePair(BOUNCES, 0),
        ]
    )
