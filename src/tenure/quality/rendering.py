"""Render the data-quality report as one standalone HTML page (Jinja2, Plotly.js inline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenure.quality.scoring import BELOW_BAR, NO_DATA, PASS, QualityReport
from tenure.rendering import charts
from tenure.rendering.standalone import render_report

VERDICTS = {PASS: "meets the bar", BELOW_BAR: "below the bar", NO_DATA: "no data"}


def format_score(score: float | None) -> str:
    """Return a score as `97.25 %`, or `no data`."""
    return "no data" if score is None else f"{score:.2f} %"


def format_psi(psi: float | None) -> str:
    """Return a PSI as `0.123`, or `n/a` when it could not be measured."""
    return "n/a" if psi is None else f"{psi:.3f}"


DRIFT_CLASSES = frozenset({"stable", "moderate", "drifted", "missing", "unreadable"})


def _drift_css(status: str) -> str:
    """Return a drift status as a CSS class, empty for anything unexpected read from a file."""
    return status if status in DRIFT_CLASSES else ""


def model_label(section: Mapping[str, Any]) -> str:
    """Return `churn-90d v3` for the model a drift report was measured on."""
    name = section["model"] or "unknown model"
    return f"{name} v{section['model_version']}" if section["model_version"] else name


def drift_headline(section: Mapping[str, Any]) -> str:
    """Return the one-line verdict of the model-drift section (plain text)."""
    status = section["status"]
    if status == "unreadable":
        return "unreadable"
    if status != "drifted":
        return status
    names = section["drifted_features"]
    count = f"{len(names)} feature{'s' if len(names) != 1 else ''}"
    shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    return f"drifted: {count}" + (f" ({shown})" if names else "")


PROVISIONAL = "risk tiers of this day are provisional: the score PSI exceeds the drift threshold"


def drift_view(section: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return what the drift block shows: box style, verdict, score PSI, note, worst features."""
    if section is None:
        return None
    status = section["status"]
    css = {"drifted": "alert", "stable": "ok"}.get(status, "warn")
    score = None
    if section["score_status"] is not None:
        score = f"{format_psi(section['score_psi'])} ({section['score_status']})"
    rows = [
        {
            "feature": row["feature"],
            "psi": format_psi(row["psi"]),
            "status": row["status"],
            "css": _drift_css(row["status"]),
        }
        for row in section["worst_features"]
    ]
    return {
        "css": "warn" if section["stale"] and css == "ok" else css,
        "label": model_label(section),
        "as_of": section["as_of"],
        "status_css": _drift_css(status),
        "headline": drift_headline(section),
        "score": score,
        "note": section["note"],
        "note_css": "stale" if section["stale"] else _drift_css(status),
        "provisional": PROVISIONAL if section.get("tiers_provisional") else None,
        "rows": rows,
    }


def quality_charts(report: Mapping[str, Any]) -> dict[str, Any]:
    """Return the charts of a data-quality report dict (the page and the file show the same)."""
    checks = [c for c in report["checks"] if c["table"] not in report["no_data_tables"]]
    return {"checks_chart": charts.check_scores(checks, report["bar"]) if checks else None}


def render_html(report: QualityReport) -> str:
    """Return the whole report (and the churn-model drift, if any) as one HTML document."""
    data = report.to_dict()
    context = {
        "report": data,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "bar": f"{report.bar:g}",
        "verdict": VERDICTS[report.status],
        "weights": ", ".join(f"{kind} {weight:g}" for kind, weight in report.weights.items()),
        "drift": drift_view(report.model_drift),
        "format_score": format_score,
        **quality_charts(data),
    }
    return render_report("dq_report.html", context)
