"""The app DB on SQLite and PostgreSQL: migrations, UTC round trips, constraints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError

from tenure.accounts.models import Account, Subscription
from tenure.db.migrate import alembic_config, migrate
from tenure.db.session import session_scope

TABLES = {
    "account",
    "contact",
    "subscription",
    "invoice",
    "ticket",
    "survey_response",
    "event_inbox",
    "identity_link",
    "import_run",
    "quarantined_row",
    "segment",
    "segment_membership",
    "marketing_spend",
    "experiment",
    "experiment_assignment",
    "experiment_exposure",
    "experiment_metric_summary",
}


def test_migrations_create_every_table_and_are_idempotent(any_engine):
    migrate(any_engine)  # a second run is a no-op
    assert set(sa.inspect(any_engine).get_table_names()) >= TABLES
    with any_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == _single_head()


def _single_head() -> str:
    """Return the migrations' one head, checking it is also the newest revision (one chain)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    heads = scripts.get_heads()
    assert len(heads) == 1, f"migrations branch: heads {heads}"
    assert heads[0] == max(s.revision for s in scripts.walk_revisions())
    return heads[0]


def test_times_are_stored_and_read_back_as_aware_utc(any_engine):
    plus_two = datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(any_engine) as session:
        session.add(Account(external_id="a1", name="Acme", created_at=plus_two, attributes={}))
    with session_scope(any_engine) as session:
        account = session.scalars(sa.select(Account)).one()
    assert account.created_at == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert account.created_at.tzinfo is not None


def test_naive_datetimes_are_refused(any_engine):
    naive = Account(external_id="a1", name="A", created_at=datetime(2025, 1, 1), attributes={})
    with (
        pytest.raises(sa.exc.StatementError, match="naive datetime"),
        session_scope(any_engine) as s,
    ):
        s.add(naive)


def test_external_ids_are_unique(any_engine):
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(IntegrityError), session_scope(any_engine) as session:
        session.add(Account(external_id="a1", name="A", created_at=now, attributes={}))
        session.add(Account(external_id="a1", name="B", created_at=now, attributes={}))
    with any_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM account")) == 0


def test_foreign_keys_are_enforced(any_engine):
    now = datetime(2025, 1, 1, tzinfo=UTC)
    subscription = Subscription(
        account_id=999,
        external_id="s1",
        plan="pro",
        status="active",
        mrr=100,
        currency="USD",
        quantity=1,
        billing_interval="month",
        started_at=now,
    )
    with pytest.raises(IntegrityError), session_scope(any_engine) as session:
        session.add(subscription)


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
