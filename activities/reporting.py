"""Monthly report activities: build the report from the store, post it to Slack and email
through the vendor adapters (outbox mode without credentials, like every other message)."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.adapters.registry import Adapters
from escalation.closing import (
    BUILD_MONTHLY_REPORT,
    PUBLISH_MONTHLY_REPORT,
    MonthlyReportPublished,
    MonthlyReportRequest,
    MonthlyReportText,
)
from escalation.settings import Settings
from store.analytics.period import previous_month
from store.analytics.render import TITLE, render_markdown, render_text
from store.analytics.report import build_monthly_report

SLACK_LIMIT = 35_000


class ReportingActivities:
    def __init__(
        self, sessions: sessionmaker[Session], adapters: Adapters, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._adapters = adapters
        self._settings = settings

    @activity.defn(name=BUILD_MONTHLY_REPORT)
    async def build_monthly_report(self, request: MonthlyReportRequest) -> MonthlyReportText:
        month = request.month or previous_month(activity.info().current_attempt_scheduled_time)

        def build() -> MonthlyReportText:
            with self._sessions() as session:
                report = build_monthly_report(session, month)
            return MonthlyReportText(
                month=month,
                title=f"{TITLE}: {month}",
                markdown=render_markdown(report),
                text=render_text(report),
            )

        return await asyncio.to_thread(build)

    @activity.defn(name=PUBLISH_MONTHLY_REPORT)
    async def publish_monthly_report(self, report: MonthlyReportText) -> MonthlyReportPublished:
        """Post to the leadership Slack channel and email the text version. Idempotency keys
        carry the month, so a retried activity does not post twice through the outbox."""
        key = f"monthly-report:{report.month}"
        link = f"{self._settings.escalation_public_url}/v1/reports/monthly?month={report.month}"
        slack_text = report.markdown[:SLACK_LIMIT] + f"\n\nFull report: {link}"
        slack = await self._adapters.slack.post_message(
            channel=self._settings.escalation_report_slack_channel,
            text=slack_text,
            blocks=None,
            idempotency_key=f"{key}:slack",
        )
        email = await self._adapters.email.send(
            to=[self._settings.escalation_report_email],
            subject=report.title,
            body=report.text + f"\nFull report: {link}\n",
            idempotency_key=f"{key}:email",
            escalation_id=key,
        )
        return MonthlyReportPublished(
            month=report.month,
            slack="delivered" if slack.delivered else "outbox",
            email="delivered" if email.delivered else "outbox",
        )
