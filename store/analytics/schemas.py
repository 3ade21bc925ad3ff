"""Result models of the analytics queries: the JSON of /v1/dashboard and the monthly report."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from store.analytics.period import Period
from store.analytics.targets import Targets


class Count(BaseModel):
    key: str
    count: int
    previous: int
    change_pct: float | None = Field(description="change from the previous period, in %")


class Volume(BaseModel):
    total: int
    previous_total: int
    change_pct: float | None
    by_severity: list[Count]
    by_trigger: list[Count]


class TimePoint(BaseModel):
    start: datetime
    counts: dict[str, int]


class VolumeOverTime(BaseModel):
    bucket_seconds: int
    points: list[TimePoint]


class PriorityTimes(BaseModel):
    priority: str
    escalations: int
    acknowledged: int
    ack_avg_seconds: float | None
    ack_target_seconds: float | None
    ack_within_target: int
    ack_status: str
    resolved: int
    resolution_avg_seconds: float | None
    resolution_target_seconds: float | None
    resolution_within_target: int
    resolution_status: str


class Outcomes(BaseModel):
    escalations: int
    resolved: int
    resolution_rate: float | None
    csat_avg: float | None
    csat_responses: int
    csat_satisfied_share: float | None = Field(description="share of 4 and 5 answers")
    surveys_sent: int
    survey_response_rate: float | None
    reopened: int
    reopen_rate: float | None
    reviewed: int
    unnecessary: int
    unnecessary_share: float | None
    preventable: int
    kb_drafts: int
    knowledge_capture_rate: float | None = Field(description="KB drafts per resolved escalation")


class RoutePerformance(BaseModel):
    route: str
    escalations: int
    resolved: int
    resolution_rate: float | None
    resolution_avg_seconds: float | None
    csat_avg: float | None


class AgentRate(BaseModel):
    agent_id: str
    team: str
    escalations: int
    handled: int | None
    rate: float | None = Field(description="escalations per handled ticket")
    team_rate: float | None
    team_avg_escalations: float
    reviewed: int
    unnecessary: int
    unnecessary_share: float | None
    flags: list[str]


class Reason(BaseModel):
    reason: str
    escalations: int
    share: float
    preventable: int
    top_gap: str | None
    opportunity: str


class OnCallHealth(BaseModel):
    team: str
    pages: int
    paged_escalations: int
    acked_within_target: int
    acked_within_share: float | None
    ack_avg_seconds: float | None
    false_alerts: int
    primary: str | None = None
    secondary: str | None = None
    next_handoff: datetime | None = None


class ActiveEscalation(BaseModel):
    key: str
    ticket_id: str
    priority: str
    status: str
    route: str
    team: str
    assignee: str | None
    subject: str
    customer_name: str
    customer_tier: str
    started_at: datetime
    age_seconds: float
    acknowledged_at: datetime | None
    bounces: int
    temporal_ui_url: str


class Active(BaseModel):
    total: int
    by_priority: dict[str, int]
    items: list[ActiveEscalation]
    temporal_running: int | None = Field(
        default=None, description="running escalation workflows in Temporal visibility"
    )


class Dashboard(BaseModel):
    generated_at: datetime
    period: Period
    previous: Period
    team: str | None
    teams: list[str]
    targets: Targets
    active: Active
    volume: Volume
    over_time: VolumeOverTime
    times: list[PriorityTimes]
    outcomes: Outcomes
    routes: list[RoutePerformance]
    agents: list[AgentRate]
    reasons: list[Reason]
    oncall: list[OnCallHealth]
