"""record_events stores events durably and once; the warehouse sync moves them idempotently."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tenure.accounts.models import Account
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.events.models import InboxEvent
from tenure.events.schemas import EventIn
from tenure.events.service import record_events, sync_inbox
from tenure.warehouse.connection import open_warehouse

T0 = datetime(2025, 5, 1, 9, 30, tzinfo=UTC)


def _account(engine, external_id: str) -> None:
    with session_scope(engine) as session:
        session.add(
            Account(external_id=external_id, name=external_id, created_at=T0, attributes={})
        )


def _record(engine, batch):
    with session_scope(engine) as session:
        return record_events(batch, db_session=session, login_events=["login"])


def _events(settings) -> list[tuple]:
    with open_warehouse(settings, read_only=True) as warehouse:
        return warehouse.con.execute(
            "SELECT message_id, account_external_id, name, epoch(ts), properties::VARCHAR"
            " FROM events ORDER BY message_id"
        ).fetchall()


@pytest.mark.usefixtures("frozen_clock")
def test_duplicate_message_ids_are_accepted_once(any_settings, any_engine):
    _account(any_engine, "a1")
    batch = [
        {"message_id": "m1", "account_id": "a1", "event": "login", "timestamp": T0},
        {"message_id": "m1", "account_id": "a1", "event": "login", "timestamp": T0},
        {"message_id": "m2", "account_id": "a1", "event": "export", "timestamp": "2025-05-01"},
    ]
    assert _record(any_engine, batch).accepted == 2
    again = _record(any_engine, batch)
    assert (again.accepted, again.duplicates) == (0, 3)
    with any_engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(InboxEvent)) == 2


def test_message_id_is_derived_deterministically_from_the_content():
    first = EventIn(account_id="a1", event="login", timestamp=T0, properties={"b": 1, "a": 2})
    same = EventIn(account_id="a1", event="login", timestamp=T0, properties={"a": 2, "b": 1})
    other = EventIn(account_id="a1", event="login", timestamp=T0, properties={"a": 3})
    assert first.resolved_message_id() == same.resolved_message_id()
    assert first.resolved_message_id() != other.resolved_message_id()
    assert first.resolved_message_id().startswith("gen-")


def test_naive_timestamps_are_utc():
    event = EventIn(account_id="a1", event="x", timestamp="2025-05-01T09:30:00")
    assert event.timestamp == T0


def test_invalid_items_name_item_and_field_and_nothing_is_recorded(engine):
    batch = [
        {"account_id": "a1", "event": "ok", "timestamp": T0},
        {"account_id": "", "event": "x", "timestamp": "not a time"},
    ]
    with pytest.raises(InputError) as error:
        _record(engine, batch)
    assert "item 1, field account_id" in str(error.value)
    assert "item 1, field timestamp" in str(error.value)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(InboxEvent)) == 0


def test_deep_or_large_properties_name_item_and_field_and_nothing_is_recorded(engine):
    deep: dict = {"leaf": 1}
    for _ in range(40):
        deep = {"a": deep}
    batch = [
        {"account_id": "a1", "event": "ok", "timestamp": T0, "properties": {"a": [[1]]}},
        {
            "message_id": "m-deep",
            "account_id": "a1",
            "event": "x",
            "timestamp": T0,
            "properties": deep,
        },
        {"account_id": "a1", "event": "x", "timestamp": T0, "properties": {"x": "y" * 40_000}},
    ]
    with pytest.raises(InputError) as error:
        _record(engine, batch)
    assert "item 1, field properties of message m-deep: nested more than 32 levels" in str(
        error.value
    )
    assert "item 2, field properties: 40,008 bytes as JSON; at most 32,768" in str(error.value)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(InboxEvent)) == 0


def test_recording_returns_the_accounts_whose_usage_moved(engine):
    _account(engine, "a1")
    batch = [
        {"message_id": "k1", "account_id": "a1", "event": "login", "timestamp": T0},
        {"message_id": "k2", "account_id": "unknown", "event": "login", "timestamp": T0},
    ]
    with engine.connect() as conn:
        a1 = conn.scalar(sa.select(Account.id).where(Account.external_id == "a1"))
    assert _record(engine, batch).touched_accounts == {a1}
    assert _record(engine, batch).touched_accounts == frozenset()  # duplicates move nothing


@pytest.mark.usefixtures("frozen_clock")
def test_sync_moves_known_accounts_and_is_idempotent(any_settings, any_engine):
    _account(any_engine, "a1")
    _record(
        any_engine,
        [
            {
                "message_id": "m1",
                "account_id": "a1",
                "event": "login",
                "timestamp": T0,
                "properties": {"plan": "pro"},
            },
            {"message_id": "m2", "account_id": "later", "event": "login", "timestamp": T0},
        ],
    )
    with open_warehouse(any_settings) as warehouse:
        first = sync_inbox(engine=any_engine, warehouse=warehouse)
        second = sync_inbox(engine=any_engine, warehouse=warehouse)
    assert (first.moved, first.waiting_for_account) == (1, 1)
    assert (second.moved, second.already_in_warehouse) == (0, 0)
    assert _events(any_settings) == [("m1", "a1", "login", T0.timestamp(), '{"plan": "pro"}')]

    _account(any_engine, "later")  # the account arrives: its waiting event moves
    with open_warehouse(any_settings) as warehouse:
        third = sync_inbox(engine=any_engine, warehouse=warehouse)
    assert (third.moved, third.waiting_for_account) == (1, 0)
    assert [row[0] for row in _events(any_settings)] == ["m1", "m2"]


@pytest.mark.usefixtures("frozen_clock")
def test_a_sync_interrupted_before_marking_does_not_duplicate(settings, engine):
    _account(engine, "a1")
    _record(engine, [{"message_id": "m1", "account_id": "a1", "event": "x", "timestamp": T0}])
    with open_warehouse(settings) as warehouse:
        sync_inbox(engine=engine, warehouse=warehouse)
    with session_scope(engine) as session:  # as if the process died before marking
        session.execute(sa.update(InboxEvent).values(synced_at=None))
    with open_warehouse(settings) as warehouse:
        again = sync_inbox(engine=engine, warehouse=warehouse)
    assert (again.moved, again.already_in_warehouse) == (0, 1)
    assert len(_events(settings)) == 1


def test_warehouse_sync_cli_prints_counts(cli, settings, engine):
    from tenure.cli.main import app

    _account(engine, "a1")
    _record(engine, [{"message_id": "m1", "account_id": "a1", "event": "x", "timestamp": T0}])
    result = cli.invoke(app, ["--data-dir", str(settings.data_dir), "warehouse", "sync"])
    assert result.exit_code == 0, result.output
    assert "1 events moved" in result.stdout
    assert "1 events in the warehouse" in result.stdout
