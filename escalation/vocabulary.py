"""The small shared vocabulary of the domain: priorities, routes, channels.

Kept in one tiny module so triggers, policy, routing and workflows agree on spelling.
"""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    """Escalation severity. P0 is the most urgent."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class RouteKey(StrEnum):
    """Escalation paths (DESIGN.md section 1 and the trigger issue)."""

    TECHNICAL = "technical"  # L2 Technical Specialist -> Engineering when a bug is suspected
    BILLING = "billing"  # Billing Specialist -> Finance Manager above the billing threshold
    SECURITY = "security"  # Security Team immediately, bypassing the queue
    VIP = "vip"  # Dedicated Senior Agent -> Support Manager -> CSM
    LEGAL = "legal"  # Legal Team immediately, with a hold on customer responses
    PRODUCT = "product"  # Product Manager through the backlog (no paging)
    OUTAGE = "outage"  # On-call Engineering -> Incident Commander
    MANAGER_REQUEST = "manager_request"  # Support Manager
    ACCOUNT = "account"  # CSM


class CustomerTier(StrEnum):
    FREE = "free"
    STANDARD = "standard"
    BUSINESS = "business"
    ENTERPRISE = "enterprise"
    STRATEGIC = "strategic"
