"""Process configuration, read from the environment (names are part of the external contract).

Every vendor has a base URL (so tests and demos can point it at a local server) and the
credentials that make its adapter *live*. An adapter whose credentials are absent writes to
the outbox instead, so the dev default works offline and shows what would have been sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

STATE_DIR = Path(".escalation")
DEFAULT_POLICY_PATH = Path(__file__).resolve().parent.parent / "config" / "policy.yaml"


class Settings(BaseSettings):
    """All settings of one process. Instantiate once at start and pass it down."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    # Storage and Temporal
    database_url: str = Field(default=f"sqlite:///{STATE_DIR / 'escalation.db'}")
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "escalations"
    temporal_ui_url: str = "http://localhost:8233"
    escalation_policy: Path = DEFAULT_POLICY_PATH
    escalation_time_scale: float = 1.0
    escalation_api_keys: str = ""
    # Access and data protection (issue 5). The pepper keys the API key hashes: it lives outside
    # the database, so a dump alone verifies no key (`escalation dev` generates one under
    # .escalation/). Codec keys: `id:base64key,...`, first active (format in worker/codec.py).
    escalation_api_key_pepper: SecretStr | None = None
    escalation_codec_keys: SecretStr | None = None
    # Dev only (`escalation dev` sets it): the Temporal dev server's UI has no login and cannot
    # send a bearer token, so /codec accepts unauthenticated requests that come from loopback
    # with the Temporal UI's Origin. Never set it where the API is reachable from elsewhere.
    escalation_codec_trust_local_ui: bool = False
    # How long a dead worker's sticky queue holds its workflows before another worker takes
    # them (Temporal's default is 10 s; a restarted worker should resume P0 cadences quickly).
    escalation_sticky_timeout_seconds: float = 2.0
    # Largest request body the API accepts (413 above it); webhooks and intake are far smaller.
    escalation_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Watching the watchers (worker/watchdog.py): a Temporal Schedule runs the Watchdog
    # workflow on its own task queue every interval; it alerts by email/SMS when no worker
    # polls the escalations queue or a channel keeps failing.
    escalation_watchdog_interval_seconds: float = Field(default=300.0, ge=1.0)
    escalation_watchdog_task_queue: str = "watchdog"
    escalation_watchdog_stale_seconds: float = Field(default=90.0, gt=0)
    escalation_watchdog_window_seconds: float = Field(default=900.0, gt=0)
    escalation_watchdog_failure_threshold: int = Field(default=5, ge=1)
    escalation_watchdog_emails: str = ""  # comma-separated
    escalation_watchdog_phone: str | None = None  # E.164, for the SMS alert

    # Observability. The worker serves Prometheus metrics (the SDK's and ours) on this
    # host:port when set (e.g. 127.0.0.1:9464 or 0.0.0.0:9464 in a container); off by default.
    escalation_worker_metrics_address: str | None = None
    # JSON lines (production) or a human-readable console rendering (`escalation dev`).
    escalation_log_format: Literal["json", "console"] = "json"
    escalation_log_level: str = "INFO"
    # OpenTelemetry tracing through temporalio.contrib.opentelemetry: off by default. When
    # on, spans go to the OTLP endpoint in the standard OTEL_EXPORTER_OTLP_* variables.
    escalation_tracing: bool = False
    # Workflows a worker keeps in memory (its sticky cache). Chosen from bench/ measurements
    # (README "Benchmarks"): enough for the escalations whose steps are due soon, while
    # the memory of 10,000 open escalations stays well under 1 GiB.
    escalation_max_cached_workflows: int = Field(default=1000, ge=0)
    # Concurrent workflow-task polls of one worker (a fifth of them on the shared queue, where
    # every new escalation's first task waits; the rest on the worker's sticky queue). The
    # SDK default of 5 leaves one poll for new work, which capped a worker at ~16 new
    # escalations/s on the dev server (README "Benchmarks").
    escalation_workflow_task_polls: int = Field(default=20, ge=2)
    # Concurrent activity-task polls (most activities start eagerly with the workflow task
    # that schedules them; these take the rest: retries, and activities after a restart).
    escalation_activity_task_polls: int = Field(default=10, ge=1)
    # What one worker process runs. `all`: workflows and activities (dev, small sites).
    # `workflows`: workflow tasks and the local look-ups only; `activities`: vendor deliveries
    # and store writes only. Split, a timer that fires never waits behind activity work for
    # the process's one Python interpreter lock (README "Benchmarks").
    escalation_worker_role: Literal["all", "workflows", "activities"] = "all"
    # Close the loop (issue 6): survey links are HMAC-signed with this secret. Unset, a random
    # one is generated once and kept in .escalation/survey-secret (dev default).
    escalation_survey_secret: str | None = None
    escalation_survey_ttl_days: float = 14.0
    # Base URL people reach the API at (survey links in customer emails, report links).
    escalation_public_url: str = "http://127.0.0.1:8000"
    # Monthly report recipients (the Temporal Schedule posts on the 1st of each month).
    escalation_report_slack_channel: str = "#support-leadership"
    escalation_report_email: str = "support-leadership@example.com"

    # PagerDuty
    pagerduty_events_url: str = "https://events.pagerduty.com"
    pagerduty_routing_key: str | None = None
    pagerduty_webhook_secret: str | None = None
    # Opsgenie
    opsgenie_api_url: str = "https://api.opsgenie.com"
    opsgenie_api_key: str | None = None
    # Slack
    slack_api_url: str = "https://slack.com/api"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    # Jira
    jira_base_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    jira_project_key: str = "OPS"
    # Twilio
    twilio_api_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    # Statuspage
    statuspage_api_url: str = "https://api.statuspage.io/v1"
    statuspage_api_key: str | None = None
    statuspage_page_id: str | None = None
    # Help desks
    zendesk_base_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: str | None = None
    zendesk_webhook_secret: str | None = None
    intercom_access_token: str | None = None
    intercom_client_secret: str | None = None
    freshdesk_api_key: str | None = None
    freshdesk_webhook_secret: str | None = None
    # Help desks, outbound (issue 8). Zendesk Guide (knowledge base drafts) reuses the Zendesk
    # credentials and is live only with a section and a permission group to file drafts in.
    zendesk_guide_section_id: str | None = None
    zendesk_guide_permission_group_id: int | None = None
    zendesk_guide_locale: str = "en-us"
    freshdesk_base_url: str | None = None  # e.g. https://acme.freshdesk.com
    intercom_api_url: str = "https://api.intercom.io"
    intercom_admin_id: str | None = None  # the admin that authors notes (Intercom requires one)
    # Microsoft Teams: the webhook URL carries its own signature, so it is the credential.
    teams_webhook_url: str | None = None
    # Engineering trackers (issue 8)
    linear_api_url: str = "https://api.linear.app/graphql"
    linear_api_key: str | None = None
    linear_team_id: str | None = None
    github_api_url: str = "https://api.github.com"
    github_token: str | None = None
    github_repository: str | None = None  # "owner/repo"
    # CRM read adapters (issue 8): property/field names are portal- and org-specific.
    hubspot_api_url: str = "https://api.hubapi.com"
    hubspot_token: str | None = None
    hubspot_tier_property: str = "customer_tier"
    hubspot_arr_property: str = "arr"
    hubspot_health_property: str = "health_score"
    hubspot_csm_property: str = "customer_success_manager"
    salesforce_instance_url: str | None = None  # e.g. https://acme.my.salesforce.com
    salesforce_token: str | None = None
    salesforce_api_version: str = "v61.0"
    salesforce_tier_field: str = "Tier__c"
    salesforce_arr_field: str = "ARR__c"
    salesforce_health_field: str = "Health_Score__c"
    salesforce_csm_field: str = "CSM__c"
    crm_timeout_seconds: float = 2.0
    crm_cache_ttl_seconds: float = 300.0
    # War room bridge link, e.g. "https://zoom.us/j/{room}" ({room}, {ticket}, {escalation})
    escalation_bridge_url_template: str | None = None
    # SMTP: live when SMTP_HOST is set
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "escalations@localhost"

    @field_validator("escalation_time_scale")
    @classmethod
    def _positive_scale(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("ESCALATION_TIME_SCALE must be a positive number, e.g. 1.0 or 0.01")
        return value

    @field_validator("crm_timeout_seconds", "crm_cache_ttl_seconds")
    @classmethod
    def _non_negative_crm(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be zero or a positive number of seconds")
        return value

    @field_validator("github_repository")
    @classmethod
    def _owner_slash_repo(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            owner, sep, repo = value.strip().partition("/")
            if not sep or not owner or not repo or "/" in repo:
                raise ValueError("GITHUB_REPOSITORY must look like 'owner/repo'")
            return value.strip()
        return None

    @field_validator("escalation_bridge_url_template")
    @classmethod
    def _bridge_template(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        # Imported here: escalation.bridge is a leaf module, but settings must stay cheap.
        from escalation.bridge import check_bridge_template

        return check_bridge_template(value.strip())

    def api_key_pepper_bytes(self) -> bytes | None:
        """The pepper for API key hashes, or None when it is not configured."""
        if self.escalation_api_key_pepper is None:
            return None
        value = self.escalation_api_key_pepper.get_secret_value()
        return value.encode("utf-8") if value else None

    def live_adapters(self) -> dict[str, bool]:
        """Which vendor adapters will really send (True) and which write to the outbox."""
        return {
            "pagerduty": bool(self.pagerduty_routing_key),
            "opsgenie": bool(self.opsgenie_api_key),
            "slack": bool(self.slack_bot_token),
            "jira": bool(self.jira_base_url and self.jira_email and self.jira_api_token),
            "email": bool(self.smtp_host),
            "sms": bool(
                self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number
            ),
            "statuspage": bool(self.statuspage_api_key and self.statuspage_page_id),
            "zendesk": bool(
                self.zendesk_base_url and self.zendesk_email and self.zendesk_api_token
            ),
            "zendesk_guide": bool(
                self.zendesk_base_url
                and self.zendesk_email
                and self.zendesk_api_token
                and self.zendesk_guide_section_id
                and self.zendesk_guide_permission_group_id is not None
            ),
            "freshdesk": bool(self.freshdesk_base_url and self.freshdesk_api_key),
            "intercom": bool(self.intercom_access_token and self.intercom_admin_id),
            "teams": bool(self.teams_webhook_url),
            "linear": bool(self.linear_api_key and self.linear_team_id),
            "github": bool(self.github_token and self.github_repository),
            "hubspot": bool(self.hubspot_token),
            "salesforce": bool(self.salesforce_instance_url and self.salesforce_token),
        }
