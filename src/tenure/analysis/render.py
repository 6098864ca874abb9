"""Self-contained HTML pages of the survival and drivers reports (no CDN, no template engine)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}"
)


def fmt(value: Any, digits: int = 3) -> str:
    """Return a number or text for display ("–" for missing)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Return an HTML table; numbers are right-aligned and every cell is escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(fmt(c))}</td>'
            if isinstance(c, int | float)
            else f"<td>{escape(fmt(c))}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, sections: Iterable[tuple[str, str]]) -> str:
    """Return a complete HTML document: a title and (heading, html) sections."""
    parts = "".join(f"<h2>{escape(h)}</h2>{content}" for h, content in sections)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{parts}</body></html>\n"
    )


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


def survival_html(report: dict[str, Any]) -> str:
    """Return the survival report as a self-contained HTML page."""
    by = report["by"] or "all accounts"
    references = ", ".join(f"{k} = {v}" for k, v in report["cox_reference_levels"].items())
    sections = [
        (
            f"Kaplan–Meier by {by}",
            f"<p>{report['accounts']:,} accounts, {report['events']:,} churned; median lifetime"
            f" {escape(fmt(report['median_lifetime']))} months.</p>"
            + table(GROUP_HEADERS, survival_group_rows(report)),
        ),
        ("Log-rank tests", table(["test", "χ²", "df", "p"], logrank_rows(report))),
        (
            "Cox proportional hazards",
            f"<p>Reference levels: {escape(references or 'none')}.</p>"
            + table(COX_HEADERS, cox_rows(report)),
        ),
    ]
    return page("Survival", sections)


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


def drivers_html(report: dict[str, Any]) -> str:
    """Return the drivers report as a self-contained HTML page."""
    intro = (
        f"<p>{report['accounts']:,} accounts, churn rate {escape(fmt(report['churn_rate']))};"
        f" score: {escape(report['score'])}.</p>"
    )
    return page(
        "Churn drivers", [("Ranked drivers", intro + table(DRIVER_HEADERS, driver_rows(report)))]
    )
