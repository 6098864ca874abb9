"""Real-time earning: events landing through the tracking intake earn at once.

Called by `tenure.events.landing.land_events` in the request's (or the broker consumer's)
transaction. An event earns under a rule when its account is a member and the ledger allows
it at the event's time: the lifetime and monthly caps are not reached and no earning of the
same (account, rule) lies within the cool-down on either side. The earning's source key is the
stage's (`event:<message_id>:<rule>`), so the nightly stage, which reads the same event from
the warehouse, posts nothing twice; with events arriving in time order both pick the same
events. The parsed event rules are cached per programme row, so a batch without a matching
event costs one small query; a matching batch costs three reads and one batch insert.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.events.models import InboxEvent
from tenure.loyalty.contact_earning import earn_contacts
from tenure.loyalty.earning_rules import choose
from tenure.loyalty.ledger import post_earnings
from tenure.loyalty.models import LoyaltyEnrolment, LoyaltyMovement, LoyaltyProgram
from tenure.loyalty.program import EarningRule, Program

CHUNK = 1000


@dataclass(frozen=True)
class CachedRules:
    """The event rules of one programme row, by event name."""

    by_event: dict[str, list[EarningRule]]
    expiry_months: int
    starts_on: datetime | None
    contact_by_event: dict[str, list[EarningRule]]


# engine → (programme row, loaded at) → its event rules; keyed by the engine object, not its
# URL: a reused database name (a test schema) with a new programme must not hit an old entry
_RULES: weakref.WeakKeyDictionary[Any, dict[tuple, CachedRules]] = weakref.WeakKeyDictionary()


def event_rules(session: Session) -> CachedRules | None:
    """Return the event rules in force (parsed once per programme row), or None."""
    latest = session.execute(
        sa.select(LoyaltyProgram.id, LoyaltyProgram.loaded_at)
        .order_by(LoyaltyProgram.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    bind = session.get_bind()
    cache = _RULES.setdefault(getattr(bind, "engine", bind), {})
    key = (latest.id, latest.loaded_at)
    if key not in cache:
        program = Program.model_validate(session.get_one(LoyaltyProgram, latest.id).document)
        by_event: dict[str, list[EarningRule]] = defaultdict(list)
        contact_by_event: dict[str, list[EarningRule]] = defaultdict(list)
        for rule in program.rules:
            if rule.event is not None and rule.to_account:
                by_event[rule.event].append(rule)
            if rule.event is not None and rule.to_contact:
                contact_by_event[rule.event].append(rule.for_contact())
        starts = program.starts_on
        if len(cache) > 16:
            cache.clear()
        cache[key] = CachedRules(
            dict(by_event),
            program.expiry_months,
            datetime(starts.year, starts.month, starts.day, tzinfo=UTC) if starts else None,
            dict(contact_by_event),
        )
    return cache[key]


def earn_on_arrival(session: Session, message_ids: Sequence[str]) -> int:
    """Post the earnings of newly landed events (by message id); return how many were new."""
    rules = event_rules(session) if message_ids else None
    if rules is None or not (rules.by_event or rules.contact_by_event):
        return 0
    events = _landed_events(
        session, message_ids, sorted({*rules.by_event, *rules.contact_by_event})
    )
    if rules.starts_on is not None:
        events = [e for e in events if e.ts >= rules.starts_on]
    if not events:
        return 0
    members = _members(session, {e.account_id for e in events})
    events = [e for e in events if e.account_id in members]
    if not events:
        return 0
    contacts = earn_contacts(session, events, rules.contact_by_event)
    events = [e for e in events if e.name in rules.by_event]
    keys = {r.key for e in events for r in rules.by_event[e.name]}
    history = _history(session, {e.account_id for e in events}, keys) if events else {}
    earnings = choose(events, rules.by_event, history)
    return post_earnings(session, earnings, rules.expiry_months, actor="tracking") + contacts


def _landed_events(session: Session, message_ids: Sequence[str], names: list[str]) -> list:
    """Return the batch's inbox events of known accounts whose name a rule earns on."""
    found = []
    for start in range(0, len(message_ids), CHUNK):
        query = sa.select(
            InboxEvent.message_id,
            InboxEvent.account_id,
            InboxEvent.name,
            InboxEvent.ts,
            InboxEvent.contact_external_id,
        ).where(
            InboxEvent.message_id.in_(message_ids[start : start + CHUNK]),
            InboxEvent.name.in_(names),
            InboxEvent.account_id.is_not(None),
        )
        found.extend(session.execute(query).all())
    return sorted(found, key=lambda e: (e.ts, e.message_id))


