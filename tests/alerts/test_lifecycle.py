"""Alert lifecycle on SQLite and PostgreSQL: dedupe, cooldown, snooze, escalation, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tenure.alerts import service
from tenure.alerts.models import Alert, AlertDelivery
from tenure.alerts.routing import Routing
from tenure.alerts.schemas import Trigger
from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound
from tenure.notifications import get_bus

ROUTING = Routing(fallback="team@example.com", escalation_to="head-of-cs@example.com")
RULE = {
    "name": "red",
    "kind": "tier_change",
    "params": {"to": "red"},
    "severity": "high",
    "cooldown_hours": 48,
    "escalate_after_hours": 24,
}


def _open(engine, account_id: int, text: str = "went red") -> list[Alert]:
    with session_scope(engine) as session:
        rule = service.get_rule(session, "red")
        return service.open_alerts(session, rule, [Trigger(account_id, text)], ROUTING)


@pytest.fixture
def red_rule(any_engine):
    with session_scope(any_engine) as session:
        service.save_rule(session, RULE)


def _statuses(engine) -> list[str]:
    with session_scope(engine) as session:
        return [a.status for a in service.list_alerts(session)]


def test_one_open_alert_per_account_and_rule(any_engine, any_book, red_rule, frozen_clock):
    """A second trigger while the alert is open, acknowledged or snoozed opens nothing."""
    account = any_book.account("a1")
    first = _open(any_engine, account)
    assert len(first) == 1
    assert _open(any_engine, account) == []
    with session_scope(any_engine) as session:
        service.acknowledge(session, first[0].id, actor="ana")
    assert _open(any_engine, account) == []
    with session_scope(any_engine) as session:
        service.snooze(
            session, first[0].id, until=frozen_clock.now() + timedelta(hours=2), actor="ana"
        )
    assert _open(any_engine, account) == []
    assert _statuses(any_engine) == ["snoozed"]


def test_cooldown_after_resolve_then_reopens(any_engine, any_book, red_rule, frozen_clock):
    """After resolve nothing re-opens within cooldown_hours; after it, a new alert opens."""
    account = any_book.account("a1")
    alert = _open(any_engine, account)[0]
    with session_scope(any_engine) as session:
        service.resolve(session, alert.id, actor="ana")
    frozen_clock.advance(timedelta(hours=47, minutes=59))
    assert _open(any_engine, account) == []
    frozen_clock.advance(timedelta(minutes=2))
    again = _open(any_engine, account)
    assert len(again) == 1 and again[0].id != alert.id
    assert _statuses(any_engine) == ["open", "resolved"]


def test_routing_owner_fallback_and_team(any_engine, any_book, frozen_clock):
    """Owner route goes to the CSM when it is an address, else the fallback; team goes to team."""
    with_csm = any_book.account("a1", owner="csm@example.com")
    no_csm = any_book.account("a2", owner="Jane Doe")
    with session_scope(any_engine) as session:
        service.save_rule(session, RULE)
        service.save_rule(session, {**RULE, "name": "team", "route": "team:success@example.com"})
    _open(any_engine, with_csm)
    _open(any_engine, no_csm)
    with session_scope(any_engine) as session:
        team = service.get_rule(session, "team")
        service.open_alerts(session, team, [Trigger(with_csm, "x")], ROUTING)
        owners = {(a.account_id, a.rule): a.owner for a in service.list_alerts(session)}
    assert owners == {
        (with_csm, "red"): "csm@example.com",
        (no_csm, "red"): "team@example.com",
        (with_csm, "team"): "success@example.com",
    }


def test_transitions_are_audited_with_actor_and_time(any_engine, any_book, red_rule, frozen_clock):
    """open → acknowledged → snoozed → resolved, each in the history with who and when."""
    account = any_book.account("a1")
    alert_id = _open(any_engine, account)[0].id
    steps = [
        ("acknowledged", lambda s: service.acknowledge(s, alert_id, actor="ana")),
        (
            "snoozed",
            lambda s: service.snooze(
                s, alert_id, until=frozen_clock.now() + timedelta(days=1), actor="bo"
            ),
        ),
        ("resolved", lambda s: service.resolve(s, alert_id, actor="cy")),
    ]
    for status, step in steps:
        frozen_clock.advance(timedelta(minutes=10))
        with session_scope(any_engine) as session:
            assert step(session).status == status
    with session_scope(any_engine) as session:
        history = [
            (h.action, h.from_status, h.to_status, h.actor, h.at)
            for h in service.alert_history(session, alert_id)
        ]
        alert = service.get_alert(session, alert_id)
        assert alert.open_key is None and alert.resolved_at == frozen_clock.now()
    start = frozen_clock.now() - timedelta(minutes=30)
    assert history == [
        ("opened", None, "open", "system", start),
        ("acknowledged", "open", "acknowledged", "ana", start + timedelta(minutes=10)),
        ("snoozed", "acknowledged", "snoozed", "bo", start + timedelta(minutes=20)),
        ("resolved", "snoozed", "resolved", "cy", start + timedelta(minutes=30)),
    ]


def test_invalid_transitions_say_why(any_engine, any_book, red_rule, frozen_clock):
    """Acknowledging twice, snoozing into the past, touching a resolved alert: InputError."""
    alert_id = _open(any_engine, any_book.account("a1"))[0].id
    with session_scope(any_engine) as session:
        service.acknowledge(session, alert_id, actor="ana")
    with pytest.raises(InputError, match="is acknowledged"), session_scope(any_engine) as s:
        service.acknowledge(s, alert_id, actor="ana")
    with pytest.raises(InputError, match="not in the future"), session_scope(any_engine) as s:
        service.snooze(s, alert_id, until=frozen_clock.now(), actor="ana")
    with session_scope(any_engine) as session:
        service.resolve(session, alert_id, actor="ana")
    for change in (service.acknowledge, service.resolve):
        with pytest.raises(InputError, match="resolved"), session_scope(any_engine) as s:
            change(s, alert_id, actor="ana")
    with pytest.raises(NotFound), session_scope(any_engine) as s:
        service.get_alert(s, 999)


def test_snooze_wakes_up_and_restarts_escalation_clock(
    any_engine, any_book, red_rule, frozen_clock
):
    """A snoozed alert re-opens when its time is up (not before) and reminds its owner."""
    alert_id = _open(any_engine, any_book.account("a1"))[0].id
    until = frozen_clock.now() + timedelta(hours=6)
    with session_scope(any_engine) as session:
        service.snooze(session, alert_id, until=until, actor="ana")
    frozen_clock.advance(timedelta(hours=5, minutes=59))
    with session_scope(any_engine) as session:
        assert service.wake_snoozed(session, ROUTING) == []
    frozen_clock.advance(timedelta(minutes=1))
    with session_scope(any_engine) as session:
        assert [a.id for a in service.wake_snoozed(session, ROUTING)] == [alert_id]
        alert = service.get_alert(session, alert_id)
        assert (alert.status, alert.snoozed_until) == ("open", None)
        assert alert.escalate_at == frozen_clock.now() + timedelta(hours=24)
        purposes = session.scalars(sa.select(AlertDelivery.purpose).order_by(AlertDelivery.id))
        assert list(purposes) == ["opened", "reminder"]


def test_escalation_only_when_unacknowledged_past_deadline(
    any_engine, any_book, red_rule, frozen_clock
):
    """Unacknowledged for 24 h → escalated once to the escalation address; acked ones never."""
    ignored = _open(any_engine, any_book.account("a1"))[0].id
    acked = _open(any_engine, any_book.account("a2"))[0].id
    with session_scope(any_engine) as session:
        service.acknowledge(session, acked, actor="ana")
    frozen_clock.advance(timedelta(hours=23, minutes=59))
    with session_scope(any_engine) as session:
        assert service.escalate_overdue(session, ROUTING) == []
    frozen_clock.advance(timedelta(minutes=1))
    with session_scope(any_engine) as session:
        assert [a.id for a in service.escalate_overdue(session, ROUTING)] == [ignored]
    frozen_clock.advance(timedelta(hours=30))
    with session_scope(any_engine) as session:
        assert service.escalate_overdue(session, ROUTING) == []
        escalations = session.scalars(
            sa.select(AlertDelivery.target).where(AlertDelivery.purpose == "escalated")
        )
        assert list(escalations) == ["head-of-cs@example.com"]
        assert service.get_alert(session, ignored).escalated_at is not None


def test_notifications_are_published_only_after_commit(
    any_engine, any_book, red_rule, frozen_clock
):
    """alert_opened/alert_changed reach subscribers after commit, never for a rollback."""
    account = any_book.account("a1")
    with get_bus().subscribe() as subscription:
        with pytest.raises(RuntimeError), session_scope(any_engine) as session:
            rule = service.get_rule(session, "red")
            service.open_alerts(session, rule, [Trigger(account, "x")], ROUTING)
            raise RuntimeError("roll back")
        assert subscription.drain() == []
        alert_id = _open(any_engine, account)[0].id
        with session_scope(any_engine) as session:
            service.acknowledge(session, alert_id, actor="ana")
        notes = subscription.drain()
    assert [(n.kind, n.payload["alert_id"], n.payload["status"]) for n in notes] == [
        ("alert_opened", alert_id, "open"),
        ("alert_changed", alert_id, "acknowledged"),
    ]


def test_list_filters(any_engine, any_book, red_rule, frozen_clock):
    """list_alerts filters by status, owner and account and pages."""
    a1, a2 = any_book.account("a1", owner="x@example.com"), any_book.account("a2")
    first, second = _open(any_engine, a1)[0], _open(any_engine, a2)[0]
    with session_scope(any_engine) as session:
        service.resolve(session, first.id, actor="ana")
        ids = lambda **kw: [a.id for a in service.list_alerts(session, **kw)]  # noqa: E731
        assert ids(status="open") == [second.id]
        assert ids(status="active") == [second.id]
        assert ids(owner="x@example.com") == [first.id]
        assert ids(account_id=a2) == [second.id]
        assert ids(limit=1, offset=1) == [first.id]
        with pytest.raises(InputError, match="status must be"):
            ids(status="closed")
