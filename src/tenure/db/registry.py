"""Import every model module so Base.metadata knows all tables (for Alembic)."""

from tenure.accounts import models as accounts_models
from tenure.alerts import models as alerts_models
from tenure.auth import models as auth_models
from tenure.churn import models as churn_models
from tenure.db.base import Base
from tenure.events import models as events_models
from tenure.experiments import models as experiments_models
from tenure.health import models as health_models
from tenure.history import models as history_models
from tenure.ingest import models as ingest_models
from tenure.loyalty import contact_models as loyalty_contact_models
from tenure.loyalty import engagement_models as loyalty_engagement_models
from tenure.loyalty import models as loyalty_models
from tenure.messaging import models as messaging_models
from tenure.messaging import provider_models as messaging_provider_models
from tenure.messaging import template_models as messaging_template_models
from tenure.metrics import models as metrics_models
from tenure.plays import models as plays_models
from tenure.privacy import models as privacy_models
from tenure.reports import models as reports_models
from tenure.reports.scheduled import models as reports_scheduled_models
from tenure.scheduler import models as scheduler_models
from tenure.segments import models as segments_models
from tenure.warehouse import models as warehouse_models

__all__ = [
    "Base",
    "accounts_models",
    "alerts_models",
    "auth_models",
    "churn_models",
    "events_models",
    "experiments_models",
    "health_models",
    "history_models",
    "ingest_models",
    "loyalty_contact_models",
    "loyalty_engagement_models",
    "loyalty_models",
    "messaging_models",
    "messaging_provider_models",
    "messaging_template_models",
    "metrics_models",
    "plays_models",
    "privacy_models",
    "reports_models",
    "reports_scheduled_models",
    "scheduler_models",
    "segments_models",
    "warehouse_models",
]