def _members(session: Session, accounts: set[int]) -> set[int]:
    query = sa.select(LoyaltyEnrolment.account_id).where(
        LoyaltyEnrolment.account_id.in_(accounts), LoyaltyEnrolment.arm == "member"
    )
    return set(session.scalars(query))


def _history(session: Session, accounts: set[int], rules: set[str]) -> dict:
    """Return each (account, rule)'s earning times from the ledger."""
    query = sa.select(
        LoyaltyMovement.account_id, LoyaltyMovement.rule, LoyaltyMovement.occurred_at
    ).where(
        LoyaltyMovement.kind == "earn",
        LoyaltyMovement.account_id.in_(accounts),
        LoyaltyMovement.rule.in_(rules),
    )
    history: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for account_id, rule, at in session.execute(query):
        history[account_id, rule].append(at)
    return history


def reverse_on_arrival(session: Session, reversed_ids: Sequence[str]) -> int:
    """Claw back the earnings of the events the batch reverses; return how many clawed back."""
    from tenure.loyalty.contact_wallets import claw_back_contact_event
    from tenure.loyalty.corrections import claw_back_event

    done = 0
    for message_id in dict.fromkeys(reversed_ids):
        done += len(claw_back_event(session, message_id, "event reversed"))
        done += claw_back_contact_event(session, message_id, "event reversed")
    return done


CONFLICT_SQL = """
SELECT s.* FROM loyalty_found s
WHERE NOT EXISTS (
    SELECT 1 FROM loyalty_tracked t JOIN loyalty_cooldowns c ON c.rule = t.rule
    WHERE t.account_id = s.account_id AND t.rule = s.rule AND t.source_key <> s.source_key
      AND abs(epoch_us(t.ts) - epoch_us(s.ts)) < c.cooldown_us)
"""


def drop_conflicts(
    con: Any, session: Session, program: Program, found: Any, first, last, contacts: bool = False
) -> Any:
    """Drop the stage's earnings that fall within a cool-down of a real-time one (late events).

    A late event (earlier than one already earned in real time) is not earned on arrival; the
    stage, reading in time order, would pick it. Dropping it keeps one earning per cool-down.
    With contacts, found's account_id holds contacts and the contact ledger is read.
    """
    import pyarrow as pa

    from tenure.loyalty.contact_models import LoyaltyContactMovement

    cooldowns = {r.key: r.cooldown_days for r in program.rules if r.event and r.cooldown_days}
    if not cooldowns or found.num_rows == 0:
        return found
    widest = timedelta(days=max(cooldowns.values()))
    m = LoyaltyContactMovement if contacts else LoyaltyMovement
    owner = m.contact_id if contacts else m.account_id  # type: ignore[union-attr]
    query = sa.select(owner, m.rule, m.occurred_at, m.source_key).where(
        m.kind == "earn", m.actor == "tracking", m.rule.in_(cooldowns),
        m.occurred_at >= datetime.combine(first, datetime.min.time(), UTC) - widest,
        m.occurred_at < datetime.combine(last, datetime.min.time(), UTC) + widest
        + timedelta(days=1))  # fmt: skip
    rows = session.execute(query).all()
    if not rows:
        return found
    tables = {
        "loyalty_found": found,
        "loyalty_tracked": pa.table({
            "account_id": pa.array([r[0] for r in rows], pa.int64()),
            "rule": pa.array([r[1] for r in rows], pa.string()),
            "ts": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
            "source_key": pa.array([r[3] for r in rows], pa.string())}),
        "loyalty_cooldowns": pa.table({
            "rule": list(cooldowns),
            "cooldown_us": pa.array([d * 86_400_000_000 for d in cooldowns.values()], pa.int64())}),
    }  # fmt: skip
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(CONFLICT_SQL).to_arrow_table().cast(found.schema)
    finally:
        for name in tables:
            con.unregister(name)
