"""Plotly figure specs (plain dicts) for the dashboard and the standalone reports.

Pure functions: data in, a `{"data": [...], "layout": {...}}` dict out; no I/O. The page
puts the spec in a `data-chart` attribute (the `chart` macro of `_figure.html`) and the
browser draws it with Plotly.js (app.js on the dashboard, an inline script in a report).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

INK, MUTED, GRID = "#1f2937", "#6b7280", "#eef0f3"
COLOURS = {
    "new": "#2563eb",
    "expansion": "#16a34a",
    "reactivation": "#0891b2",
    "contraction": "#f59e0b",
    "churn": "#dc2626",
    "mrr": "#111827",
    "nrr": "#7c3aed",
    "grr": "#0d9488",
    "logo": "#dc2626",
}
TIER_COLOURS = {
    "green": "#16a34a",
    "yellow": "#eab308",
    "red": "#dc2626",
    "low": "#16a34a",
    "medium": "#f59e0b",
    "high": "#dc2626",
}
TIER_ORDER = ("red", "yellow", "green", "high", "medium", "low")
FALLBACK = ("#2563eb", "#7c3aed", "#0d9488", "#f59e0b", "#db2777", "#64748b")


def layout(**extra: Any) -> dict[str, Any]:
    """Return the shared look: small margins, light grid, legend on top, system font."""
    base: dict[str, Any] = {
        "margin": {"l": 48, "r": 16, "t": 28, "b": 36},
        "font": {"family": "Inter, system-ui, sans-serif", "size": 12, "color": INK},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "xaxis": {"gridcolor": GRID, "linecolor": GRID, "automargin": True},
        "yaxis": {"gridcolor": GRID, "zerolinecolor": "#d1d5db", "automargin": True},
        "legend": {
            "orientation": "h",
            "y": 1.0,
            "yanchor": "bottom",
            "x": 0,
            "font": {"size": 11},
        },
        "hovermode": "x unified",
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def figure(data: list[dict[str, Any]], **layout_extra: Any) -> dict[str, Any]:
    """Return a figure spec."""
    return {"data": data, "layout": layout(**layout_extra)}


def tier_colour(tier: str, index: int = 0) -> str:
    """Return the colour of a tier name (green/yellow/red, low/medium/high), else a palette one."""
    return TIER_COLOURS.get(tier.lower(), FALLBACK[index % len(FALLBACK)])


def mrr_movements(months: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return stacked bars of each month's MRR movements with the month-end MRR as a line."""
    x = [m["month"] for m in months]
    bars = []
    for key in ("new", "expansion", "reactivation", "contraction", "churn"):
        sign = -1 if key in ("contraction", "churn") else 1
        bars.append(
            {
                "type": "bar",
                "name": key,
                "x": x,
                "y": [sign * (m.get(key) or 0) for m in months],
                "marker": {"color": COLOURS[key]},
                "hovertemplate": "%{y:,.0f}",
            }
        )
    line = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "MRR",
        "x": x,
        "y": [m.get("mrr_end") for m in months],
        "yaxis": "y2",
        "line": {"color": COLOURS["mrr"], "width": 2.5},
        "hovertemplate": "%{y:,.0f}",
    }
    return figure(
        [*bars, line],
        barmode="relative",
        yaxis={"title": {"text": "movement"}, "tickformat": ".3~s"},
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "tickformat": ".3~s"},
        margin={"r": 48},
    )


