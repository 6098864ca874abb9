"""The dashboard's board pages: ROI vs holdouts, the risk register, the success scorecard."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.config import Settings
from tenure.rendering.charts import FALLBACK, figure
from tenure.reports.risks import open_risks, risk_history
from tenure.reports.roi import roi_lines
from tenure.reports.scorecard import scorecard_dicts
from tenure.web.session import Viewer


def _allowed(viewer: Viewer, permission: str) -> None:
    if not can(viewer.role, permission):
        raise Forbidden(f"the role {viewer.role!r} may not read {permission.split(':')[0]}")


def roi_chart(lines: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return MRR kept per measured line with its 95 % interval as error bars."""
    shown = [line for line in lines if line["status"] == "measured"]
    if not shown:
        return None
    kept = [line["mrr_kept"] for line in shown]
    data = [{
        "type": "bar", "x": [line["name"] for line in shown], "y": kept,
        "marker": {"color": FALLBACK[0]},
        "error_y": {"type": "data", "symmetric": False,
                    "array": [line["mrr_kept_ci_high"] - k for line, k in zip(shown, kept, strict=True)],
                    "arrayminus": [k - line["mrr_kept_ci_low"] for line, k in zip(shown, kept, strict=True)]},
    }]  # fmt: skip
    return figure(data, yaxis={"title": {"text": "MRR kept a month"}})


def roi_context(db: Session, viewer: Viewer, settings: Settings, today: date) -> dict[str, Any]:
    """Return the ROI lines (programme first) and their chart."""
    _allowed(viewer, "reports:read")
    lines = [line.as_dict() for line in roi_lines(db, settings, today)]
    return {"lines": lines, "roi_chart": roi_chart(lines), "currency": settings.reporting_currency}


def risks_context(db: Session, viewer: Viewer, status: str | None) -> dict[str, Any]:
    """Return the register's account and programme risks and its latest changes."""
    _allowed(viewer, "risks:read")
    status = status if status in ("open", "closed", "all") else "open"
    return {
        "status": status,
        "accounts": open_risks(db, kind="account", status=status, limit=200),
        "programme": open_risks(db, kind="programme", status=status),
        "history": risk_history(db, limit=50),
    }


def scorecard_context(
    db: Session, viewer: Viewer, settings: Settings, today: date
) -> dict[str, Any]:
    """Return each success criterion with its figures, grade and evidence."""
    _allowed(viewer, "reports:read")
    return {"criteria": scorecard_dicts(db, settings, today)}
