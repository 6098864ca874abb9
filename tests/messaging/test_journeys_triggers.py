"""Entry triggers: segment entry, event, health tier and score, churn risk, alert, renewal;
re-entry rules; the global holdout is never enrolled."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tenure.alerts.models import Alert
from tenure.db.session import session_scope
from tenure.experiments.holdout import in_global_holdout
from tenure.messaging.journeys_engine import tick
from tenure.segments.models import Segment, SegmentMembership

from ..factories import (
    add_account,
    add_churn_score,
    add_contact,
    add_health_score,
    add_inbox_event,
    add_subscription,
)
from .journey_helpers import add_journey, enrollments

DAY = date(2025, 6, 30)
WAIT = [{"id": "rest", "kind": "wait", "days": 30}]  # no template needed: the tests count entries


def _accounts(session, n):
    """Add n accounts (none in the global holdout) with one contact each."""
    found, i = [], 0
    while len(found) < n:
        i += 1
        account = add_account(session, external_id=f"trig-{i}")
        if not in_global_holdout(account.external_id, _Settings):
            add_contact(session, account, consent={"email": True})
            found.append(account)
    return found


class _Settings:
    holdout_fraction = 0.05


def _entered(session, key):
    return sorted(e.account_id for e in enrollments(session, key))


def test_each_trigger_enrols_the_accounts_that_crossed_it(engine, settings, frozen_clock):
    with session_scope(engine) as session:
        a = _accounts(session, 9)
        segment = Segment(name="new-accounts", kind="rule", rule="x", created_at=frozen_clock.now())
        session.add(segment)
        session.flush()
        for day, members in (
            (DAY - timedelta(days=2), [a[0]]),
            (DAY - timedelta(days=1), [a[0], a[1]]),
        ):
            session.add_all(
                SegmentMembership(segment_id=segment.id, account_id=m.id, as_of=day)
                for m in members
            )
        add_inbox_event(
            session, a[2], name="Trial Ending", ts=frozen_clock.now() - timedelta(hours=3)
        )
        add_inbox_event(
            session, a[3], name="Trial Ending", ts=frozen_clock.now() - timedelta(days=20)
        )
        for account, tiers in ((a[3], ("green", "red")), (a[4], ("red", "red"))):
            add_health_score(
                session,
                account,
                as_of=DAY - timedelta(days=1),
                tier=tiers[0],
                score=60 if tiers[0] == "green" else 45,
            )
            add_health_score(session, account, as_of=DAY, tier=tiers[1], score=40)
        add_churn_score(session, a[5], as_of=DAY - timedelta(days=1), risk_tier="low")
        add_churn_score(session, a[5], as_of=DAY, risk_tier="high")
        add_subscription(
            session, a[6], billing_interval="year", started_at=datetime(2024, 7, 30, tzinfo=UTC)
        )  # renews 2025-07-30
        add_subscription(
            session, a[7], billing_interval="year", started_at=datetime(2024, 12, 1, tzinfo=UTC)
        )  # renews in December
        session.add(
            Alert(
                account_id=a[8].id,
                rule="no-login",
                kind="no_login",
                severity="high",
                owner="x@y.z",
                status="open",
                message="m",
                facts={},
                opened_at=frozen_clock.now() - timedelta(days=1),
                updated_at=frozen_clock.now(),
            )
        )
        journeys = {
            "seg": {"kind": "segment_entry", "segment": "new-accounts"},
            "evt": {"kind": "event", "event": "Trial Ending"},
            "tier": {"kind": "health_tier", "to": "red"},
            "score": {"kind": "health_tier", "score_below": 50},
            "risk": {"kind": "churn_risk", "to": "high"},
            "renew": {"kind": "renewal", "days_before": 30},
            "alert": {"kind": "alert", "rule": "no-login"},
            "hand": {"kind": "manual"},
        }
        for key, trigger in journeys.items():
            add_journey(session, key=key, trigger=trigger, steps=WAIT)
        ids = {i: account.id for i, account in enumerate(a)}
    report = tick(engine, settings)
    assert report["enrolled"] == 7
    with session_scope(engine) as session:
        assert _entered(session, "seg") == [ids[1]]  # a[0] was already in on the day before
        assert _entered(session, "evt") == [ids[2]]  # a[3]'s event is older than 7 days
        assert _entered(session, "tier") == [ids[3]]  # a[4] was red already
        assert _entered(session, "score") == [ids[3]]
        assert _entered(session, "risk") == [ids[5]]
        assert _entered(session, "renew") == [ids[6]]  # 30 days before 2025-07-30 is today
        assert _entered(session, "alert") == [ids[8]]
        assert _entered(session, "hand") == []
    assert tick(engine, settings).get("enrolled") == 0  # the same edges enrol nobody twice


def test_reentry_after_days_and_the_global_holdout(engine, settings, frozen_clock):
    settings = settings.model_copy(update={"holdout_fraction": 0.5})
    with session_scope(engine) as session:
        accounts = [add_account(session, external_id=f"re-{i}") for i in range(12)]
        for account in accounts:
            add_contact(session, account, consent={"email": True})
            add_inbox_event(
                session, account, name="Trial Ending", ts=frozen_clock.now() - timedelta(hours=1)
            )
        add_journey(
            session,
            trigger={"kind": "event", "event": "Trial Ending", "within_days": 30},
            steps=[{"id": "bye", "kind": "exit"}],
            reentry="after",
            reentry_after_days=10,
        )
        held = {a.id for a in accounts if in_global_holdout(a.external_id, settings)}
        first = (
            accounts[0]
            if accounts[0].id not in held
            else next(a for a in accounts if a.id not in held)
        )
    assert 0 < len(held) < 12
    tick(engine, settings)
    with session_scope(engine) as session:
        entered = enrollments(session)
        assert {e.account_id for e in entered}.isdisjoint(held)
        assert {e.status for e in entered} == {"exited"}
    frozen_clock.advance(timedelta(days=11))
    tick(engine, settings)  # the same (old) event does not re-enrol after the 10 days
    with session_scope(engine) as session:
        assert len(enrollments(session)) == 12 - len(held)
        add_inbox_event(
            session, first, name="Trial Ending", ts=frozen_clock.now() - timedelta(hours=1)
        )
    tick(engine, settings)  # a new event does
    with session_scope(engine) as session:
        runs = [e.run_no for e in enrollments(session) if e.account_id == first.id]
        assert runs == [1, 2]
