"""The loyalty stage's engagement: challenge points once, streak and challenge badges, tiers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from tenure.accounts.models import Account, Contact
from tenure.db.session import session_scope
from tenure.loyalty.engagement_models import (
    LoyaltyChallengeProgress,
    LoyaltyContactScore,
    LoyaltyStreak,
    LoyaltyTierChange,
)
from tenure.loyalty.leaderboard import account_leaderboard, set_opt_in
from tenure.loyalty.models import (
    LoyaltyBadgeAward,
    LoyaltyEnrolment,
    LoyaltyMovement,
    LoyaltyWallet,
)
from tenure.loyalty.personalisation import loyalty_variables
from tenure.loyalty.service import load_program, require_program
from tenure.loyalty.stage import loyalty_points
from tenure.loyalty.statements import account_summary
from tenure.stage import StageContext

from ..factories import add_account, add_contact, add_warehouse_events
from .conftest import assert_books_balance

PROGRAM = """
name = "test"
point_value_minor = 1
approval_threshold = 10000
holdout_fraction = 0.0
starts_on = 2025-06-02
[[rules]]
key = "share"
event = "report_shared"
points = 25
[[tiers]]
key = "member"
name = "Member"
qualifying_points = 0
[[tiers]]
key = "silver"
name = "Silver"
qualifying_points = 500
[[badges]]
key = "steady"
name = "Steady"
streak_weeks = 3
[[badges]]
key = "sharer"
name = "Sharer"
challenge = "share-three"
[[challenges]]
key = "share-three"
name = "Share three reports"
starts_on = 2025-06-02
ends_on = 2025-06-30
events = ["report_shared"]
count = 3
points = 400
[streak]
min_events = 1
[leaderboard]
window_days = 30
size = 5
"""
AS_OF = date(2025, 6, 18)


def _setup(settings, engine, tmp_path) -> tuple[int, list[int]]:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    with session_scope(engine) as session:
        account = add_account(session)
        people = [add_contact(session, account, external_id=f"p{i}") for i in range(3)]
        load_program(session, path)
        ids, external = [p.id for p in people], account.external_id
        account_id = account.id
    at = lambda d, h: datetime(2025, 6, d, h, tzinfo=UTC)  # noqa: E731
    events = [(f"s{i}", "report_shared", at(2 + 7 * i, 9), "p0") for i in range(3)]  # 3 weeks
    events += [("s3", "report_shared", at(17, 9), "p1"), ("x", "login", at(10, 9), "p2")]
    add_warehouse_events(settings, account_id, external, events)
    return account_id, ids


def test_challenge_streak_badges_tiers_and_a_quiet_replay(settings, engine, tmp_path, frozen_clock):
    account_id, contacts = _setup(settings, engine, tmp_path)
    summary = loyalty_points(StageContext(settings, engine, AS_OF))
    assert summary["challenge_completions"] == 1 and summary["challenge_points_posted"] == 1
    assert summary["badges"] == {"steady": 1, "sharer": 1}
    again = loyalty_points(StageContext(settings, engine, AS_OF))
    assert again["challenge_points_posted"] == 0 and again["badges"] == {"steady": 0, "sharer": 0}
    with session_scope(engine) as session:
        challenge = session.scalars(
            sa.select(LoyaltyMovement).where(LoyaltyMovement.rule == "challenge:share-three")
        ).one()
        assert (challenge.points, challenge.occurred_at) == (
            400,
            datetime(2025, 6, 16, 9, tzinfo=UTC),
        )
        streak = session.get_one(LoyaltyStreak, account_id)
        assert (streak.current_weeks, streak.longest_weeks) == (3, 3)
        progress = session.get_one(LoyaltyChallengeProgress, (account_id, "share-three"))
        assert (progress.progress, progress.goal) == (3, 3)
        wallet = session.get_one(LoyaltyWallet, account_id)
        assert (wallet.balance, wallet.tier) == (4 * 25 + 400, "silver")
        changes = session.scalars(sa.select(LoyaltyTierChange)).all()
        assert [(c.from_tier, c.to_tier, c.promoted) for c in changes] == [(None, "silver", True)]
        scores = {s.contact_id: s.points for s in session.scalars(sa.select(LoyaltyContactScore))}
        assert scores == {contacts[0]: 75, contacts[1]: 25}
        assert {b for (b,) in session.execute(sa.select(LoyaltyBadgeAward.badge))} == {
            "steady", "sharer"}  # fmt: skip
        assert_books_balance(session)


def test_leaderboard_shows_only_opted_in_contacts(settings, engine, tmp_path, frozen_clock):
    account_id, contacts = _setup(settings, engine, tmp_path)
    loyalty_points(StageContext(settings, engine, AS_OF))
    with session_scope(engine) as session:
        program = require_program(session)
        assert account_leaderboard(session, program, account_id) == []
        for contact_id, choice in zip(contacts, (True, True, False), strict=True):
            set_opt_in(session, session.get_one(Contact, contact_id), choice, "test")
        set_opt_in(session, session.get_one(Contact, contacts[1]), False, "test")  # changed mind
        set_opt_in(session, session.get_one(Contact, contacts[2]), True, "test")
        board = account_leaderboard(session, program, account_id)
        assert [(b["external_id"], b["points"], b["rank"]) for b in board] == [
            ("p0", 75, 1), ("p2", 0, 2)]  # fmt: skip
        summary = account_summary(session, program, session.get_one(Account, account_id))
        assert summary["streak"]["current_weeks"] == 3
        assert [(c["key"], c["progress"], c["completed"]) for c in summary["challenges"]] == [
            ("share-three", 3, True)]  # fmt: skip


def test_opt_in_upsert_scores_and_variables_on_both_databases(any_engine, program):
    """The opt-in upsert, the ranked board and the bulk loyalty variable on SQLite and PostgreSQL."""
    with session_scope(any_engine) as session:
        account = add_account(session)
        people = [add_contact(session, account) for _ in range(3)]
        session.add(LoyaltyEnrolment(account_id=account.id, arm="member",
                                     enrolled_at=datetime(2025, 1, 1, tzinfo=UTC)))  # fmt: skip
        for person, points in zip(people, (40, 90, 40), strict=True):
            session.add(LoyaltyContactScore(contact_id=person.id, account_id=account.id,
                                            points=points, events=1, as_of=AS_OF))  # fmt: skip
        for person in people:
            set_opt_in(session, person, False, "a")
            set_opt_in(session, person, True, "b")  # the latest choice wins
        board = account_leaderboard(session, program, account.id)
        assert [(b["contact_id"], b["rank"]) for b in board] == [
            (people[1].id, 1), (people[0].id, 2), (people[2].id, 2)]  # fmt: skip
        found = loyalty_variables(session, [account.id], AS_OF)[account.id]
        assert found is not None and (found["balance"], found["tier"]) == (0, "member")