def retention_rates(months: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return NRR, GRR and logo churn per month as lines (percentages)."""
    x = [m["month"] for m in months]
    series = (("nrr", "NRR"), ("grr", "GRR"), ("logo_churn_rate", "logo churn"))
    data = []
    for key, name in series:
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": x,
                "y": [m.get(key) for m in months],
                "yaxis": "y2" if key == "logo_churn_rate" else "y",
                "line": {"color": COLOURS["logo" if key == "logo_churn_rate" else key]},
                "hovertemplate": "%{y:.1%}",
            }
        )
    return figure(
        data,
        yaxis={"tickformat": ".0%"},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickformat": ".1%",
            "rangemode": "tozero",
        },
        margin={"r": 48},
    )


def tier_bars(counts: dict[str, int], title: str = "accounts") -> dict[str, Any]:
    """Return a horizontal bar per tier."""
    order = sorted(counts, key=lambda t: TIER_ORDER.index(t) if t in TIER_ORDER else 99)
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": order,
            "x": [counts[t] for t in order],
            "marker": {"color": [tier_colour(t, i) for i, t in enumerate(order)]},
            "hovertemplate": "%{x:,} " + title + "<extra></extra>",
            "text": [f"{counts[t]:,}" for t in order],
            "textposition": "auto",
        }
    ]
    return figure(data, hovermode="closest", showlegend=False, margin={"l": 64, "b": 24})


def line_history(
    x: Sequence[Any], y: Sequence[Any], *, name: str, colour: str, fmt: str = ",.0f", **axis: Any
) -> dict[str, Any]:
    """Return one filled line over time (MRR, health, churn probability history)."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers" if len(x) < 40 else "lines",
            "name": name,
            "x": list(x),
            "y": list(y),
            "line": {"color": colour, "width": 2.5, "shape": "hv" if name == "MRR" else "linear"},
            "fill": "tozeroy",
            "fillcolor": colour + "1f",
            "hovertemplate": "%{y:" + fmt + "}<extra></extra>",
        }
    ]
    return figure(data, showlegend=False, yaxis=axis or {}, margin={"t": 8})


