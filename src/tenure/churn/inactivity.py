"""Churn by inactivity, and the per-account choice between it and subscription churn.

For products without billing rows (free or usage-based), an account is *active* on day D when
it has at least one event on days D − N + 1 … D (N = `inactivity_days`), i.e. an event in
[T − N days, T) with T = D + 1 day 00:00 UTC. Its *churn moment* is the first inactive day
after an active stretch: for each event day d whose next event day is later than d + N (or
that has no next event day), the account churns at d + N, 00:00 UTC. An account that comes
back after a churn is active again and may churn again.

The churn definition (setting `churn_definition`):
- "subscription": paying at T is the population, the end of paying rows is churn (labels.py);
- "inactivity": active on D is the population, the churn moment above is churn, for everyone;
- "auto" (default): per account and as-of, subscription rules for accounts with a subscription
  row started before T ("billed"), inactivity rules for the others.
Everything here is an Ibis expression: no Python loops over events.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tenure.churn.definition import (
    CHURN_DEFINITIONS,
    INACTIVITY,
    SUBSCRIPTION,
    SUBSCRIPTION_ONLY,
    ChurnDefinition,
)
from tenure.churn.labels import churn_events

__all__ = ["CHURN_DEFINITIONS", "SUBSCRIPTION_ONLY", "ChurnDefinition"]


def event_days(events: ir.Table) -> ir.Table:
    """Return account_id, day (a naive-UTC midnight timestamp): one row per active day."""
    days = events.select("account_id", day=events.ts.truncate("D"))
    return days.distinct()


def inactivity_churn_events(events: ir.Table, inactivity_days: int) -> ir.Table:
    """Return account_id, churned_at: the first day of each gap of ≥ N days without events."""
    days = event_days(events)
    window = ibis.window(group_by="account_id", order_by="day")
    gap = ibis.interval(days=inactivity_days)
    ordered = days.mutate(next_day=days.day.lead().over(window))
    ends = ordered.filter(ordered.next_day.isnull() | (ordered.next_day > ordered.day + gap))
    return ends.select("account_id", churned_at=(ends.day + gap).cast("timestamp"))


def active_accounts(events: ir.Table, as_ofs: ir.Table, inactivity_days: int) -> ir.Table:
    """Return as_of, account_id: accounts with an event in the N days up to each as-of."""
    days = event_days(events)
    start = as_ofs.cutoff - ibis.interval(days=inactivity_days)
    j = days.join(as_ofs, [days.day < as_ofs.cutoff, days.day >= start])
    return j.select("as_of", "account_id").distinct()


def billed_accounts(subscriptions: ir.Table, as_ofs: ir.Table) -> ir.Table:
    """Return as_of, account_id: accounts with a subscription row started before the cutoff."""
    j = subscriptions.join(as_ofs, subscriptions.started_at < as_ofs.cutoff)
    return j.select("as_of", "account_id").distinct()


def with_rule(keys: ir.Table, subscriptions: ir.Table, definition: ChurnDefinition) -> ir.Table:
    """Return keys (as_of, account_id[, cutoff]) with `rule`: the churn definition applied."""
    if definition.kind != "auto":
        return keys.mutate(rule=ibis.literal(definition.kind))
    grid = keys.select("as_of", cutoff=(keys.as_of + ibis.interval(days=1)).cast("timestamp"))
    billed = billed_accounts(subscriptions, grid.distinct()).mutate(billed=ibis.literal(1))
    j = keys.left_join(billed, [keys.as_of == billed.as_of, keys.account_id == billed.account_id])
    j = j.drop("as_of_right", "account_id_right")
    rule = ibis.ifelse(j.billed.notnull(), SUBSCRIPTION, INACTIVITY)
    return j.mutate(rule=rule).drop("billed")


def ruled_churn_events(
    subscriptions: ir.Table, events: ir.Table, definition: ChurnDefinition
) -> ir.Table:
    """Return account_id, churned_at, rule: churn moments under each rule the definition uses."""
    parts = []
    if definition.kind != INACTIVITY:
        parts.append(churn_events(subscriptions).mutate(rule=ibis.literal(SUBSCRIPTION)))
    if definition.kind != SUBSCRIPTION:
        gone = inactivity_churn_events(events, definition.inactivity_days)
        parts.append(gone.mutate(rule=ibis.literal(INACTIVITY)))
    parts = [
        p.select("account_id", "rule", churned_at=p.churned_at.cast("timestamp")) for p in parts
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.union(part)
    return out


def definition_labels(
    keys: ir.Table,
    subscriptions: ir.Table,
    events: ir.Table,
    horizon: int,
    definition: ChurnDefinition,
) -> ir.Table:
    """Return as_of, account_id, churned (0/1): the label under each key's churn rule."""
    k = with_rule(keys.select("as_of", "account_id"), subscriptions, definition)
    k = k.mutate(cutoff=(k.as_of + ibis.interval(days=1)).cast("timestamp"))
    gone = ruled_churn_events(subscriptions, events, definition)
    hit = k.join(
        gone,
        [
            k.account_id == gone.account_id,
            k.rule == gone.rule,
            gone.churned_at >= k.cutoff,
            gone.churned_at < k.cutoff + ibis.interval(days=horizon),
        ],
    )
    churned = hit.select("as_of", "account_id").distinct().mutate(churned=ibis.literal(1))
    out = k.left_join(churned, [k.as_of == churned.as_of, k.account_id == churned.account_id])
    return out.select("as_of", "account_id", churned=out.churned.fill_null(0).cast("int8"))


def inactivity_population(
    events: ir.Table, subscriptions: ir.Table, as_ofs: ir.Table, definition: ChurnDefinition
) -> ir.Table:
    """Return as_of, account_id: accounts the inactivity rules put in the population at D."""
    active = active_accounts(events, as_ofs, definition.inactivity_days)
    if definition.kind == INACTIVITY:
        return active
    billed = billed_accounts(subscriptions, as_ofs)
    return active.anti_join(
        billed, [active.as_of == billed.as_of, active.account_id == billed.account_id]
    )


def population(
    paying: ir.Table,
    events: ir.Table,
    subscriptions: ir.Table,
    as_ofs: ir.Table,
    definition: ChurnDefinition,
) -> ir.Table:
    """Return as_of, account_id: the accounts of each snapshot under the churn definition."""
    keys = paying.select("as_of", "account_id")
    if definition.kind == SUBSCRIPTION:
        return keys
    active = inactivity_population(events, subscriptions, as_ofs, definition)
    return active if definition.kind == INACTIVITY else keys.union(active)
