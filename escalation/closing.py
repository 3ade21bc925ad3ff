"""Closing the loop (issue 6): the models that activities, the API and the store share for
escalation facts, CSAT surveys, reviews, knowledge-base drafts and the monthly report.

Pure pydantic, so workflows can pass them through the sandbox (`imports_passed_through`) and
call the activities by the names below.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# Activity names (they live in histories and the Temporal UI: never rename).
RECORD_ESCALATION_FACTS = "record_escalation_facts"
ISSUE_SURVEY = "issue_survey"
RECORD_REVIEW = "record_review"
CREATE_KB_DRAFT = "create_kb_draft"
BUILD_MONTHLY_REPORT = "build_monthly_report"
PUBLISH_MONTHLY_REPORT = "publish_monthly_report"
MONTHLY_REPORT_WORKFLOW = "MonthlyReport"
MONTHLY_REPORT_SCHEDULE_ID = "monthly-escalation-report"

KEY_PATTERN = r"^escalation-[A-Za-z0-9][A-Za-z0-9_.:-]{0,220}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GapCategory(StrEnum):
    """Why a preventable escalation happened (the seed's training, tool or process gap)."""

    TRAINING = "training"
    TOOL = "tool"
    PROCESS = "process"
    DOCUMENTATION = "documentation"
    PRODUCT = "product"


class EscalationFactsInput(_Model):
    """Recorded when an escalation starts: who escalated it, and why."""

    escalation_key: str = Field(pattern=KEY_PATTERN)
    ticket_id: str = Field(min_length=1, max_length=128)
    agent_id: str | None = Field(default=None, max_length=200)
    agent_team: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=2000)
    triggers: list[str] = Field(default_factory=list, max_length=50)


class SurveyRequest(_Model):
    escalation_key: str = Field(pattern=KEY_PATTERN)
    ticket_id: str = Field(min_length=1, max_length=128)
    ttl_days: float | None = Field(default=None, gt=0, le=365)


class SurveyIssued(_Model):
    survey_id: int
    url: str
    token: str


class ReviewInput(_Model):
    """The post-resolution review: agent and specialist feedback on the escalation."""

    escalation_key: str = Field(pattern=KEY_PATTERN)
    necessary: bool | None = None
    preventable: bool | None = None
    gap_category: GapCategory | None = None
    reopened: bool = False
    agent_feedback: str = Field(default="", max_length=5000)
    specialist_feedback: str = Field(default="", max_length=5000)
    reviewed_by: str = Field(default="", max_length=200)
    # Filled into the escalation's facts when they were not recorded at start.
    agent_id: str | None = Field(default=None, max_length=200)
    trigger_types: list[str] = Field(default_factory=list, max_length=50)


class KbDraftInput(_Model):
    escalation_key: str = Field(pattern=KEY_PATTERN)
    ticket_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=300)
    problem: str = Field(default="", max_length=20000)
    resolution: str = Field(default="", max_length=20000)
    route: str = Field(default="", max_length=32)
    tags: list[str] = Field(default_factory=list, max_length=20)
    created_by: str = Field(default="system", max_length=200)


class MonthlyReportRequest(_Model):
    """Which month to report; empty means the month before the run (the schedule's case)."""

    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class MonthlyReportText(_Model):
    month: str
    title: str
    markdown: str
    text: str


class MonthlyReportPublished(_Model):
    month: str
    slack: str
    email: str
