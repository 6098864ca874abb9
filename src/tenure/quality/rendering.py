"""Render the data-quality report as one self-contained HTML page (no scripts, no CDN)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from string import Template
from typing import Any

from tenure.quality.scoring import BELOW_BAR, NO_DATA, PASS, CheckResult, QualityReport

PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tenure data quality — $overall</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; }
.muted { color: #666; }
.score { font-size: 2.5rem; font-weight: 700; }
.pass { color: #1a7f37; }
.below_bar { color: #b42318; }
.no_data, .info { color: #666; }
section.alert { border: 2px solid #b42318; background: #fef3f2; padding: .5rem 1rem 1rem; }
section.ok { border: 2px solid #1a7f37; background: #f0fdf4; padding: .5rem 1rem; }
section.warn { border: 2px solid #b54708; background: #fffaeb; padding: .5rem 1rem; }
.drifted { color: #b42318; font-weight: 700; }
.moderate, .stale, .unreadable, .missing { color: #b54708; }
.stable { color: #1a7f37; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.below_bar td { background: #fef3f2; }
tr.no_data td, tr.info td { color: #666; }
</style>
</head>
<body>
<h1>Data quality report</h1>
<p class="muted">Generated $generated_at. Bar: $bar&nbsp;%.</p>
<p>Overall score <span class="score $status">$overall</span> <span class="$status">$verdict</span></p>
$below_bar
$model_drift
<h2>All checks</h2>
<table>
<thead><tr><th>Table</th><th>Check</th><th>Source</th><th class="num">Score</th>
<th class="num">Rows</th><th>Status</th><th>Detail</th></tr></thead>
<tbody>
$rows
</tbody>
</table>
$no_data
<h2>How the score is computed</h2>
<p>Each check scores 0–100&nbsp;%. The overall score is their mean weighted by check kind
($weights). Checks over no rows are shown as “no data” and not scored; weight 0 means
information only. Freshness is 100&nbsp;% within the expected cadence and falls linearly to 0
at four cadences. Churn-model drift is shown, never scored: it leaves the overall score alone.</p>
</body>
</html>
""")


def format_score(score: float | None) -> str:
    """Return a score as `97.25 %`, or `no data`."""
    return "no data" if score is None else f"{score:.2f} %"


def _cell(value: object, css: str = "") -> str:
    text = "" if value is None else str(value)
    attr = f' class="{css}"' if css else ""
    return f"<td{attr}>{escape(text)}</td>"


def check_row(check: CheckResult) -> str:
    """Return one <tr> of the checks table."""
    name = check.check if check.rule is None else f"{check.check} ({check.rule})"
    cells = (
        _cell(check.table),
        _cell(name),
        _cell(check.source),
        _cell(format_score(check.score), "num"),
        _cell(check.rows, "num"),
        _cell(check.status.replace("_", " "), check.status),
        _cell(check.detail),
    )
    return f'<tr class="{escape(check.status)}">' + "".join(cells) + "</tr>"


def below_bar_section(report: QualityReport) -> str:
    """Return the highlighted list of checks under the bar (or a short all-clear)."""
    below = report.below_bar
    if not below:
        return '<section class="ok"><p>No check is below the bar.</p></section>'
    items = "\n".join(
        f"<tr>{_cell(c.table)}{_cell(c.check)}{_cell(c.source)}"
        f"{_cell(format_score(c.score), 'num')}{_cell(f'−{c.impact:.2f}', 'num')}"
        f"{_cell(c.detail)}</tr>"
        for c in below
    )
    return (
        '<section class="alert">'
        f"<h2>Below the {report.bar:g}&nbsp;% bar ({len(below)} checks, largest drag first)</h2>"
        "<table><thead><tr><th>Table</th><th>Check</th><th>Source</th>"
        '<th class="num">Score</th><th class="num">Points off overall</th><th>Detail</th>'
        f"</tr></thead><tbody>\n{items}\n</tbody></table></section>"
    )


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


def model_drift_section(section: Mapping[str, Any] | None) -> str:
    """Return the churn-model drift block: verdict, score PSI and the worst features."""
    if section is None:
        return (
            "<h2>Churn model drift</h2>"
            '<p class="muted">No scored day yet: drift is measured when the model scores.</p>'
        )
    status = section["status"]
    css = {"drifted": "alert", "stable": "ok"}.get(status, "warn")
    if section["stale"] and css == "ok":
        css = "warn"
    verdict = f'<span class="{_drift_css(status)}">{escape(drift_headline(section))}</span>'
    if section["score_status"] is not None:
        score = f"{format_psi(section['score_psi'])} ({section['score_status']})"
        verdict += f"; score PSI {escape(score)}"
    lines = [
        f'<section class="{css}"><h2>Churn model drift</h2>',
        f"<p>Model {escape(model_label(section))}, scored day {escape(section['as_of'])}: "
        f"{verdict}</p>",
    ]
    if section.get("tiers_provisional"):
        lines.append(f'<p class="alert">{PROVISIONAL}</p>')
    if section["note"]:
        note_css = "stale" if section["stale"] else _drift_css(status)
        lines.append(f'<p class="{note_css}">{escape(section["note"])}</p>')
    if section["worst_features"]:
        rows = "".join(
            f'<tr class="{_drift_css(row["status"])}">{_cell(row["feature"])}'
            f"{_cell(format_psi(row['psi']), 'num')}"
            f"{_cell(row['status'], _drift_css(row['status']))}</tr>"
            for row in section["worst_features"]
        )
        lines.append(
            '<table><thead><tr><th>Feature (worst first)</th><th class="num">PSI</th>'
            f"<th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    lines.append("</section>")
    return "\n".join(lines)


def render_html(report: QualityReport) -> str:
    """Return the whole report (and the churn-model drift, if any) as one HTML document."""
    empty = report.no_data_tables
    no_data = (
        f"<h2>No data</h2><p>{escape(', '.join(empty))}: no rows, not scored.</p>" if empty else ""
    )
    weights = ", ".join(f"{escape(kind)} {weight:g}" for kind, weight in report.weights.items())
    verdict = {PASS: "meets the bar", BELOW_BAR: "below the bar", NO_DATA: "no data"}
    shown = [c for c in report.checks if c.table not in empty]
    return PAGE.substitute(
        overall=escape(format_score(report.overall_score)),
        generated_at=escape(report.generated_at.isoformat(timespec="seconds")),
        bar=f"{report.bar:g}",
        status=report.status,
        verdict=verdict[report.status],
        below_bar=below_bar_section(report),
        model_drift=model_drift_section(report.model_drift),
        rows="\n".join(check_row(check) for check in shown),
        no_data=no_data,
        weights=weights,
    )
