"""The dashboard's /loyalty page: empty before a programme, then members, books, tiers, badges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from tenure.api.app import create_app
from tenure.auth.service import create_user
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.loyalty import ledger
from tenure.loyalty.contact_wallets import ContactEarning, post_contact_earnings
from tenure.loyalty.engagement_models import LoyaltyStreak
from tenure.loyalty.leaderboard import set_opt_in
from tenure.loyalty.models import LoyaltyBadgeAward, LoyaltyEnrolment
from tenure.loyalty.service import load_program

from ..factories import add_account, add_contact, add_subscription
from .conftest import ADMIN, PASSWORD, VIEWER


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """Return the app on a small book: two users, no programme yet."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("loyalty") / "data",
                        secure_cookies=False, secret_key="k" * 48)  # fmt: skip
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        create_user(session, ADMIN, PASSWORD, "admin")
        create_user(session, VIEWER, PASSWORD, "viewer")
    engine.dispose()
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


def test_page_explains_how_to_start_then_shows_the_programme(app, login):
    viewer = login(VIEWER)
    empty = viewer.get("/loyalty")
    assert empty.status_code == 200 and "tenure loyalty program load --defaults" in empty.text
    now = datetime(2025, 6, 30, tzinfo=UTC)
    with session_scope(app.state.engine) as session:
        load_program(session, None)
        for arm in ("member", "member", "holdout"):
            account = add_account(session)
            session.add(LoyaltyEnrolment(account_id=account.id, arm=arm, enrolled_at=now))
            if arm == "member":
                ledger.credit(session, account.id, 2500, 12, kind="adjust", reason="seed")
                session.add(LoyaltyBadgeAward(account_id=account.id, badge="champion",
                                              awarded_at=now))  # fmt: skip
    page = login(ADMIN).get("/loyalty")
    assert page.status_code == 200
    assert 'id="loyalty-kpis"' in page.text and "5,000 points outstanding" in page.text
    assert "holdout 1" in page.text and "champion" in page.text
    assert 'data-nav="loyalty"' in page.text


def test_account_360_shows_the_loyalty_panel(app, login):
    now = datetime(2025, 6, 30, tzinfo=UTC)
    with session_scope(app.state.engine) as session:
        load_program(session, None)
        member, held = add_account(session), add_account(session)
        for account, arm in ((member, "member"), (held, "holdout")):
            session.add(LoyaltyEnrolment(account_id=account.id, arm=arm, enrolled_at=now))
        ledger.credit(session, member.id, 1200, 12, kind="adjust", reason="kick-off grant")
        session.add(LoyaltyBadgeAward(account_id=member.id, badge="first-steps", awarded_at=now))
        session.add(LoyaltyStreak(account_id=member.id, current_weeks=4, longest_weeks=9,
                                  last_active_week=now.date(), as_of=now.date()))  # fmt: skip
        fan = add_contact(session, member, name="Robin Fan")
        session.flush()
        set_opt_in(session, fan, True, "test")
        earned = ContactEarning(fan.id, member.id, "course", 75, "event:w1:course", now)
        post_contact_earnings(session, [earned])
        ids = member.id, held.id
    viewer = login(VIEWER)
    page = viewer.get(f"/accounts/{ids[0]}").text
    panel = page[page.index('id="account-loyalty"') : page.index('id="account-messages"')]
    assert "1,200" in panel and "Member" in panel and "2,000 to Silver" in panel
    assert "First steps" in panel and "best 9" in panel and "kick-off grant" in panel
    assert "Feature explorer" in panel  # a challenge running today
    assert "#1 R*** F***" in panel  # an opted-in contact on the leaderboard, masked for a viewer
    wallets = panel[panel.index('id="loyalty-contacts"') : panel.index('id="loyalty-leaderboard"')]
    assert "R*** F***" in wallets and ">75<" in wallets and "Robin" not in wallets
    held_page = viewer.get(f"/accounts/{ids[1]}").text
    assert "in the programme&#39;s holdout" in held_page or "programme's holdout" in held_page


def test_page_shows_members_against_the_holdout_with_an_interval(app, login):
    """Enrolled long ago: 2 of 20 members and 12 of 20 held-out accounts churned within 90 days."""
    enrolled = datetime(2024, 2, 1, tzinfo=UTC)
    gone = datetime(2024, 3, 15, tzinfo=UTC)
    with session_scope(app.state.engine) as session:
        load_program(session, None)
        for arm, churned in (("member", 2), ("holdout", 12)):
            for i in range(20):
                account = add_account(session)
                add_subscription(session, account, ended_at=gone if i < churned else None)
                session.add(LoyaltyEnrolment(account_id=account.id, arm=arm, enrolled_at=enrolled))
    page = login(VIEWER).get("/loyalty").text
    card = page[page.index('id="loyalty-effect"') :]
    assert "Members 10.0 % (20 accounts)" in card and "holdout 60.0 % (20 accounts)" in card
    assert "difference -50.0 points" in card and "95 % interval" in card
    assert "members churn less than the holdout" in card
