"""The programme as data: the packaged one is valid; bad files name the file and field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.loyalty import ledger
from tenure.loyalty.models import LoyaltyWallet
from tenure.loyalty.program import DEFAULT_PROGRAM, load_program_file
from tenure.loyalty.tiers import review_tiers

from ..factories import add_account


def test_packaged_programme_is_valid_and_complete():
    program, _ = load_program_file(DEFAULT_PROGRAM)
    kinds = {r.kind for r in program.rewards}
    assert kinds == {"service_credit", "renewal_discount", "premium_support", "training", "swag"}
    assert {r.fact for r in program.rules if r.fact} >= {"seats", "health_score"}
    assert program.tier_for(0).key == "member" and program.tier_for(6500).key == "gold"
    assert program.next_tier("platinum") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = [", "not valid TOML"),
        ('name = "x"', "point_value_minor: Field required"),
        ('name = "x"\npoint_value_minor = 1\napproval_threshold = 1\n'
         '[[rules]]\nkey = "r"\npoints = 5\nevent = "a"\nfact = "seats"\nat_least = 1\n'
         '[[tiers]]\nkey = "t"\nname = "T"\nqualifying_points = 0',
         "rules[0]: Value error, give exactly one of 'event' or 'fact'"),
        ('name = "x"\npoint_value_minor = 1\napproval_threshold = 1\n'
         '[[rules]]\nkey = "r"\npoints = 5\nevent = "a"\n'
         '[[tiers]]\nkey = "t"\nname = "T"\nqualifying_points = 10',
         "qualifying_points must start at 0"),
    ],
)  # fmt: skip
def test_bad_programmes_name_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=r"p\.toml") as caught:
        load_program_file(path)
    assert message in str(caught.value)


def test_promotion_at_once_demotion_only_at_review(engine, frozen_clock):
    program, _ = load_program_file(DEFAULT_PROGRAM)
    earned = datetime(2024, 7, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        account = add_account(session).id
        ledger.post_earnings(session, [ledger.Earning(account, "referral", 7000, "r1", earned)], 12)
    with session_scope(engine) as session:
        review_tiers(session, program, date(2024, 7, 1))
        wallet = session.get_one(LoyaltyWallet, account)
        assert (wallet.tier, wallet.tier_review_on) == ("gold", date(2025, 7, 1))
    with session_scope(engine) as session:  # the points leave the 12-month window on 2025-07-01
        review_tiers(session, program, date(2025, 6, 30))
        assert session.get_one(LoyaltyWallet, account).tier == "gold"
        review_tiers(session, program, date(2025, 7, 1))
        assert session.get_one(LoyaltyWallet, account).tier == "member"
