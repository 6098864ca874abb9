"""Loyalty moments through journeys: the four triggers, the bulk `loyalty` variable, and a
tier-up email rendered from the packaged template and delivered to a real SMTP server."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tenure.alerts.delivery import deliver_due
from tenure.db.session import session_scope
from tenure.experiments.holdout import in_global_holdout
from tenure.loyalty import ledger
from tenure.loyalty.engagement_models import LoyaltyStreak, LoyaltyTierChange
from tenure.loyalty.models import LoyaltyBadgeAward, LoyaltyEnrolment, LoyaltyRedemption
from tenure.loyalty.personalisation import loyalty_variables
from tenure.loyalty.service import load_program
from tenure.messaging import templates
from tenure.messaging.context import message_contexts
from tenure.messaging.journeys_engine import tick
from tenure.messaging.journeys_spec import read_journeys_file
from tenure.messaging.journeys_store import DEFAULTS_PATH, save_journey

from ..alerts.conftest import SmtpSink, free_port
from ..factories import add_account, add_contact
from .journey_helpers import add_journey, enrollments, messages

DAY = date(2025, 6, 30)  # the frozen clock's day
WAIT = [{"id": "rest", "kind": "wait", "days": 30}]
_NUMBERS = itertools.count(1)


def _members(session, settings, n: int, arm: str = "member"):
    """Add n accounts outside the global holdout, enrolled in arm, with one contact each."""
    found = []
    while len(found) < n:
        i = next(_NUMBERS)
        account = add_account(session, external_id=f"loy-{arm}-{i}", name=f"Loyal {i}")
        if in_global_holdout(account.external_id, settings):
            continue
        add_contact(session, account, consent={"email": True}, name=f"Pat {i}", timezone="UTC")
        session.add(LoyaltyEnrolment(account_id=account.id, arm=arm,
                                     enrolled_at=datetime(2025, 1, 1, tzinfo=UTC)))  # fmt: skip
        found.append(account)
    session.flush()
    return found


def _tier_change(session, account_id, before, after, promoted, day=DAY):
    session.add(LoyaltyTierChange(account_id=account_id, from_tier=before, to_tier=after,
                                  promoted=promoted, changed_on=day,
                                  recorded_at=datetime.combine(day, datetime.min.time(), UTC)))  # fmt: skip


def test_each_loyalty_trigger_enrols_the_accounts_with_that_moment(engine, settings, frozen_clock):
    now = frozen_clock.now()
    with session_scope(engine) as session:
        load_program(session, None)
        a = _members(session, settings, 8)
        _tier_change(session, a[0].id, "member", "silver", True)
        _tier_change(session, a[1].id, "gold", "silver", False)  # a demotion greets nobody
        ledger.ensure_wallets(session, [x.id for x in a])
        # points earned 11 months ago expire in 30 days (12-month expiry); 20 days: too soon
        ledger.credit(session, a[2].id, 800, 12, kind="adjust", reason="old",
                      occurred_at=now - timedelta(days=335))  # fmt: skip
        ledger.credit(session, a[3].id, 100, 12, kind="adjust", reason="small",
                      occurred_at=now - timedelta(days=335))  # fmt: skip
        session.add(LoyaltyBadgeAward(account_id=a[4].id, badge="scholar",
                                      awarded_at=now - timedelta(hours=5)))  # fmt: skip
        session.add(LoyaltyBadgeAward(account_id=a[5].id, badge="scholar",
                                      awarded_at=now - timedelta(days=30)))  # fmt: skip
        for account, status in ((a[6], "fulfilled"), (a[7], "pending")):
            session.add(LoyaltyRedemption(account_id=account.id, reward_key="swag-box",
                                          points=1500, status=status,
                                          requested_at=now - timedelta(hours=2)))  # fmt: skip
        triggers = {
            "up": {"kind": "loyalty_tier_up"},
            "expiring": {"kind": "loyalty_points_expiring", "days_before": 30, "min_points": 500},
            "badge": {"kind": "loyalty_badge", "only": "scholar"},
            "reward": {"kind": "loyalty_reward_approved"},
        }
        for key, trigger in triggers.items():
            add_journey(session, key=key, trigger=trigger, steps=WAIT)
        ids = [x.id for x in a]
    assert tick(engine, settings)["enrolled"] == 4
    with session_scope(engine) as session:
        entered = {k: sorted(e.account_id for e in enrollments(session, k)) for k in triggers}
    assert entered == {"up": [ids[0]], "expiring": [ids[2]], "badge": [ids[4]],
                       "reward": [ids[6]]}  # fmt: skip
    assert tick(engine, settings).get("enrolled") == 0


def test_the_loyalty_variable_is_filled_in_bulk_for_members_only(engine, settings, frozen_clock):
    now = frozen_clock.now()
    with session_scope(engine) as session:
        load_program(session, None)
        members = _members(session, settings, 3)
        (held,) = _members(session, settings, 1, arm="holdout")
        ledger.ensure_wallets(session, [m.id for m in members])
        ledger.credit(session, members[0].id, 700, 12, kind="adjust", reason="old",
                      occurred_at=now - timedelta(days=350))  # fmt: skip
        ledger.credit(session, members[0].id, 300, 12, kind="adjust", reason="new")
        session.add_all([
            LoyaltyBadgeAward(account_id=members[0].id, badge="connected",
                              awarded_at=now - timedelta(days=9)),
            LoyaltyBadgeAward(account_id=members[0].id, badge="scholar",
                              awarded_at=now - timedelta(days=2)),
            LoyaltyStreak(account_id=members[0].id, current_weeks=5, longest_weeks=5,
                          last_active_week=DAY, as_of=DAY),
        ])  # fmt: skip
        ids = [m.id for m in members]
        found = loyalty_variables(session, [*ids, held.id], DAY)
        assert found[held.id] is None
        first = found[ids[0]]
        assert (first["balance"], first["points"], first["tier"], first["tier_name"]) == (
            1000, 1000, "member", "Member")  # fmt: skip
        assert (first["expiring_30d"], first["expiring_on"]) == (700, date(2025, 7, 15))
        assert (first["last_badge"], first["last_badge_name"]) == ("scholar", "Scholar")
        assert (first["streak_weeks"], first["next_tier"]) == (5, "silver")
        assert found[ids[1]]["balance"] == 0 and found[ids[1]]["last_badge"] is None
        pairs = [(m, m_contact) for m in members for m_contact in _contacts(session, m)]
        statements = _count_statements(engine, lambda: message_contexts(session, pairs, settings))
        more = _members(session, settings, 12)
        pairs += [(m, c) for m in more for c in _contacts(session, m)]
        assert _count_statements(engine, lambda: message_contexts(session, pairs, settings)) == (
            statements)  # fmt: skip  # 15 accounts cost the queries of 3: no N+1


def _contacts(session, account):
    from tenure.accounts.models import Contact

    return list(session.scalars(sa.select(Contact).where(Contact.account_id == account.id)))


def _count_statements(engine, action) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


@pytest.fixture
def smtp_sink():
    """Run a real aiosmtpd server on loopback."""
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def test_a_tier_up_email_reaches_smtp_with_the_members_tier(
    engine, settings, frozen_clock, smtp_sink
):
    settings = settings.model_copy(update={"smtp_port": smtp_sink.port, "mail_from": "cs@x.io"})
    with session_scope(engine) as session:
        load_program(session, None)
        templates.load_defaults(session)
        (journey,) = [j for j in read_journeys_file(DEFAULTS_PATH) if j.key == "loyalty-tier-up"]
        save_journey(session, journey.model_copy(update={"holdout": 0.0}))
        (account,) = _members(session, settings, 1)
        ledger.ensure_wallets(session, [account.id])
        ledger.credit(session, account.id, 2400, 12, kind="adjust", reason="grant")
        session.execute(sa.text("UPDATE loyalty_wallet SET tier = 'silver'"))
        _tier_change(session, account.id, "member", "silver", True)
        name = account.name
    assert tick(engine, settings)["send:done"] == 1
    with session_scope(engine) as session:
        (message,) = messages(session)
        assert message.subject == f"{name} reached Silver"
    assert deliver_due(engine, settings).counts()["sent"] == 1
    (received,) = smtp_sink.messages
    assert received["Subject"] == f"{name} reached Silver"
    html = next(p for p in received.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    assert "<strong>Silver</strong>" in body and "2400 points" in body
