"""Migration 0002 on SQLite and PostgreSQL: segment tables, keys, cascade."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError

from tenure.accounts.models import Account
from tenure.db.migrate import alembic_config, migrate
from tenure.db.session import session_scope
from tenure.segments.models import Segment, SegmentMembership


def test_segment_tables_exist_at_head(any_engine):
    migrate(any_engine)
    inspector = sa.inspect(any_engine)
    assert {"segment", "segment_membership"} <= set(inspector.get_table_names())
    key = inspector.get_pk_constraint("segment_membership")["constrained_columns"]
    assert key == ["segment_id", "account_id", "as_of"]
    with any_engine.connect() as conn:
        version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_names_are_unique_and_membership_is_keyed_by_date(any_engine):
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with session_scope(any_engine) as s:
        account = Account(external_id="a1", name="A", created_at=now, attributes={})
        segment = Segment(name="big", rule="mrr > 1", kind="rule", created_at=now)
        s.add_all([account, segment])
        s.flush()
        for day in (date(2025, 1, 1), date(2025, 1, 2)):
            s.add(SegmentMembership(segment_id=segment.id, account_id=account.id, as_of=day))
    with pytest.raises(IntegrityError), session_scope(any_engine) as s:
        s.add(Segment(name="big", rule="mrr > 2", kind="rule", created_at=now))
    with session_scope(any_engine) as s:
        s.delete(s.scalars(sa.select(Account)).one())
    with any_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM segment_membership")) == 0
