"""The dashboard's experiments pages: the list and one experiment's results with its lift chart."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.errors import InputError
from tenure.experiments import results, service
from tenure.experiments.schemas import Method
from tenure.rendering.charts import FALLBACK, figure
from tenure.web.session import Viewer

DECISION_PILLS = {"ship": "tier-green", "stop": "tier-red", "keep_testing": "tier-yellow"}


def lift_chart(metrics: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return lift (%) with its interval per metric, one marker series per treatment."""
    treatments: dict[str, dict[str, list]] = {}
    for metric in metrics:
        label = metric["metric"] + (" (guardrail)" if metric.get("guardrail") else "")
        for row in metric["variants"][1:]:
            if row.get("lift") is None:
                continue
            series = treatments.setdefault(row["variant"], {"x": [], "y": [], "up": [], "down": []})
            lift = row["lift"] * 100
            series["x"].append(lift)
            series["y"].append(label)
            series["up"].append((row.get("lift_ci_high") or row["lift"]) * 100 - lift)
            series["down"].append(lift - (row.get("lift_ci_low") or row["lift"]) * 100)
    if not treatments:
        return None
    data = [
        {"type": "scatter", "mode": "markers", "name": variant, "x": s["x"], "y": s["y"],
         "marker": {"size": 10, "color": FALLBACK[i % len(FALLBACK)]},
         "error_x": {"type": "data", "symmetric": False, "array": s["up"], "arrayminus": s["down"]},
         "hovertemplate": "%{y}: %{x:.1f} %<extra>" + variant + "</extra>"}
        for i, (variant, s) in enumerate(treatments.items())
    ]  # fmt: skip
    zero = {"type": "line", "x0": 0, "x1": 0, "yref": "paper", "y0": 0, "y1": 1,
            "line": {"color": "#9ca3af", "dash": "dot"}}  # fmt: skip
    return figure(
        data, xaxis={"title": {"text": "lift vs control (%)"}, "zeroline": False},
        yaxis={"autorange": "reversed"}, shapes=[zero], hovermode="closest",
    )  # fmt: skip


def _readable(viewer: Viewer) -> None:
    if not can(viewer.role, "experiments:read"):
        raise Forbidden(f"the role {viewer.role!r} may not read experiments")


def list_context(db: Session, viewer: Viewer) -> dict[str, Any]:
    """Return every experiment with its exposed units and progress."""
    _readable(viewer)
    rows = []
    for experiment in service.list_experiments(db_session=db):
        counts = service.variant_counts(db_session=db, experiment=experiment)
        exposed = sum(c["exposed"] for c in counts.values())
        row = results.describe(experiment)
        row.update(exposed=exposed, progress=results.progress_of(experiment, exposed))
        rows.append(row)
    return {"experiments": rows}


def detail_context(db: Session, viewer: Viewer, key: str, method: str) -> dict[str, Any]:
    """Return one experiment's results, its lift chart and decision pill."""
    _readable(viewer)
    if method not in {m.value for m in Method}:
        raise InputError(f"method must be frequentist, bayesian or sequential, got {method!r}")
    report = results.experiment_results(db_session=db, key=key, method=Method(method))
    decision = report["analysis"]["decision"]
    return {
        "report": report,
        "method": method,
        "methods": [m.value for m in Method],
        "lift_chart": lift_chart(report["analysis"]["metrics"]),
        "decision_pill": DECISION_PILLS.get(decision, "muted-pill"),
    }
