"""Render a scheduled report: Jinja2 HTML through the one environment, PDF with WeasyPrint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from tenure.errors import ConfigError
from tenure.rendering.charts import COLOURS, TIER_ORDER, tier_colour
from tenure.rendering.environment import template_environment
from tenure.reports.scheduled import svg

TEMPLATES = Path(__file__).parent / "templates"
FORECAST_SERIES = {"weekly": ("mrr",), "board": ("mrr", "customers")}
SERIES_TITLES = {"mrr": "MRR", "customers": "Customers"}


def forecast_svg(report: dict[str, Any], series: str) -> Markup:
    """Return one series' actuals and calibrated forecast bands as SVG."""
    actual = [(row["month"], row[series]) for row in report.get("history", [])[-12:]]
    ahead = [(row["month"], row[series]) for row in report["forecast"]]
    return svg.band_chart(actual, ahead, title=f"{SERIES_TITLES[series]} forecast")


def charts(content: dict[str, Any]) -> dict[str, Any]:
    """Return the report's charts as inline SVG (none where there is no data)."""
    months, out = content["months"], {}
    if months:
        out["movements"] = svg.movement_bars(months)
        rates = (("nrr", "NRR", COLOURS["nrr"]), ("grr", "GRR", COLOURS["grr"]))
        out["retention"] = svg.rate_lines(months, rates, title="NRR and GRR")
        churn = (("logo_churn_rate", "logo churn", COLOURS["logo"]),)
        out["churn"] = svg.rate_lines(months, churn, title="Logo churn rate")
    forecast = content.get("forecast") or {}
    if forecast.get("available"):
        names = FORECAST_SERIES.get(content["spec"].name, ("mrr",))
        out["forecast"] = {name: forecast_svg(forecast["report"], name) for name in names}
    health = content["tiers"].health
    if health:
        order = sorted(health, key=lambda t: TIER_ORDER.index(t) if t in TIER_ORDER else 99)
        counts = [(t, int(health[t]["accounts"]), tier_colour(t, i)) for i, t in enumerate(order)]
        out["health"] = svg.tier_bars(counts, title="Accounts per health tier")
    return out


def render_html(content: dict[str, Any]) -> str:
    """Return the report as one self-contained HTML page (inline SVG, no script)."""
    env = template_environment([TEMPLATES])
    page = env.get_template("scheduled_report.html")
    return page.render({**content, "charts": charts(content), "title": content["spec"].title})


def render_pdf(html: str) -> bytes:
    """Return the HTML page printed to PDF by WeasyPrint (needs Pango)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango's shared libraries are missing
        raise ConfigError(
            f"PDF reports need WeasyPrint and Pango ({exc}); install them with "
            "`pip install weasyprint` and `apt-get install libpango-1.0-0 libpangoft2-1.0-0`"
        ) from exc
    return HTML(string=html).write_pdf()
