"""The only module that knows table names: the warehouse's DDL and every table a stage touches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

EVENTS = "events"

EVENTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {EVENTS} (
    message_id VARCHAR NOT NULL,
    account_id INTEGER NOT NULL,
    account_external_id VARCHAR NOT NULL,
    contact_external_id VARCHAR,
    name VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    properties JSON,
    source VARCHAR NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    import_run_id INTEGER
)
"""

SCHEMA_DDL = (EVENTS_DDL,)

# Ground truth written by `tenure simulate` (only for simulated data sets).
SIM_TRUTH = "sim_truth"
SIM_ASSIGNMENTS = "sim_assignments"

# One churn feature table per as-of day: features_YYYYMMDD.
FEATURE_TABLE_PREFIX = "features_"


def feature_table_name(as_of: date) -> str:
    """Return the warehouse table holding the churn features of one as-of day."""
    return f"{FEATURE_TABLE_PREFIX}{as_of:%Y%m%d}"


# --- what the pipeline stages read and write --------------------------------------------------

Store = Literal["warehouse", "app", "registry"]


@dataclass(frozen=True)
class Dataset:
    """A table a pipeline stage reads or writes, where it lives, and who fills it.

    `source` marks data filled from outside the pipeline (imports, the API, the dashboard,
    `tenure model train`); every other dataset is written by a stage.
    """

    name: str
    store: Store
    source: bool = False

    def __str__(self) -> str:
        return f"{self.store}.{self.name}"


# Sources: imports, the event API, staff in the dashboard, model training.
EVENT_INBOX = Dataset("event_inbox", "app", source=True)
ACCOUNTS = Dataset("account", "app", source=True)
CONTACTS = Dataset("contact", "app", source=True)
IDENTITY_LINKS = Dataset("identity_link", "app", source=True)
SUBSCRIPTIONS = Dataset("subscription", "app", source=True)
INVOICES = Dataset("invoice", "app", source=True)
TICKETS = Dataset("ticket", "app", source=True)
SURVEY_RESPONSES = Dataset("survey_response", "app", source=True)
MARKETING_SPEND = Dataset("marketing_spend", "app", source=True)
SCORECARDS = Dataset("scorecard", "app", source=True)
SEGMENTS = Dataset("segment", "app", source=True)
ALERT_RULES = Dataset("alert_rule", "app", source=True)
EXPERIMENTS = Dataset("experiment", "app", source=True)
EXPERIMENT_EXPOSURES = Dataset("experiment_exposure", "app", source=True)
LOYALTY_PROGRAMS = Dataset("loyalty_program", "app", source=True)
CHURN_MODEL = Dataset("churn@champion", "registry", source=True)
# Logs the retention stage expires (filled by imports and every audited action).
IMPORT_RUNS = Dataset("import_run", "app", source=True)
QUARANTINED_ROWS = Dataset("quarantined_row", "app", source=True)
AUDIT_LOG = Dataset("audit_log", "app", source=True)
JOURNEYS = Dataset("journey", "app", source=True)
MESSAGE_TEMPLATES = Dataset("message_template", "app", source=True)
CONTACT_CONSENT = Dataset("contact_consent", "app", source=True)
SUPPRESSIONS = Dataset("suppression", "app", source=True)

# Written by the stages (the warehouse tables, then the app-DB serving tables).
WAREHOUSE_EVENTS = Dataset(EVENTS, "warehouse")
EVENTS_DAILY = Dataset("events_daily", "warehouse")  # raw events past retention, rolled up
CHURN_FEATURES = Dataset(f"{FEATURE_TABLE_PREFIX}YYYYMMDD", "warehouse")
CHURN_SCORES = Dataset("churn_score", "app")
METRICS_MONTHS = Dataset("metrics_month", "app")
METRICS_SNAPSHOTS = Dataset("metrics_snapshot", "app")
HEALTH_SCORES = Dataset("health_score", "app")
SCORE_HISTORY = Dataset("score_history", "warehouse")  # day-partitioned Parquet of both scores
SCORE_WEEKS = Dataset("score_week", "app")
HEALTH_REFERENCES = Dataset("health_reference", "app")
USAGE_BASE = Dataset("usage_base", "app")
SEGMENT_MEMBERSHIPS = Dataset("segment_membership", "app")
EXPERIMENT_METRIC_SUMMARIES = Dataset("experiment_metric_summary", "app")
ALERTS = Dataset("alert", "app")
ALERT_HISTORY = Dataset("alert_history", "app")
ALERT_DELIVERIES = Dataset("alert_delivery", "app")
RECENT_EVENTS = Dataset("account_recent_event", "app")
EVENT_DAILY_COUNTS = Dataset("account_event_daily", "app")
PLAYS = Dataset("play", "app", source=True)
PLAY_RUNS = Dataset("play_run", "app")
CSM_TASKS = Dataset("csm_task", "app")
JOURNEY_ENROLLMENTS = Dataset("journey_enrollment", "app")
JOURNEY_STEP_RUNS = Dataset("journey_step_run", "app")
MESSAGES = Dataset("message", "app")
LOYALTY_ENROLMENTS = Dataset("loyalty_enrolment", "app")
LOYALTY_LEDGER = Dataset("loyalty_movement", "app")  # with its entries, lots and wallets
LOYALTY_BADGES = Dataset("loyalty_badge_award", "app")
# streaks, challenge progress, contact scores and tier changes
LOYALTY_ENGAGEMENT = Dataset("loyalty_streak", "app")
RISKS = Dataset("risk", "app")  # with its history

# An account's records in the app DB: what features, health, segments and alerts read of it.
ACCOUNT_RECORDS: tuple[Dataset, ...] = (
    ACCOUNTS,
    SUBSCRIPTIONS,
    INVOICES,
    TICKETS,
    SURVEY_RESPONSES,
)

DATASETS: tuple[Dataset, ...] = (
    EVENT_INBOX,
    ACCOUNTS,
    CONTACTS,
    IDENTITY_LINKS,
    SUBSCRIPTIONS,
    INVOICES,
    TICKETS,
    SURVEY_RESPONSES,
    MARKETING_SPEND,
    SCORECARDS,
    SEGMENTS,
    ALERT_RULES,
    EXPERIMENTS,
    EXPERIMENT_EXPOSURES,
    CHURN_MODEL,
    WAREHOUSE_EVENTS,
    EVENTS_DAILY,
    CHURN_FEATURES,
    CHURN_SCORES,
    METRICS_MONTHS,
    METRICS_SNAPSHOTS,
    HEALTH_SCORES,
    SCORE_HISTORY,
    SCORE_WEEKS,
    HEALTH_REFERENCES,
    USAGE_BASE,
    SEGMENT_MEMBERSHIPS,
    EXPERIMENT_METRIC_SUMMARIES,
    ALERTS,
    ALERT_HISTORY,
    ALERT_DELIVERIES,
    RECENT_EVENTS,
    EVENT_DAILY_COUNTS,
    PLAYS,
    PLAY_RUNS,
    CSM_TASKS,
    IMPORT_RUNS,
    QUARANTINED_ROWS,
    AUDIT_LOG,
    JOURNEYS,
    MESSAGE_TEMPLATES,
    CONTACT_CONSENT,
    SUPPRESSIONS,
    JOURNEY_ENROLLMENTS,
    JOURNEY_STEP_RUNS,
    MESSAGES,
    LOYALTY_PROGRAMS,
    LOYALTY_ENROLMENTS,
    LOYALTY_LEDGER,
    LOYALTY_BADGES,
    LOYALTY_ENGAGEMENT,
    RISKS,
)