def reliability(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the reliability curve: mean predicted vs observed churn per bin, with the diagonal."""
    x = [p["predicted"] for p in points]
    top = min(1.0, 1.15 * max([*x, *(p["observed"] for p in points), 0.01]))
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "perfect",
            "x": [0, top],
            "y": [0, top],
            "line": {"color": "#9ca3af", "dash": "dot"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "model",
            "x": x,
            "y": [p["observed"] for p in points],
            "line": {"color": COLOURS["nrr"], "width": 2.5},
        },
    ]
    return figure(
        data,
        hovermode="closest",
        xaxis={"title": {"text": "predicted"}, "tickformat": ".0%", "range": [0, top]},
        yaxis={"title": {"text": "observed"}, "tickformat": ".0%", "range": [0, top]},
    )


def lift(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the lift per decile (1 = no better than random)."""
    data = [
        {
            "type": "bar",
            "x": [str(p["decile"]) for p in points],
            "y": [p["lift"] for p in points],
            "marker": {"color": COLOURS["new"]},
            "hovertemplate": "decile %{x}: lift %{y:.2f}<extra></extra>",
        }
    ]
    return figure(data, showlegend=False, hovermode="closest", xaxis={"title": {"text": "decile"}})


def ranked_bars(
    labels: Sequence[str],
    values: Sequence[float],
    colour: str | Sequence[str],
    *,
    hover: str = "%{y}: %{x:.3f}<extra></extra>",
    **layout_extra: Any,
) -> dict[str, Any]:
    """Return horizontal bars listed top to bottom (Plotly draws the last label on top)."""
    colours = colour if isinstance(colour, str) else list(reversed(colour))
    bars = {
        "type": "bar",
        "orientation": "h",
        "y": list(reversed(labels)),
        "x": list(reversed(values)),
        "marker": {"color": colours},
        "hovertemplate": hover,
    }
    extra = {"margin": {"l": 170}, **layout_extra}
    return figure([bars], showlegend=False, hovermode="closest", **extra)


def importance(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return mean |SHAP| per feature as horizontal bars, largest on top."""
    values = [r["mean_abs_contribution"] for r in rows]
    return ranked_bars([r["feature"] for r in rows], values, COLOURS["nrr"])


def drift(psi: dict[str, float]) -> dict[str, Any]:
    """Return PSI per feature as bars, coloured by the usual 0.1 / 0.25 thresholds."""
    names = sorted(psi, key=lambda k: -psi[k])
    colours = [
        "#dc2626" if psi[n] >= 0.25 else "#f59e0b" if psi[n] >= 0.1 else "#16a34a" for n in names
    ]
    values = [psi[n] for n in names]
    hover = "%{y}: PSI %{x:.3f}<extra></extra>"
    return ranked_bars(names, values, colours, hover=hover, margin={"l": 160})


def gains(points: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return cumulative gains: share of churners captured vs share of accounts contacted."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "random",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": "#9ca3af", "dash": "dot"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "model",
            "x": [0, *(p["share_contacted"] for p in points)],
            "y": [0, *(p["share_of_churners"] for p in points)],
            "line": {"color": COLOURS["new"], "width": 2.5},
        },
    ]
    return figure(
        data,
        hovermode="closest",
        xaxis={"title": {"text": "share of accounts, highest risk first"}, "tickformat": ".0%"},
        yaxis={"title": {"text": "share of churners"}, "tickformat": ".0%"},
    )


@dataclass(frozen=True)
class ModelCharts:
    """The churn model's charts, as drawn on the model page and in the model report."""

    reliability: dict[str, Any] | None
    gains: dict[str, Any] | None
    lift: dict[str, Any] | None
    importance: dict[str, Any] | None
    drift: dict[str, Any] | None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def model_charts(
    report: Mapping[str, Any], drift_report: Mapping[str, Any] | None, *, top: int = 12
) -> ModelCharts:
    """Return the charts of a model report (reliability, gains, lift, importance, drift)."""
    curve = [
        {"predicted": p["mean_probability"], "observed": p["observed_rate"]}
        for p in report.get("reliability_curve") or []
    ]
    cumulative = report.get("gains") or []
    deciles = [{"decile": round(g["share_contacted"] * 10), "lift": g["lift"]} for g in cumulative]
    ranked = (report.get("importance") or [])[:top]
    features = (drift_report or {}).get("features", [])[:15]
    psi = {r["feature"]: r["psi"] for r in features if _finite(r["psi"])}
    return ModelCharts(
        reliability=reliability(curve) if curve else None,
        gains=gains(cumulative) if cumulative else None,
        lift=lift(deciles) if deciles else None,
        importance=importance(ranked) if ranked else None,
        drift=drift(psi) if psi else None,
    )


def survival_curves(groups: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return one Kaplan–Meier step curve per group (share of accounts still paying)."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": group["label"],
            "x": [p["t"] for p in group["curve"]],
            "y": [p["survival"] for p in group["curve"]],
            "line": {"shape": "hv", "width": 2.5, "color": FALLBACK[i % len(FALLBACK)]},
            "hovertemplate": "month %{x}: %{y:.1%}",
        }
        for i, group in enumerate(groups)
    ]
    return figure(
        data,
        xaxis={"title": {"text": "months since signup"}},
        yaxis={"title": {"text": "still paying"}, "tickformat": ".0%", "range": [0, 1.02]},
    )


def driver_scores(drivers: Sequence[Mapping[str, Any]], *, top: int = 20) -> dict[str, Any]:
    """Return each driver's score as horizontal bars, strongest on top."""
    shown = drivers[:top]
    return ranked_bars([d["metric"] for d in shown], [d["score"] for d in shown], COLOURS["churn"])


def cohort_curves(cohorts: Sequence[Mapping[str, Any]], matrix: str) -> dict[str, Any]:
    """Return one retention line per signup cohort over months since signup."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": entry["cohort"],
            "x": list(range(len(entry[matrix]))),
            "y": list(entry[matrix]),
            "line": {"color": FALLBACK[i % len(FALLBACK)]},
            "hovertemplate": "%{y:.1%}",
        }
        for i, entry in enumerate(cohorts)
    ]
    return figure(
        data,
        xaxis={"title": {"text": "months since signup"}, "dtick": 1},
        yaxis={"tickformat": ".0%", "rangemode": "tozero"},
    )


CHECK_COLOURS = {"pass": "#16a34a", "below_bar": "#dc2626"}


def check_scores(checks: Sequence[Mapping[str, Any]], bar: float) -> dict[str, Any]:
    """Return each scored data-quality check as a bar (%), coloured against the bar."""
    scored = [c for c in checks if c["score"] is not None]
    names = [
        f"{c['table']}{'/' + c['source'] if c['source'] else ''} · {c['check']}" for c in scored
    ]
    colours = [CHECK_COLOURS.get(c["status"], MUTED) for c in scored]
    line = {"type": "line", "x0": bar, "x1": bar, "yref": "paper", "y0": 0, "y1": 1}
    return ranked_bars(
        names,
        [c["score"] for c in scored],
        colours,
        hover="%{y}: %{x:.2f} %<extra></extra>",
        margin={"l": 220},
        xaxis={"range": [0, 100.5], "ticksuffix": " %"},
        shapes=[{**line, "line": {"color": INK, "dash": "dot", "width": 1}}],
        height=max(240, 22 * len(scored) + 60),
    )
