"""HTTP-only response models of intake (the help-desk webhooks). The event result itself is
escalation/intake_results.py, shared with the worker's clock activity."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from escalation.intake_results import TicketEventResult


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WebhookResult(_Out):
    accepted: bool
    duplicate: bool = False
    ignored: str | None = Field(default=None, description="Why a delivery was not a ticket event.")
    result: TicketEventResult | None = None
