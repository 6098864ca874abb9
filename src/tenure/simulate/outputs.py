"""The CSV files of a simulated dataset, in Tenure's canonical import formats."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import tenure.simulate.catalog as cat
from tenure.simulate.billing import INVOICE_STATUSES, Billing
from tenure.simulate.config import CONTROL, MS_PER_DAY
from tenure.simulate.population import Population
from tenure.simulate.support import (
    COMMENTS,
    PRIORITIES,
    SUBJECTS,
    SURVEY_KINDS,
    TICKET_STATUSES,
    Support,
)
from tenure.simulate.writers import (
    booleans,
    iso_times,
    money,
    numbered,
    optional_ints,
    write_csv,
)

if TYPE_CHECKING:
    from tenure.simulate.engine import World


def pick(vocabulary: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    """Return vocabulary[code] for every code."""
    return np.asarray(vocabulary, dtype=object)[np.asarray(codes, dtype=np.int64)]


def write_accounts(path: Path, pop: Population, ids: list[str]) -> int:
    """Write accounts.csv."""
    owners = np.asarray([*pop.owner_emails, None], dtype=object)[pop.owner]
    return write_csv(
        path,
        {
            "account_id": ids,
            "name": pop.names,
            "created_at": iso_times(pop.created_ms),
            "industry": pick(cat.INDUSTRIES, pop.industry),
            "region": pick(cat.REGIONS, pop.region),
            "employees": pick(cat.SIZE_BANDS, pop.band),
            "owner": owners,
        },
    )


def write_contacts(path: Path, pop: Population, ids: list[str], contact_ids: list[str]) -> int:
    """Write contacts.csv."""
    contacts = pop.contacts
    return write_csv(
        path,
        {
            "contact_id": contact_ids,
            "account_id": np.asarray(ids, dtype=object)[contacts.account],
            "email": contacts.emails,
            "name": contacts.names,
            "role": pick(cat.CONTACT_ROLES, contacts.role),
            "created_at": iso_times(contacts.created_ms),
            "consent_email": booleans(contacts.consent_email),
            "consent_sms": booleans(contacts.consent_sms),
        },
    )


def write_subscriptions(path: Path, pop: Population, ids: list[str], billing: Billing) -> int:
    """Write subscriptions.csv; rows replaced by a seat change or churn are canceled."""
    subs = billing.subscriptions
    account, ended = subs.column("account"), subs.column("ended_ms")
    return write_csv(
        path,
        {
            "subscription_id": numbered("sub", len(subs)),
            "account_id": np.asarray(ids, dtype=object)[account],
            "plan": pick(cat.PLANS, pop.plan[account]),
            "status": np.where(ended < 0, "active", "canceled").astype(object),
            "mrr": money(subs.column("mrr")),
            "currency": pick(cat.CURRENCIES, pop.currency[account]),
            "quantity": subs.column("seats"),
            "billing_interval": pick(cat.BILLING_INTERVALS, pop.billing[account]),
            "started_at": iso_times(subs.column("started_ms")),
            "ended_at": iso_times(ended),
        },
    )


def write_invoices(path: Path, pop: Population, ids: list[str], billing: Billing) -> int:
    """Write invoices.csv (one row per payment attempt)."""
    inv = billing.invoices
    account = inv.column("account")
    return write_csv(
        path,
        {
            "invoice_id": numbered("inv", len(inv)),
            "account_id": np.asarray(ids, dtype=object)[account],
            "subscription_id": numbered("sub", len(billing.subscriptions))[
                inv.column("subscription")
            ],
            "amount": money(inv.column("amount")),
            "currency": pick(cat.CURRENCIES, pop.currency[account]),
            "status": pick(INVOICE_STATUSES, inv.column("status")),
            "issued_at": iso_times(inv.column("issued_ms")),
            "paid_at": iso_times(inv.column("paid_ms")),
        },
    )


def ticket_statuses(closed_ms: np.ndarray, end_ms: int) -> np.ndarray:
    """Return open/pending for unresolved tickets, solved for recent and closed for older ones."""
    unresolved = np.where(np.arange(len(closed_ms)) % 5 < 2, 1, 0)
    resolved = np.where(closed_ms + 4 * MS_PER_DAY <= end_ms, 3, 2)
    return pick(TICKET_STATUSES, np.where(closed_ms < 0, unresolved, resolved))


def write_tickets(
    path: Path, ids: list[str], contact_ids: list[str], support: Support, end_ms: int
) -> int:
    """Write tickets.csv."""
    t = support.tickets
    subjects = [s for group in SUBJECTS for s in group]
    offsets = np.cumsum([0, *(len(g) for g in SUBJECTS)])[:-1]
    return write_csv(
        path,
        {
            "ticket_id": numbered("tkt", len(t)),
            "account_id": np.asarray(ids, dtype=object)[t.column("account")],
            "contact_id": np.asarray(contact_ids, dtype=object)[t.column("contact")],
            "subject": pick(tuple(subjects), offsets[t.column("category")] + t.column("subject")),
            "opened_at": iso_times(t.column("opened_ms")),
            "closed_at": iso_times(t.column("closed_ms")),
            "priority": pick(PRIORITIES, t.column("priority")),
            "status": ticket_statuses(t.column("closed_ms"), end_ms),
            "csat": optional_ints(t.column("csat")),
        },
    )


def write_surveys(path: Path, ids: list[str], contact_ids: list[str], support: Support) -> int:
    """Write surveys.csv."""
    s = support.surveys
    code = s.column("comment").astype(np.int64)
    texts = np.asarray([None], dtype=object).repeat(len(code))
    has = code >= 0
    texts[has] = [COMMENTS[c // 10][c % 10] for c in code[has].tolist()]
    return write_csv(
        path,
        {
            "response_id": numbered("rsp", len(s)),
            "account_id": np.asarray(ids, dtype=object)[s.column("account")],
            "contact_id": np.asarray(contact_ids, dtype=object)[s.column("contact")],
            "kind": pick(SURVEY_KINDS, s.column("kind")),
            "score": s.column("score"),
            "responded_at": iso_times(s.column("ms")),
            "comment": texts,
        },
    )


def write_assignments(path: Path, pop: Population, ids: list[str], world: World) -> int:
    """Write assignments.csv: the arm, true effects and exact churn truth of eligible accounts.

    exposed_on is the account's first day in the chain under the experiment; the
    p_churn_90_<arm> columns hold its exact 90-day churn probability from that day in every
    arm (the counterfactuals; empty if it never was in the chain by the window's end).
    """
    rows = np.flatnonzero(world.eligible)
    start_ms = world.config.start_ms + world.treatment_day * MS_PER_DAY
    arm = world.arm_group[rows]
    names = np.array([CONTROL, *(a.name for a in world.config.arms)], dtype=object)
    churn = np.array(["0", *(f"{a.churn_effect:g}" for a in world.config.arms)], dtype=object)
    usage = np.array(["0", *(f"{a.usage_effect:g}" for a in world.config.arms)], dtype=object)
    day = world.exposed_day[rows]
    exposed = (world.config.start_ms + day * MS_PER_DAY).astype("datetime64[ms]")
    columns = {
        "account_id": np.asarray(ids, dtype=object)[rows],
        "group": names[arm],
        "assigned_at": iso_times(np.maximum(pop.created_ms[rows], start_ms)),
        "effect": churn[arm],
        "usage_effect": usage[arm],
        "exposed_on": np.where(day >= 0, np.datetime_as_string(exposed, unit="D"), None),
    }
    for a, name in enumerate(names):
        p = world.counterfactual_p90[rows, a]
        columns[f"p_churn_90_{name}"] = np.where(np.isnan(p), None, np.char.mod("%.6f", p))
    return write_csv(path, columns)


SPEND_CHANNELS = ("paid_search", "content", "events")
SPEND_SHARES = (0.5, 0.3, 0.2)
SPEND_PER_SIGNUP = 30_000.0  # US dollars of acquisition spend per new account, on average


def write_spend(path: Path, pop: Population, start_ms: int, end_ms: int, seed: int) -> int:
    """Write spend.csv: each window month's acquisition spend per channel, in US dollars.

    Spend tracks the month's signups (about SPEND_PER_SIGNUP each, split by channel, ±20 %
    noise from a stream of its own, so the other files do not change with it).
    """
    rng = np.random.default_rng([seed, 0x5BE4D])
    created = pop.created_ms[(pop.created_ms >= start_ms) & (pop.created_ms < end_ms)]
    months = created.astype("datetime64[ms]").astype("datetime64[M]")
    first = np.datetime64(start_ms, "ms").astype("datetime64[M]")
    last = np.datetime64(end_ms - 1, "ms").astype("datetime64[M]")
    span = np.arange(first, last + 1)
    signups = np.array([(months == m).sum() for m in span], dtype=np.float64)
    rows = {"spend_id": [], "month": [], "channel": [], "amount": [], "currency": []}
    for m, count in zip(span, signups, strict=True):
        noise = rng.uniform(0.8, 1.2, size=len(SPEND_CHANNELS))
        for channel, share, factor in zip(SPEND_CHANNELS, SPEND_SHARES, noise, strict=True):
            rows["spend_id"].append(f"spd_{m}_{channel}")
            rows["month"].append(str(m))
            rows["channel"].append(channel)
            rows["amount"].append(f"{count * SPEND_PER_SIGNUP * share * factor:.2f}")
            rows["currency"].append("USD")
    return write_csv(path, rows)
