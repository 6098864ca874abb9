"""Settings of data retention and of the reports (ROI costs, risk thresholds, scorecard)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class RetentionAndReportSettings(BaseModel):
    """How long data is kept, and what the reports count (a part of `tenure.config.Settings`)."""

    audit_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Audit entries older than this are pruned (an anchor keeps the chain"
        " verifiable); unset keeps them all",
    )
    quarantine_retention_days: int | None = Field(
        default=90,
        ge=1,
        description="Quarantine CSVs and quarantined rows of imports older than this are"
        " deleted by the pipeline's retention stage; unset keeps them",
    )
    outbox_retention_days: int | None = Field(
        default=30,
        ge=1,
        description="Bodies and payloads of sent or failed outbox messages older than this are"
        " emptied by the retention stage; unset keeps them",
    )
    import_log_retention_days: int | None = Field(
        default=90,
        ge=1,
        description="Lines of imports/import.log older than this are dropped by the retention"
        " stage; unset keeps them",
    )
    raw_event_retention_months: int | None = Field(
        default=None,
        ge=1,
        description="Warehouse events older than this many months (from the start of the"
        " as-of month) are rolled up into events_daily and deleted by the retention stage;"
        " keep it above the churn model's training history; unset keeps them",
    )
    # reports: ROI costs, risk thresholds, scorecard targets (docs/reports.md)
    roi_tool_monthly_cost: float = Field(
        default=0.0, ge=0, description="Tenure's own monthly cost (hosting, upkeep), major units"
    )
    roi_email_cost: float = Field(
        default=0.0, ge=0, description="Cost of one journey email sent, reporting major units"
    )
    roi_horizon_days: int = Field(
        default=90, ge=7, le=730, description="Days after entry at which journeys and loyalty"
        " entrants' kept MRR is compared with their holdout",
    )  # fmt: skip
    risk_churn_probability: float = Field(
        default=0.3, gt=0, le=1, description="Churn probability from which an account is a risk"
    )
    risk_accounts_max: int = Field(
        default=50, ge=1, le=10_000, description="Most account risks open at once (by exposure)"
    )
    risk_source_stale_days: int = Field(
        default=3, ge=1, description="A data source with nothing newer than this is stale"
    )
    risk_bounce_rate: float = Field(
        default=0.05, gt=0, le=1, description="Bounce rate (30 days) above which mail is a risk"
    )
    risk_complaint_rate: float = Field(
        default=0.001, gt=0, le=1, description="Complaint rate (30 days) above which mail is a risk"
    )
    risk_csm_open_tasks: int = Field(
        default=40, ge=1, description="Open tasks per CSM above which the CSM is overloaded"
    )
    scorecard_targets: dict[str, list[float]] = Field(
        default_factory=dict,
        description="Success targets by criterion: [low, high] relative change, or [floor] for"
        " revenue_retention; merged over the defaults (tenure.reports.scorecard)",
    )
    scorecard_baseline_start: str | None = Field(
        default=None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="First month (YYYY-MM) of the baseline period; default: the months just"
        " before the programme started",
    )
    scorecard_period_months: int = Field(
        default=3, ge=1, le=24, description="Months in the baseline and in the current period"
    )

    @field_validator("scorecard_targets")
    @classmethod
    def _check_targets(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name, target in value.items():
            if len(target) not in (1, 2) or (len(target) == 2 and target[0] > target[1]):
                raise ValueError(
                    f"scorecard_targets.{name}: give [low, high] with low ≤ high, or [floor]"
                )
        return value
