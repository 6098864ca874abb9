"""Store behavioural clusters, the value × risk grid and RFM groups as segments.

All three describe current customers: accounts paying MRR > 0 as of the date (churned accounts
and trials would otherwise form a cluster of their own and fill the bottom RFM scores).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.accounts.schemas import Money
from tenure.segments.clustering import CLUSTER_METRICS, ClusterResult, cluster_accounts
from tenure.segments.frame import account_frame, support_and_billing_counts
from tenure.segments.grid import (
    RFM_GROUPS,
    RISK_TIERS,
    VALUE_TIERS,
    rfm_segments,
    value_risk_grid,
)
from tenure.segments.models import Segment
from tenure.segments.service import create_segment, replace_membership

GRID_NOTE = (
    "MRR tier (tertiles of paying accounts) × churn-risk tier: the churn model's risk tier where "
    "the account is scored, else a proxy (events in the last 30 days vs the 30 before)"
)


def account_metrics(
    *,
    db_session: Session,
    as_of: date,
    usage: Mapping[int, Mapping[str, Any]],
    money: Money | None = None,
) -> dict[int, dict[str, Any]]:
    """Return per account as of a date: mrr, seats, tenure, usage, tickets, failed invoices."""
    conn = db_session.connection()
    money = money or Money.default()
    frame = account_frame(conn, as_of, currency=money.currency, rates=money.rates).to_pylist()
    counts = support_and_billing_counts(conn, as_of)
    metrics = {}
    for row in frame:
        a = row["account_id"]
        seen = usage.get(a, {})
        metrics[a] = {
            "mrr": row["mrr"],
            "seats": row["seats"],
            "tenure_months": row["tenure_months"],
            "events_30d": seen.get("events_30d", 0),
            "events_prev_30d": seen.get("events_prev_30d", 0),
            "days_since_last_event": seen.get("days_since_last_event"),
            "tickets_90d": counts["tickets_90d"].get(a, 0),
            "failed_invoices_90d": counts["failed_invoices_90d"].get(a, 0),
            "churn_risk": row.get("churn_risk"),
        }
    return metrics


def paying(metrics: Mapping[int, Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """Return the metrics of the accounts with MRR > 0."""
    return {a: m for a, m in metrics.items() if (m.get("mrr") or 0) > 0}


def _store(
    db_session: Session, name: str, kind: str, description: str, as_of: date, members: list[int]
) -> None:
    segment = create_segment(
        db_session=db_session, name=name, kind=kind, description=description, replace=True
    )
    replace_membership(db_session=db_session, segment=segment, as_of=as_of, account_ids=members)


def store_clusters(
    *,
    db_session: Session,
    as_of: date,
    metrics: Mapping[int, Mapping[str, Any]],
    k_min: int = 2,
    k_max: int = 8,
    seed: int = 0,
) -> ClusterResult:
    """Cluster the paying accounts and store each cluster as segment `cluster-N` as of the date."""
    result = cluster_accounts(
        paying(metrics), metrics=CLUSTER_METRICS, k_min=k_min, k_max=k_max, seed=seed
    )
    for profile in result.profiles:
        label = profile["label"]
        members = [a for a, c in result.labels.items() if c == label]
        _store(db_session, f"cluster-{label}", "cluster", profile["profile"], as_of, members)
    stale = select(Segment).where(Segment.kind == "cluster", Segment.name.like("cluster-%"))
    for segment in db_session.scalars(stale):
        suffix = segment.name.removeprefix("cluster-")
        if suffix.isdigit() and int(suffix) >= result.k:
            replace_membership(db_session=db_session, segment=segment, as_of=as_of, account_ids=[])
    return result


def store_grid(
    *, db_session: Session, as_of: date, metrics: Mapping[int, Mapping[str, Any]]
) -> dict[str, int]:
    """Store the value × risk cells and the RFM groups as grid segments as of the date."""
    cells = value_risk_grid(paying(metrics))
    rfm = rfm_segments(paying(metrics))
    counts = {}
    for value in VALUE_TIERS:
        for risk in RISK_TIERS:
            name = f"value-{value}-risk-{risk}"
            members = [a for a, c in cells.items() if c == name]
            _store(
                db_session, name, "grid", f"{value} value, {risk} risk: {GRID_NOTE}", as_of, members
            )
            counts[name] = len(members)
    for group in RFM_GROUPS:
        name = f"rfm-{group}"
        members = [a for a, s in rfm.items() if s["group"] == group]
        note = "RFM usage group: recency of last event, events in 30 days, MRR (quintiles)"
        _store(db_session, name, "grid", f"{group}; {note}", as_of, members)
        counts[name] = len(members)
    return counts
