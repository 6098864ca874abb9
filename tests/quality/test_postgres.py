"""The same gathering on PostgreSQL gives the same scores as on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine
from tenure.quality.flows import build_quality_report


@pytest.fixture
def pg_settings(pg_url: str, tmp_path) -> Settings:
    """Return settings whose app DB is a fresh PostgreSQL schema (`pg_url`, tests/conftest.py)."""
    return Settings(data_dir=tmp_path / "pg", database_url=pg_url)


def seed(factory) -> None:
    """Write a small data set that trips every kind of check."""
    days_ago = factory.days_ago
    account = factory.account(industry=None)
    other = factory.account(created_at=days_ago(90))
    for i in range(10):
        factory.ticket(account, priority="" if i < 2 else "high", opened_at=days_ago(14 + i))
    contact = factory.contact(other, email="nobody")
    factory.ticket(other, contact_id=contact.id, opened_at=days_ago(40), closed_at=days_ago(50))
    factory.subscription(account, started_at=days_ago(300))
    factory.subscription(account, started_at=days_ago(100))
    factory.subscription(other, started_at=days_ago(50), ended_at=days_ago(60))
    factory.invoice(account, paid_at=days_ago(20))
    for kind, score in (("NPS", 11), ("CSAT", 3)):
        factory.survey(account, kind=kind, score=score)
    factory.import_run(path="a.csv", rows_read=10, rows_quarantined=5, started_at=days_ago(3))
    factory.import_run([("priority", "blank")], path="a.csv", rows_read=10, rows_quarantined=1)
    factory.events(
        *({"message_id": f"m{i}", "account_id": account.id if i else 999} for i in range(4)),
        {"message_id": "m1", "account_id": other.id, "source": "file", "ts": days_ago(3)},
    )


def scores(engine: Engine, settings: Settings) -> dict[tuple, float | None]:
    """Return the score of every check, keyed by table, check, source and rule."""
    report = build_quality_report(engine=engine, settings=settings)
    return {(c.table, c.check, c.source, c.rule): c.score for c in report.checks} | {
        ("overall",): report.overall_score
    }


@pytest.mark.postgres
def test_postgres_gathering_matches_sqlite(pg_settings, factory, settings, frozen_clock):
    pg_engine = get_engine(pg_settings)
    try:
        migrate(pg_engine)
        seed(type(factory)(pg_engine, pg_settings, factory.now))  # the same factory, on PostgreSQL
        on_postgres = scores(pg_engine, pg_settings)
    finally:
        pg_engine.dispose()
    seed(factory)
    on_sqlite = scores(factory.engine, settings)

    assert on_postgres.keys() == on_sqlite.keys()
    for key, value in on_sqlite.items():
        assert on_postgres[key] == pytest.approx(value), key
    assert on_postgres["ticket", "completeness", None, None] == pytest.approx(100 * 9 / 11)
    assert on_postgres["ticket", "consistency", None, None] == pytest.approx(100 * 10 / 11)
    assert on_postgres["ticket", "validity", "tickets", None] == 90.0
    assert on_postgres["subscription", "consistency", None, None] == 0.0
    assert on_postgres["survey_response", "consistency", None, None] == 50.0
    assert on_postgres["events", "referential", "segment", "account exists"] == 75.0
    # Newest ticket 14 days old against a 7-day cadence: 100 × (4 − 2) / 3.
    assert on_postgres["ticket", "freshness", None, None] == pytest.approx(200 / 3)
