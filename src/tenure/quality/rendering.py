"""Render the data-quality report as one self-contained HTML page (no scripts, no CDN)."""

from __future__ import annotations

from html import escape
from string import Template

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
at four cadences.</p>
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


def render_html(report: QualityReport) -> str:
    """Return the whole report as a self-contained HTML document."""
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
        rows="\n".join(check_row(check) for check in shown),
        no_data=no_data,
        weights=weights,
    )
