"""The dashboard's journeys pages: the list, and one journey's funnel (treated vs holdout)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.messaging import journeys_store as store
from tenure.messaging.journeys_results import journey_results, journey_summary
from tenure.rendering.charts import FALLBACK, figure
from tenure.web.session import Viewer

ARM_COLOURS = {"treated": FALLBACK[0], "holdout": "#9ca3af"}


def funnel_chart(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return grouped bars per step: contacts who reached it and emails sent, by arm."""
    if not any(s["treated"]["entered"] or s["holdout"]["entered"] for s in steps):
        return None
    labels = [f"{s['step']} ({s['kind']})" for s in steps]
    data = []
    for arm, colour in ARM_COLOURS.items():
        data.append({"type": "bar", "name": f"{arm}: reached", "x": labels,
                     "y": [s[arm]["entered"] for s in steps], "marker": {"color": colour}})  # fmt: skip
    data.append({"type": "scatter", "mode": "markers", "name": "treated: sent", "x": labels,
                 "y": [s["treated"]["sent"] for s in steps],
                 "marker": {"color": FALLBACK[2], "size": 10, "symbol": "diamond"}})  # fmt: skip
    return figure(data, barmode="group", yaxis={"title": {"text": "contacts"}})


def _readable(viewer: Viewer) -> None:
    if not can(viewer.role, "journeys:read"):
        raise Forbidden(f"the role {viewer.role!r} may not read journeys")


def list_context(db: Session, viewer: Viewer) -> dict[str, Any]:
    """Return every journey's summary line."""
    _readable(viewer)
    return {"journeys": [journey_summary(db, j) for j in store.list_journeys(db)]}


def detail_context(db: Session, viewer: Viewer, key: str) -> dict[str, Any]:
    """Return one journey's results, funnel chart and whether the viewer may pause it."""
    _readable(viewer)
    report = journey_results(db, store.get_journey(db, key))
    return {
        "report": report,
        "funnel_chart": funnel_chart(report["steps"]),
        "can_write": can(viewer.role, "journeys:write"),
    }
