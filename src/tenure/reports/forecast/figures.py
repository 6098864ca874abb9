"""The forecast's chart: recent actuals, the point forecast and its 80 %/95 % bands (Plotly spec)."""

from __future__ import annotations

from typing import Any

from tenure.rendering.charts import COLOURS, figure

TITLES = {"mrr": "MRR", "customers": "Customers", "logo_churn": "Churned customers"}
LINE = {"mrr": COLOURS["mrr"], "customers": COLOURS["new"], "logo_churn": COLOURS["churn"]}


def _band(x: list[str], low: list[float], high: list[float], name: str, alpha: str) -> list:
    """Return two traces that fill between LOW and HIGH."""
    edge = {"type": "scatter", "mode": "lines", "x": x, "line": {"width": 0}, "hoverinfo": "skip"}
    return [
        {**edge, "y": low, "showlegend": False, "name": f"{name} low"},
        {
            **edge,
            "y": high,
            "name": name,
            "fill": "tonexty",
            "fillcolor": f"rgba(37,99,235,{alpha})",
        },
    ]


def forecast_chart(report: dict[str, Any], series: str) -> dict[str, Any]:
    """Return one series' actuals, point forecast and calibrated 80 %/95 % bands."""
    actual = report.get("history", [])
    ahead = report["forecast"]
    x = [row["month"] for row in ahead]
    cells = [row[series] for row in ahead]
    data = [
        *_band(x, [c["lo95"] for c in cells], [c["hi95"] for c in cells], "95 % interval", "0.12"),
        *_band(x, [c["lo80"] for c in cells], [c["hi80"] for c in cells], "80 % interval", "0.25"),
        {
            "type": "scatter",
            "mode": "lines",
            "name": "actual",
            "x": [row["month"] for row in actual],
            "y": [row[series] for row in actual],
            "line": {"color": LINE[series], "width": 2.5},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "forecast",
            "x": x,
            "y": [c["point"] for c in cells],
            "line": {"color": LINE[series], "width": 2, "dash": "dash"},
        },
    ]
    return figure(data, yaxis={"tickformat": ".3~s", "rangemode": "tozero"}, margin={"t": 8})
