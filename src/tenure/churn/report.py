"""The model report as one self-contained HTML page (inline SVG charts, no scripts, no CDN)."""

from __future__ import annotations

import html
from typing import Any

W, H, PAD = 360, 260, 36


def _xy(x: float, y: float, x_max: float = 1.0, y_max: float = 1.0) -> tuple[float, float]:
    return PAD + x / x_max * (W - 2 * PAD), H - PAD - y / y_max * (H - 2 * PAD)


def _frame(title: str, body: str, x_label: str, y_label: str) -> str:
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img">'
        f'<rect x="{PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" fill="none" stroke="#999"/>'
        f'{body}<text x="{W / 2}" y="{H - 6}" text-anchor="middle">{html.escape(x_label)}</text>'
        f'<text x="10" y="{H / 2}" transform="rotate(-90 10 {H / 2})" text-anchor="middle">'
        f"{html.escape(y_label)}</text></svg></figure>"
    )


def _polyline(points: list[tuple[float, float]], colour: str, dashed: bool = False) -> str:
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'


def reliability_svg(curve: list[dict[str, float]]) -> str:
    """Return the reliability curve: observed churn rate vs mean predicted probability."""
    top = max([0.05] + [max(c["mean_probability"], c["observed_rate"]) for c in curve]) * 1.1
    diagonal = _polyline([_xy(0, 0, top, top), _xy(top, top, top, top)], "#bbb", dashed=True)
    points = [_xy(c["mean_probability"], c["observed_rate"], top, top) for c in curve]
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#c0392b"/>' for x, y in points)
    body = diagonal + _polyline(points, "#c0392b") + dots
    return _frame(
        f"Reliability (axes to {top:.2f})",
        body,
        "mean predicted probability",
        "observed churn rate",
    )


def gains_svg(gains: list[dict[str, float]]) -> str:
    """Return the cumulative gains chart: share of churners captured vs share of accounts."""
    points = [_xy(0, 0)] + [_xy(g["share_contacted"], g["share_of_churners"]) for g in gains]
    body = _polyline([_xy(0, 0), _xy(1, 1)], "#bbb", dashed=True) + _polyline(points, "#2471a3")
    return _frame(
        "Cumulative gains", body, "share of accounts, highest risk first", "share of churners"
    )


def importance_svg(importance: list[dict[str, float]], top: int = 15) -> str:
    """Return horizontal bars of mean |SHAP| for the top features."""
    rows = importance[:top]
    biggest = max([r["mean_abs_contribution"] for r in rows] + [1e-9])
    height = 22 * len(rows) + 20
    bars = []
    for i, row in enumerate(rows):
        width = row["mean_abs_contribution"] / biggest * 260
        y = 10 + 22 * i
        bars.append(
            f'<text x="0" y="{y + 14}" font-size="12">{html.escape(row["feature"])}</text>'
            f'<rect x="230" y="{y}" width="{width:.1f}" height="16" fill="#7d3c98"/>'
            f'<text x="{234 + width:.1f}" y="{y + 13}" font-size="11">{row["mean_abs_contribution"]:.3f}</text>'
        )
    return (
        "<figure><figcaption>Feature importance (mean |SHAP|, log-odds)</figcaption>"
        f'<svg width="560" height="{height}">{"".join(bars)}</svg></figure>'
    )


def _metrics_table(report: dict[str, Any]) -> str:
    names = (
        "auc",
        "pr_auc",
        "brier",
        "accuracy",
        "f1",
        "top_decile_lift",
        "ece",
        "threshold",
        "rows",
        "churn_rate",
    )
    model, base = report["metrics"], report["baseline_logistic_metrics"]
    rows = "".join(
        f"<tr><td>{n}</td><td>{_fmt(model.get(n))}</td><td>{_fmt(base.get(n))}</td></tr>"
        for n in names
    )
    return f"<table><tr><th>metric</th><th>XGBoost (served)</th><th>logistic baseline</th></tr>{rows}</table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def _drift_section(drift: dict[str, Any] | None) -> str:
    if not drift:
        return "<p>No scored day yet: drift is measured when the model scores.</p>"
    flag = "DRIFTED" if drift["drifted"] else "stable"
    rows = "".join(
        f"<tr><td>{html.escape(r['feature'])}</td><td>{_fmt(r['psi'])}</td><td>{r['status']}</td></tr>"
        for r in drift["features"][:15]
    )
    return (
        f"<p>Scored day {drift['as_of']}: <strong>{flag}</strong>; score PSI {drift['score_psi']:.3f} "
        f"({drift['score_status']}).</p><table><tr><th>feature</th><th>PSI</th><th>status</th></tr>{rows}</table>"
    )


def render_html(report: dict[str, Any]) -> str:
    """Return the report page."""
    window = report["data_window"]
    rows = ", ".join(f"{part} {count:,}" for part, count in window["rows"].items())
    bayes = report.get("bayes_optimal")
    bayes_text = (
        f"<p>Simulated data: model AUC {bayes['model_auc']:.3f} vs Bayes-optimal {bayes['bayes_optimal_auc']:.3f} "
        f"on the same {bayes['rows']} accounts: ratio {bayes['ratio']:.3f}.</p>"
        if bayes
        else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Churn model {html.escape(str(report.get("version")))}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}figure{{display:inline-block;margin:1em}}</style></head><body>
<h1>Churn model {html.escape(str(report.get("model")))} v{html.escape(str(report.get("version")))}</h1>
<p>Horizon {report.get("horizon_days")} days. Fitted on {", ".join(window["fit"])}; calibrated (Platt) and threshold
chosen on {window["calibrate"]}; validated out of time on {window["validate"]} (rows: {rows}).
Last data day {window["last_data_day"]}.</p>{bayes_text}
<h2>Out-of-time validation</h2>{_metrics_table(report)}
{reliability_svg(report["reliability_curve"])}{gains_svg(report["gains"])}
{importance_svg(report["importance"])}
<h2>Drift</h2>{_drift_section(report.get("drift"))}
</body></html>"""
