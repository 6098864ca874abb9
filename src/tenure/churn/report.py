"""The churn model report: what the model page and the standalone `--html` report both show.

The figures come from `tenure.rendering.charts.model_charts`, the tables from the shared
partials in `rendering/templates/` (`_model_validation.html`), so the dashboard's model card
and the file `tenure model report --html` writes cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tenure.rendering.charts import model_charts
from tenure.rendering.standalone import render_report

METRICS = (
    ("auc", "AUC", 3),
    ("pr_auc", "PR-AUC", 3),
    ("brier", "Brier", 4),
    ("ece", "ECE", 4),
    ("top_decile_lift", "Top-decile lift", 2),
    ("f1", "F1", 3),
    ("accuracy", "Accuracy", 3),
    ("threshold", "Threshold", 2),
    ("rows", "Rows", 0),
    ("churn_rate", "Churn rate", 4),
)


@dataclass(frozen=True)
class MetricRow:
    """One out-of-time metric of the served model beside the logistic baseline's."""

    label: str
    digits: int
    model: float
    baseline: float | None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def metric_rows(report: dict[str, Any]) -> list[MetricRow]:
    """Return the served model's and the logistic baseline's metrics side by side."""
    model = report.get("metrics") or {}
    base = report.get("baseline_logistic_metrics") or {}
    return [
        MetricRow(label, digits, model[key], base.get(key) if _finite(base.get(key)) else None)
        for key, label, digits in METRICS
        if _finite(model.get(key))
    ]


def report_context(report: dict[str, Any], drift: dict[str, Any] | None) -> dict[str, Any]:
    """Return what both the model page and the model report show of a model report."""
    return {
        "window": report.get("data_window") or {},
        "bayes": report.get("bayes_optimal"),
        "metrics": metric_rows(report),
        "drift": drift,
        "charts": model_charts(report, drift),
    }


def render_html(report: dict[str, Any]) -> str:
    """Return the report page (`report` holds model, version, horizon_days and drift)."""
    context = {
        "title": f"Churn model {report.get('model')} v{report.get('version')}",
        "horizon_days": report.get("horizon_days"),
        **report_context(report, report.get("drift")),
    }
    return render_report("model_report.html", context)
