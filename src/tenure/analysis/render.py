"""Standalone HTML pages of the cohorts, survival and drivers reports (Jinja2, Plotly inline).

The row builders here also feed the CLI's tables on stdout, so a number reads the same in
the terminal and in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tenure.metrics.cohorts import MATRICES
from tenure.rendering import charts
from tenure.rendering.standalone import render_report


def fmt(value: Any, digits: int = 3) -> str:
    """Return a number or text for display ("–" for missing)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return str(value)


def survival_group_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Return one row per Kaplan–Meier group: label, accounts, churned, median, S(12/24/36)."""
    rows = []
    for group in report["groups"]:
        at = {}
        for months in (12, 24, 36):
            before = [p["survival"] for p in group["curve"] if p["t"] <= months]
            at[months] = before[-1] if before else 1.0
        rows.append(
            [
                group["label"],
                group["accounts"],
                group["events"],
                group["median_lifetime"],
                at[12],
                at[24],
                at[36],
            ]
        )
    return rows


GROUP_HEADERS = ["group", "accounts", "churned", "median months", "S(12)", "S(24)", "S(36)"]
COX_HEADERS = ["covariate", "hazard ratio", "95% CI low", "95% CI high", "p"]
DRIVER_HEADERS = ["rank", "metric", "kind", "score", "spread", "group", "cohorts"]


def cox_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Return one row per Cox covariate."""
    return [
        [c["covariate"], c["hazard_ratio"], c["ci_low"], c["ci_high"], c["p"]]
        for c in report["cox"]
    ]


def logrank_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Return the overall and pairwise log-rank tests."""
    test = report["logrank"]
    if test is None:
        return []
    rows: list[list[Any]] = [["all groups", test["statistic"], test["df"], test["p"]]]
    rows += [[f"{p['a']} vs {p['b']}", p["statistic"], 1, p["p"]] for p in test["pairs"]]
    return rows


def driver_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Return one row per driver with its cohorts summarised."""
    return [
        [
            rank,
            d["metric"],
            d["kind"],
            d["score"],
            d["spread"],
            d["group"],
            "; ".join(
                f"{c['label']}: {c['churn_rate']:.1%} of {c['accounts']:,}" for c in d["cohorts"]
            ),
        ]
        for rank, d in enumerate(report["drivers"], start=1)
    ]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """Return a table for `_tables.html`: cells as text, numbers flagged to align right."""
    return {
        "headers": list(headers),
        "rows": [[(fmt(c), isinstance(c, int | float)) for c in row] for row in rows],
    }


def survival_html(report: dict[str, Any]) -> str:
    """Return the survival report as a standalone HTML page."""
    references = ", ".join(f"{k} = {v}" for k, v in report["cox_reference_levels"].items())
    context = {
        "title": "Survival",
        "report": report,
        "by": report["by"] or "all accounts",
        "median": fmt(report["median_lifetime"]),
        "references": references or "none",
        "groups": table(GROUP_HEADERS, survival_group_rows(report)),
        "logrank": table(["test", "χ²", "df", "p"], logrank_rows(report)),
        "cox": table(COX_HEADERS, cox_rows(report)),
        "curves_chart": charts.survival_curves(report["groups"]) if report["groups"] else None,
    }
    return render_report("survival_report.html", context)


def drivers_html(report: dict[str, Any]) -> str:
    """Return the drivers report as a standalone HTML page."""
    context = {
        "title": "Churn drivers",
        "report": report,
        "churn_rate": fmt(report["churn_rate"]),
        "drivers": table(DRIVER_HEADERS, driver_rows(report)),
        "scores_chart": charts.driver_scores(report["drivers"]) if report["drivers"] else None,
    }
    return render_report("drivers_report.html", context)


def heat_colour(value: float) -> str:
    """Return a CSS background: red at 0 %, amber at 50 %, green at 100 %, teal above."""
    hue = 120 * min(max(value, 0.0), 1.0) + 60 * min(max(value - 1.0, 0.0), 1.0)
    return f"hsl({hue:.0f},65%,78%)"


def cohorts_html(report: Mapping[str, Any]) -> str:
    """Return the logo, net and gross MRR matrices as a standalone HTML page."""
    matrices = [
        {
            "key": key,
            "title": title,
            "chart": charts.cohort_curves(report["cohorts"], key) if report["cohorts"] else None,
        }
        for key, title in MATRICES.items()
    ]
    context = {
        "title": "Signup cohorts",
        "report": report,
        "matrices": matrices,
        "heat_colour": heat_colour,
    }
    return render_report("cohorts_report.html", context)
