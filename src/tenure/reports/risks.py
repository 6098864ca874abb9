"""The risk register: evaluate the checks for a day, open, update and close risks, with history.

A risk is identified by its key. A finding whose key has no open risk opens one (or reopens a
closed one); an open risk no check finds any more is closed. Every change is a history row.
The pipeline's `risks` stage calls `evaluate_risks` once per day; readers call `open_risks`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.config import Settings
from tenure.reports import risk_checks, risk_model_checks
from tenure.reports.models import Risk, RiskHistory
from tenure.reports.risk_rules import Finding

FIELDS = ("kind", "category", "title", "account_id", "likelihood", "impact", "exposure", "owner",
          "mitigation", "recommended_play", "detail")  # fmt: skip


def best_measured_play(session: Session, settings: Settings) -> str | None:
    """Return the play with the largest measured effect whose interval is above zero."""
    from tenure.accounts.schemas import Money
    from tenure.plays.effect import play_effects

    measured = [
        e for e in play_effects(session, Money.from_settings(settings))
        if e.measured and (e.effect_ci_low or 0) > 0
    ]  # fmt: skip
    return max(measured, key=lambda e: e.effect or 0).play if measured else None


def find_risks(session: Session, settings: Settings, day: date) -> list[Finding]:
    """Return every risk the checks find on day: accounts first, then the programme's."""
    best = best_measured_play(session, settings)
    return [
        *risk_checks.account_risks(session, settings, day, best),
        *risk_checks.source_risks(session, settings, day),
        *risk_checks.pipeline_risks(session, day),
        *risk_model_checks.drift_risks(settings, day),
        *risk_model_checks.backtest_risks(session, settings, day),
        *risk_checks.deliverability_risks(session, settings, day),
        *risk_checks.power_risks(session, day),
        *risk_checks.csm_overload_risks(session, settings, day),
    ]


def _history(risk: Risk, day: date, change: str) -> RiskHistory:
    return RiskHistory(risk_id=risk.id, day=day, change=change, exposure=risk.exposure,
                       detail={"title": risk.title})  # fmt: skip


def apply_findings(session: Session, findings: list[Finding], day: date) -> dict[str, int]:
    """Open, update, reopen and close risks so the register matches the findings of day."""
    existing = {r.key: r for r in session.scalars(sa.select(Risk))}
    counts = {"opened": 0, "reopened": 0, "updated": 0, "closed": 0}
    seen = set()
    changes: list[tuple[Risk, str]] = []
    for finding in findings:
        seen.add(finding.key)
        risk = existing.get(finding.key)
        values = {name: getattr(finding, name) for name in FIELDS}
        if risk is None:
            risk = Risk(key=finding.key, status="open", opened_on=day, last_seen_on=day, **values)
            session.add(risk)
            changes.append((risk, "opened"))
            continue
        change = "reopened" if risk.status == "closed" else "updated"
        if change == "reopened":
            risk.status, risk.opened_on, risk.closed_on = "open", day, None
        if change == "reopened" or risk.title != finding.title:
            changes.append((risk, change))
        for name, value in values.items():
            setattr(risk, name, value)
        risk.last_seen_on = day
    for key, risk in existing.items():
        if risk.status == "open" and key not in seen:
            risk.status, risk.closed_on = "closed", day
            changes.append((risk, "closed"))
    session.flush()
    session.add_all([_history(risk, day, change) for risk, change in changes])
    for _, change in changes:
        counts[change] += 1
    counts["open"] = len(seen)
    return counts


def evaluate_risks(session: Session, settings: Settings, day: date) -> dict[str, int]:
    """Run every check for day and bring the register up to date; return the change counts."""
    return apply_findings(session, find_risks(session, settings, day), day)


def risk_dict(risk: Risk) -> dict[str, Any]:
    """Return a register row as JSON-ready values."""
    return {
        "id": risk.id, "key": risk.key, "status": risk.status,
        **{name: getattr(risk, name) for name in FIELDS},
        "opened_on": risk.opened_on.isoformat(), "last_seen_on": risk.last_seen_on.isoformat(),
        "closed_on": risk.closed_on.isoformat() if risk.closed_on else None,
    }  # fmt: skip


def open_risks(
    session: Session, *, kind: str | None = None, status: str = "open", limit: int = 500
) -> list[dict[str, Any]]:
    """Return the register's risks (open by default): account risks by exposure, then the rest."""
    query = sa.select(Risk).where(Risk.status == status) if status != "all" else sa.select(Risk)
    if kind:
        query = query.where(Risk.kind == kind)
    query = query.order_by(Risk.kind, Risk.exposure.desc().nulls_last(), Risk.category, Risk.key)
    return [risk_dict(r) for r in session.scalars(query.limit(limit))]


def risk_history(session: Session, *, limit: int = 200) -> list[dict[str, Any]]:
    """Return the register's latest changes, newest first."""
    query = (
        sa.select(RiskHistory, Risk.key)
        .join(Risk, Risk.id == RiskHistory.risk_id)
        .order_by(RiskHistory.day.desc(), RiskHistory.id.desc())
        .limit(limit)
    )
    return [
        {
            "risk_id": h.risk_id,
            "key": key,
            "day": h.day.isoformat(),
            "change": h.change,
            "exposure": h.exposure,
            "title": h.detail.get("title"),
        }
        for h, key in session.execute(query)
    ]
