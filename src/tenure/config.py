"""Settings from `tenure.toml` and `TENURE_*` environment variables (pydantic-settings)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tenure.config_reports import RetentionAndReportSettings
from tenure.errors import ConfigError
from tenure.money import ISO_4217

# Value of one unit of each currency in US dollars (fixed, illustrative early-2025 levels; the
# same table as tenure.metrics.currency.FX_RATES). Entries in settings add to or replace these.
DEFAULT_FX_RATES: dict[str, float] = {"USD": 1.0, "EUR": 1.035, "GBP": 1.247}


class AlertWebhook(BaseModel):
    """A generic webhook endpoint for alerts, signed with its own secret."""

    url: str
    secret: str


def _config_file() -> Path:
    """Return the TOML file to read: TENURE_CONFIG, else ./tenure.toml."""
    return Path(os.environ.get("TENURE_CONFIG", "tenure.toml"))


class Settings(BaseSettings, RetentionAndReportSettings):
    """Everything Tenure can be configured with; env wins over the TOML file."""

    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore")

    data_dir: Path = Field(default=Path(".tenure"), description="Where Tenure keeps its files")
    database_url: str | None = Field(default=None, description="App DB; SQLite in data_dir")
    redis_url: str | None = None
    live_channel: str = Field(
        default="tenure.live", description="Redis pub/sub channel of live dashboard updates"
    )
    pipeline_hour: int = Field(default=2, ge=0, le=23, description="UTC hour of the daily run")
    scheduler_lease_seconds: float = Field(
        default=120.0, gt=0, description="A pipeline lock not renewed for this long is taken over"
    )
    score_history_days: int = Field(
        default=90,
        ge=35,  # the 30-day health change reads the daily rows
        description="Daily scores kept in the app DB; older ones roll up weekly",
    )
    warehouse_url: str | None = Field(
        default=None,
        description="Where the warehouse stages compute: unset for the embedded DuckDB file, or"
        " spark://MASTER?events=PATH (e.g. spark://local[2]?events=/data/events, day-partitioned"
        " Parquet) to run the warehouse stages (features, metrics, health inputs, experiment"
        " metrics) on PySpark",
    )
    event_broker_url: str | None = Field(
        default=None,
        description="NATS JetStream URL (e.g. nats://127.0.0.1:4222): tracking publishes there"
        " and `tenure consume` stores; unset, tracking writes the inbox itself",
    )
    event_broker_stream: str = Field(default="TENURE_EVENTS", description="JetStream stream")
    event_broker_subject: str = Field(default="tenure.events", description="Subject published")
    event_broker_consumer: str = Field(default="tenure-consume", description="Durable consumer")
    event_broker_packing: Literal["request", "event"] = Field(
        default="request",
        description="One broker message per request (de-duplicated per event by the consumer)"
        " or one per event (Nats-Msg-Id = messageId)",
    )
    event_broker_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Longest wait for the broker's confirmation before a 503"
    )
    event_broker_retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After of a 503 when the broker is down"
    )
    event_broker_ack_wait_seconds: float = Field(
        default=30.0, gt=0, description="Redelivery delay of a fetched message not acknowledged"
    )
    reporting_currency: str = "USD"
    log_level: str = "WARNING"
    log_format: Literal["console", "json"] = "console"
    future_tolerance_seconds: int = Field(
        default=300, description="How far past now a timestamp may be before it is rejected"
    )
    import_memory_limit: str = Field(default="1GB", description="DuckDB memory cap for imports")
    inbox_unknown_account_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days an inbox event naming an unknown account waits before it is dropped",
    )
    recent_events_per_account: int = Field(
        default=50,
        ge=0,
        le=1000,
        description="Latest events per account the pipeline copies to the app DB for the 360",
    )
    recent_events_days: int = Field(
        default=90,
        ge=1,
        le=366,
        description="Days of events (and of daily counts per event name) in that serving copy",
    )
    fx_rates: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_FX_RATES),
        description="Fixed exchange rates: value of one unit of each currency in a common base"
        " (US dollars by default); merged over the defaults",
    )
    gross_margin: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Gross margin (fraction) for the CAC payback period and subscription CLV",
    )
    clv_discount_rate: float = Field(
        default=0.10, ge=0, le=1, description="Annual discount rate of subscription CLV"
    )

    # --- churn model and scoring ---
    churn_horizon_days: int = Field(default=90, description="Churn label horizon (30 or 90 days)")
    snapshot_frequency: Literal["weekly", "monthly"] = "monthly"
    churn_definition: Literal["auto", "subscription", "inactivity"] = Field(
        default="auto",
        description="What churn is: the end of paying subscriptions, a gap of inactivity_days"
        " without events, or auto (subscriptions for accounts that have them, else inactivity)",
    )
    inactivity_days: int = Field(
        default=30, ge=1, le=365, description="Days without events after which an account churned"
    )

    # --- health and alerts ---
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ca_file: Path | None = Field(
        default=None, description="CA bundle that signs the SMTP server's certificate (STARTTLS)"
    )
    smtp_domain_rate: float = Field(
        default=0.0,
        ge=0,
        description="Messages per second per recipient domain (token bucket, burst of one"
        " second's worth); a message over it waits for its turn. 0: no limit",
    )
    mail_from: str = "tenure@localhost"
    slack_webhook_url: str | None = None
    health_login_events: list[str] = Field(
        default_factory=lambda: ["login", "sign_in", "signed_in", "logged_in", "session_start"],
        description="Event names that count as a login for the login-recency health measure",
    )
    health_score_drop_points: float = Field(
        default=10.0, gt=0, description="A fall of this many points in a day is a score_drop"
    )
    health_refresh_delay_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Real-time health: wait this long after an account's first change before"
        " refreshing its score (coalesces bursts; queued changes survive a crash)",
    )
    alert_fallback_owner: str = Field(
        default="cs-team@localhost", description="Who gets alerts of accounts without a CSM"
    )
    alert_escalation_to: str | None = Field(
        default=None, description="Who hears of unacknowledged alerts (default: the fallback)"
    )
    alert_webhooks: dict[str, AlertWebhook] = Field(
        default_factory=dict, description="Signed webhook endpoints by name: {url, secret}"
    )
    alert_delivery_max_attempts: int = Field(default=6, ge=1)
    alert_delivery_backoff_seconds: float = Field(
        default=30.0, gt=0, description="First retry delay; doubles with each failed attempt"
    )
    delivery_batch_size: int = Field(
        default=200, ge=1, le=10_000, description="Outbox rows claimed per transaction"
    )
    alert_delivery_lease_seconds: int = Field(
        default=300, ge=1, description="After this, a delivery claimed by a dead worker is retried"
    )
    alert_digest_hour: int = Field(default=8, ge=0, le=23, description="UTC hour of the digest")
    alerts_daily_budget: int = Field(
        default=10,
        ge=0,
        le=10_000,
        description="Accounts with new alerts each CSM is told of at once per day (highest MRR at"
        " risk first); the rest wait for the daily digest",
    )
    play_map_file: Path | None = Field(
        default=None,
        description="Explanation → play mapping (TOML); the packaged one when unset",
    )
    alert_first_run_days: int = Field(
        default=7,
        ge=0,
        le=3650,
        description="A rule's first evaluation opens alerts only for conditions that started"
        " within this many days (older ones are backlog, counted, not alerted)",
    )

    # --- experiments ---
    holdout_fraction: float = Field(
        default=0.05,
        ge=0,
        le=0.5,
        description="Share of accounts in the persistent global holdout that no experiment,"
        " play or message touches (raising it only adds accounts; lowering it releases some)",
    )

    # --- journeys (messaging) ---
    journey_frequency_cap: int = Field(
        default=3, ge=1, le=100, description="Most journey emails a contact gets per window"
    )
    journey_frequency_days: float = Field(
        default=7, gt=0, le=90, description="The frequency cap's window, in days"
    )
    journey_quiet_hours: str | None = Field(
        default="21:00-08:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
        description="HH:MM-HH:MM in the contact's time zone when no journey email is sent",
    )
    journey_default_timezone: str = Field(
        default="UTC", description="Time zone of contacts without one (quiet hours, windows)"
    )

    experiment_metrics_file: Path | None = Field(
        default=None,
        description="TOML metric definitions for experiments (default: the packaged ones)",
    )

    # --- messaging: consent, unsubscribe, tracking ---
    message_consent_policy: dict[str, str] = Field(
        default_factory=lambda: {"marketing": "marketing", "transactional": ""},
        description="Consent a message purpose needs: purpose -> consent purpose ('' = none;"
        " transactional mail needs no marketing consent); unlisted purposes need their own",
    )
    mail_postal_address: str = Field(
        default="", description="The sender's postal address, printed in every email's footer"
    )
    mail_unsubscribe_mailto: str | None = Field(
        default=None,
        description="Mailbox for List-Unsubscribe's mailto: form (only the https link when unset)",
    )
    unsubscribe_token_days: int = Field(
        default=180, ge=1, le=3650, description="Days an unsubscribe/preference link stays valid"
    )
    tracking_machine_open_seconds: float = Field(
        default=2.0,
        ge=0,
        description="An open this soon after delivery is a machine open (scanner or proxy)",
    )
    mailgun_webhook_signing_key: str | None = Field(
        default=None, description="Mailgun's HTTP webhook signing key (bounces, complaints)"
    )
    mailgun_webhook_max_age_seconds: int = Field(
        default=900, ge=1, description="Older signed Mailgun timestamps are refused as replays"
    )

    # --- API, auth, dashboard ---
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str | None = Field(
        default=None, description="JWT/cookie signing key; generated into data_dir when unset"
    )
    access_token_minutes: int = 15
    refresh_token_days: int = 14
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_throttle_seconds: int = Field(default=300, ge=1, description="Login throttle window")
    login_throttle_per_address: int = Field(
        default=30, ge=1, description="Failed or pending logins per client address per window"
    )
    login_throttle_per_username: int = Field(
        default=10, ge=1, description="Failed or pending logins per username per window"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of TLS-terminating proxies whose X-Forwarded-Proto is believed",
    )
    signing_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        repr=False,
        description="JWT/cookie signing keys, newest first (env: comma-separated); the newest"
        " signs, the others still verify (a grace period for rotation); wins over secret_key",
    )
    signing_key_grace_hours: float = Field(
        default=24.0,
        ge=0,
        description="How long a key retired by `tenure secrets rotate --signing-key` (in"
        " data_dir/secret.key) still verifies tokens and session cookies",
    )
    secret_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        repr=False,
        description="Fernet keys that encrypt stored webhook and SMTP secrets, newest first"
        " (TENURE_SECRET_KEYS, comma-separated)",
    )
    stripe_webhook_secret: str | None = None
    max_request_bytes: int = Field(default=512_000, description="Largest accepted request body")
    secure_cookies: bool = True

    @field_validator("reporting_currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("signing_keys", "secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("fx_rates")
    @classmethod
    def _merge_fx_rates(cls, value: dict[str, float]) -> dict[str, float]:
        rates = dict(DEFAULT_FX_RATES)
        for code, rate in value.items():
            currency = code.strip().upper()
            if currency not in ISO_4217:
                raise ValueError(f"fx_rates: {code!r} is not an ISO 4217 currency code")
            if not rate > 0:
                raise ValueError(f"fx_rates: the rate of {currency} must be positive, not {rate}")
            rates[currency] = rate
        return rates

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read init kwargs, then env, then the TOML file."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @property
    def app_database_url(self) -> str:
        """Return the SQLAlchemy URL of the app DB."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tenure.db').resolve()}"

    @property
    def warehouse_path(self) -> Path:
        """Return the DuckDB warehouse file."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def imports_dir(self) -> Path:
        """Return the folder holding the import log and quarantine CSVs."""
        return self.data_dir / "imports"

    def ensure_data_dir(self) -> Path:
        """Create the data dir and its sub-folders if missing."""
        try:
            self.imports_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create data dir {self.data_dir}: {exc}") from exc
        return self.data_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
