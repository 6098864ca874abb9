"""MRR-based tiers: MRR in force (reporting currency) qualifies; promoted at once, demoted later."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tenure.accounts.models import Account, Subscription
from tenure.accounts.schemas import Money
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.loyalty import ledger
from tenure.loyalty.models import LoyaltyEnrolment, LoyaltyWallet
from tenure.loyalty.personalisation import loyalty_variables
from tenure.loyalty.program import parse_program
from tenure.loyalty.service import load_program
from tenure.loyalty.statements import account_summary
from tenure.loyalty.tiers import qualifying_points, review_tiers

from ..factories import add_account, add_subscription

PROGRAM = """
name = "mrr tiers"
point_value_minor = 1
approval_threshold = 10000
tier_review_months = 3
tier_basis = "mrr"
[[rules]]
key = "login"
event = "login"
points = 10
[[tiers]]
key = "member"
name = "Member"
qualifying_mrr = 0
[[tiers]]
key = "gold"
name = "Gold"
qualifying_mrr = 50000
[[tiers]]
key = "platinum"
name = "Platinum"
qualifying_mrr = 200000
"""
# 1 EUR = 1.25 USD here, so 1,000.00 EUR of MRR is 1,250.00 USD (125,000 minor units)
MONEY = Money("USD", {"USD": Decimal(1), "EUR": Decimal("1.25")})


def _tiers(engine) -> dict[int, str | None]:
    with session_scope(engine) as session:
        return dict(session.execute(sa.select(LoyaltyWallet.account_id, LoyaltyWallet.tier)).all())


def _book(engine, tmp_path) -> dict[str, int]:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    with session_scope(engine) as session:
        load_program(session, path)
        small, euro, big = (add_account(session) for _ in range(3))
        add_subscription(session, small, mrr=20_000)  # 200 USD: member
        add_subscription(session, euro, mrr=100_000, currency="EUR")  # 1,250 USD: gold
        add_subscription(session, big, mrr=250_000)  # 2,500 USD: platinum
        ids = {"small": small.id, "euro": euro.id, "big": big.id}
        ledger.ensure_wallets(session, ids.values())
        for account_id in ids.values():
            session.add(LoyaltyEnrolment(account_id=account_id, arm="member",
                                         enrolled_at=datetime(2025, 1, 1, tzinfo=UTC)))  # fmt: skip
    return ids


def test_tiers_follow_mrr_in_the_reporting_currency(engine, tmp_path, frozen_clock):
    ids = _book(engine, tmp_path)
    with session_scope(engine) as session:
        program = parse_program(tomllib.loads(PROGRAM), "test")
        assert review_tiers(session, program, date(2025, 6, 1), MONEY) == {"tier_changes": 3}
        assert qualifying_points(session, date(2025, 6, 1), list(ids.values())) == {}
    assert _tiers(engine) == {ids["small"]: "member", ids["euro"]: "gold", ids["big"]: "platinum"}
    with session_scope(engine) as session:  # the big account downgrades: 400 USD from June 10
        sub = session.scalars(
            sa.select(Subscription).where(Subscription.account_id == ids["big"])
        ).one()
        sub.ended_at = datetime(2025, 6, 10, tzinfo=UTC)
        big = session.get_one(Account, ids["big"])
        add_subscription(session, big, external_id="sub-down", mrr=40_000,
                         started_at=datetime(2025, 6, 10, tzinfo=UTC))  # fmt: skip
        small = session.scalars(
            sa.select(Subscription).where(Subscription.account_id == ids["small"])
        ).one()
        small.mrr = 60_000  # the small one grows past gold: promoted at once
    with session_scope(engine) as session:
        review_tiers(session, program, date(2025, 6, 15), MONEY)
    assert _tiers(engine)[ids["small"]] == "gold"
    assert _tiers(engine)[ids["big"]] == "platinum"  # no demotion before its review date
    with session_scope(engine) as session:
        review_tiers(session, program, date(2025, 9, 1), MONEY)  # the review date (3 months)
    assert _tiers(engine)[ids["big"]] == "member"


def test_summary_and_messages_show_the_mrr_gap(engine, tmp_path, frozen_clock):
    ids = _book(engine, tmp_path)
    with session_scope(engine) as session:
        program = parse_program(tomllib.loads(PROGRAM), "test")
        review_tiers(session, program, date(2025, 6, 30), MONEY)
        summary = account_summary(session, program, session.get_one(Account, ids["euro"]), MONEY)
        assert (summary["tier_basis"], summary["tier"]) == ("mrr", "gold")
        assert summary["qualifying_mrr"] == 125_000
        assert (summary["mrr_to_next_tier"], summary["points_to_next_tier"]) == (75_000, None)
        found = loyalty_variables(session, [ids["euro"]], date(2025, 6, 30), MONEY)[ids["euro"]]
        assert found["mrr_to_next_tier"] == 75_000 and found["next_tier"] == "platinum"


def test_an_mrr_basis_needs_qualifying_mrr_on_every_tier():
    text = PROGRAM.replace("qualifying_mrr = 50000", "qualifying_points = 500")
    with pytest.raises(InputError, match=r"tiers: every tier needs qualifying_mrr"):
        parse_program(tomllib.loads(text), "bad.toml")
    points = PROGRAM.replace('tier_basis = "mrr"\n', "")
    with pytest.raises(InputError, match=r"every tier needs qualifying_points"):
        parse_program(tomllib.loads(points), "bad.toml")
