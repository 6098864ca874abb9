"""A seeded account for template tests: plan, MRR, health reasons, churn drivers, usage."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tenure.events.models import EventDailyCounts

from ..factories import (
    add_account,
    add_churn_score,
    add_contact,
    add_health_score,
    add_subscription,
)

MEASURES = {
    "login_recency": {"value": 21.0, "score": 12.0, "weight": 0.3, "points": 3.6, "missing": False},
    "usage_breadth": {"value": 2.0, "score": 40.0, "weight": 0.3, "points": 12.0, "missing": False},
    "support_load": {"value": 0.0, "score": 95.0, "weight": 0.2, "points": 19.0, "missing": False},
    "nps": {"value": None, "score": None, "weight": 0.2, "points": 0.0, "missing": True},
}
DRIVERS = [
    ["ev_report_viewed_trend", 0.4, 0.21],
    ["days_since_last_event", 21.0, 0.12],
    ["seats", 12.0, -0.05],
]


def seed_account(session, name="Acme & Co"):
    """Add an at-risk annual account with a contact, scores and 30 days of usage."""
    account = add_account(
        session, name=name, owner="Cara CSM", created_at=datetime(2024, 8, 1, tzinfo=UTC)
    )
    add_subscription(
        session,
        account,
        plan="growth",
        mrr=125_050,
        billing_interval="year",
        started_at=account.created_at,
    )
    contact = add_contact(session, account, name="Ada Lovelace", email="ada@acme.io", role="admin")
    add_health_score(session, account, score=38.4, tier="red", measures=MEASURES, reason="x")
    add_churn_score(session, account, probability=0.42, risk_tier="high", reasons=DRIVERS)
    day = date(2025, 6, 20).isoformat()
    old = date(2025, 4, 1).isoformat()
    session.add_all(
        [
            EventDailyCounts(account_id=account.id, name="login", counts={day: 3}, total=3),
            EventDailyCounts(account_id=account.id, name="export_run", counts={day: 2}, total=2),
            EventDailyCounts(account_id=account.id, name="report_viewed", counts={old: 5}, total=5),
        ]
    )
    session.flush()
    return account, contact
