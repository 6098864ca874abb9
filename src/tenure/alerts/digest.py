"""The daily digest: one email per owner listing their active alerts, held-back ones first."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.alerts import outbox
from tenure.alerts.models import ACTIVE_STATUSES, Alert, AlertDelivery
from tenure.alerts.routing import Routing

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def digest_key(day: date, owner: str) -> str:
    """Return the idempotency key of an owner's digest for a day."""
    return f"digest-{day.isoformat()}-{owner}"[:128]


def _held(alert: Alert) -> bool:
    """Return whether the alert was held back for the digest by its owner's daily budget."""
    return bool((alert.facts or {}).get("digest"))


def render_digest(
    owner: str, day: date, rows: list[tuple[Alert, str]], routing: Routing
) -> tuple[str, str]:
    """Return the subject and body of an owner's digest."""
    counts = defaultdict(int)
    for alert, _ in rows:
        counts[alert.status] += 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    subject = f"[Tenure] Daily alert digest {day.isoformat()}: {len(rows)} active ({summary})"
    lines = [f"Alerts for {owner} still active on {day.isoformat()}, most severe first:", ""]
    for alert, _account_name in rows:
        held = " [over your daily alert budget: first told here]" if _held(alert) else ""
        lines.append(
            f"- [{alert.severity}] {alert.status} #{alert.id} {alert.message} "
            f"(since {alert.opened_at:%Y-%m-%d}){held}"
        )
    lines += ["", f"Open the inbox: {routing.public_url}/alerts"]
    return subject[:255], "\n".join(lines) + "\n"


def queue_digests(session: Session, day: date, routing: Routing) -> int:
    """Queue one digest email per owner with active alerts (once per day); return how many."""
    query = (
        sa.select(Alert, Account.name)
        .join(Account, Account.id == Alert.account_id)
        .where(Alert.status.in_(ACTIVE_STATUSES))
    )
    by_owner: dict[str, list[tuple[Alert, str]]] = defaultdict(list)
    for alert, name in session.execute(query):
        by_owner[alert.owner].append((alert, name))
    keys = [digest_key(day, owner) for owner in by_owner]
    done = (
        set(
            session.scalars(
                sa.select(AlertDelivery.idempotency_key).where(
                    AlertDelivery.idempotency_key.in_(keys)
                )
            )
        )
        if keys
        else set()
    )
    queued = 0
    for owner, rows in sorted(by_owner.items()):
        if digest_key(day, owner) in done:
            continue
        rows.sort(
            key=lambda r: (not _held(r[0]), SEVERITY_ORDER.get(r[0].severity, 9), r[0].opened_at)
        )
        subject, body = render_digest(owner, day, rows, routing)
        payload = {"type": "alert.digest", "owner": owner, "alert_ids": [a.id for a, _ in rows]}
        outbox.add_delivery(
            session, "email", owner, digest_key(day, owner), subject, body, payload, None, "digest"
        )
        queued += 1
    return queued
