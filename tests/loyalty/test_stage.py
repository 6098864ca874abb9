"""The loyalty stage: cool-downs, caps, first-time-only and facts in SQL; replay posts nothing."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime

import sqlalchemy as sa

from tenure.db.session import session_scope
from tenure.loyalty import ledger
from tenure.loyalty.membership import arm_of
from tenure.loyalty.models import (
    LoyaltyEnrolment,
    LoyaltyMovement,
    LoyaltyProgram,
    LoyaltyWallet,
)
from tenure.loyalty.program import parse_program
from tenure.loyalty.service import load_program
from tenure.loyalty.stage import enrolment_time, loyalty_points
from tenure.stage import StageContext

from ..factories import add_account, add_subscription, add_warehouse_events
from .conftest import assert_books_balance

PROGRAM = """
name = "test"
point_value_minor = 1
approval_threshold = 10000
holdout_fraction = 0.0
starts_on = 2025-06-02
[[rules]]
key = "login"
event = "login"
points = 10
cooldown_days = 7
[[rules]]
key = "shared"
event = "report_shared"
points = 25
max_per_month = 2
[[rules]]
key = "first_report"
event = "report_created"
points = 200
first_time_only = true
[[rules]]
key = "seats"
fact = "seats"
at_least = 20
points = 2000
first_time_only = true
[[tiers]]
key = "member"
name = "Member"
qualifying_points = 0
[[tiers]]
key = "gold"
name = "Gold"
qualifying_points = 2200
[[badges]]
key = "reporter"
name = "Reporter"
rule = "first_report"
"""


def _at(day: int, hour: int) -> datetime:
    return datetime(2025, 6, day, hour, tzinfo=UTC)


EVENTS = [
    ("m1", "login", _at(2, 9)), ("m2", "login", _at(2, 15)),  # one earning a day at most
    ("m3", "login", _at(5, 9)),  # 3 days after: cooling down
    ("m4", "login", _at(9, 8)), ("m5", "login", _at(9, 10)),  # 7 days after 2nd 09:00 is 10:00
    ("m6", "report_shared", _at(2, 10)), ("m7", "report_shared", _at(2, 11)),
    ("m8", "report_shared", _at(2, 12)), ("m9", "report_shared", _at(3, 9)),  # cap 2 a month
    ("m10", "report_created", _at(3, 9)), ("m11", "report_created", _at(6, 9)),  # once ever
    ("m12", "dashboard_viewed", _at(4, 9)),  # no rule
]  # fmt: skip


def _setup(settings, engine, tmp_path) -> int:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    with session_scope(engine) as session:
        account = add_account(session)
        add_subscription(session, account, quantity=25)
        load_program(session, path)
        account_id, external = account.id, account.external_id
    add_warehouse_events(settings, account_id, external, [(m, n, t, None) for m, n, t in EVENTS])
    return account_id


def _earned(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(LoyaltyMovement.rule, sa.func.sum(LoyaltyMovement.points))
            .where(LoyaltyMovement.kind == "earn")
            .group_by(LoyaltyMovement.rule)
        )
        return dict(rows.all())


def test_stage_applies_rules_and_replays_idempotently(settings, engine, tmp_path, frozen_clock):
    account = _setup(settings, engine, tmp_path)
    summary = loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    assert summary["days"] == 9 and summary["earnings"] == 6
    expected = {"login": 20, "shared": 50, "first_report": 200, "seats": 2000}
    assert _earned(engine) == expected
    with session_scope(engine) as session:  # forget the mark: the replay posts nothing new
        session.execute(sa.update(LoyaltyProgram).values(earned_through=None))
    again = loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    assert again["earnings"] == 0 and _earned(engine) == expected
    with session_scope(engine) as session:
        wallet = session.get_one(LoyaltyWallet, account)
        assert (wallet.balance, wallet.tier) == (2270, "gold")
        assert ledger.ledger_balance(session, account) == 2270
        assert_books_balance(session)


def test_day_by_day_equals_one_catch_up(settings, engine, tmp_path, frozen_clock):
    _setup(settings, engine, tmp_path)
    for day in range(2, 11):
        loyalty_points(StageContext(settings, engine, date(2025, 6, day)))
    assert _earned(engine) == {"login": 20, "shared": 50, "first_report": 200, "seats": 2000}


def test_stage_skips_without_a_programme(settings, engine):
    summary = loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    assert "no loyalty programme" in summary["skipped"]


def test_holdout_accounts_earn_nothing(settings, engine, tmp_path, frozen_clock):
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM.replace("holdout_fraction = 0.0", "holdout_fraction = 0.5"))
    program = parse_program(tomllib.loads(path.read_text()), "test")
    ids = [f"h-{i}" for i in range(40)]
    member = next(e for e in ids if arm_of(e, program, settings) == "member")
    held = next(e for e in ids if arm_of(e, program, settings) == "holdout")
    with session_scope(engine) as session:
        accounts = {e: add_account(session, e).id for e in (member, held)}
        load_program(session, path)
    for external, account_id in accounts.items():
        add_warehouse_events(
            settings, account_id, external, [(f"{external}-1", "login", _at(2, 9), None)]
        )
    summary = loyalty_points(StageContext(settings, engine, date(2025, 6, 2)))
    assert summary["enrolled"] == {"enrolled": 2, "members": 1, "holdout": 1}
    with session_scope(engine) as session:
        assert ledger.wallet_balance(session, accounts[member]) == 10
        assert session.get(LoyaltyWallet, accounts[held]) is None


def test_a_backfilled_run_enrols_on_its_as_of_day(settings, engine, tmp_path, frozen_clock):
    """Run as of 2025-03-01 while the clock reads 2025-06-30: enrolled_at is 2025-03-01."""
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    with session_scope(engine) as session:
        add_account(session)
        later = add_account(session, created_at=datetime(2025, 3, 2, 8, tzinfo=UTC)).id
        load_program(session, path)
    loyalty_points(StageContext(settings, engine, date(2025, 3, 1)))
    with session_scope(engine) as session:
        enrolled = session.scalars(sa.select(LoyaltyEnrolment.enrolled_at)).all()
    assert [at.date() for at in enrolled] == [date(2025, 3, 1)]  # not the account of 2 March
    loyalty_points(StageContext(settings, engine, date(2025, 3, 2)))
    with session_scope(engine) as session:
        assert session.get(LoyaltyEnrolment, later).enrolled_at.date() == date(2025, 3, 2)
    assert enrolment_time(frozen_clock.now().date()) == frozen_clock.now()  # today: now
