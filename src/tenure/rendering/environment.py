"""The one Jinja2 environment of the dashboard and the standalone reports, with its filters."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from tenure.metrics.currency import to_major_units

SHARED_TEMPLATES = Path(__file__).parent / "templates"


HEAT_CUTS = (0.995, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.25)  # heat-10 … heat-1


def heat_class(value: float | None) -> str:
    """Return the CSS class of a retention cell: finer steps near 100 %, heat-over above it."""
    if value is None:
        return "heat-none"
    if value > 1.005:
        return "heat-over"
    level = next((10 - i for i, cut in enumerate(HEAT_CUTS) if value >= cut), 0)
    return f"heat-{level}"


def money(value: Any, currency: str = "", digits: int = 0) -> str:
    """Return money with thousands separators: 12,345 USD; 1.2M when large."""
    if value is None:
        return "—"
    size = abs(float(value))
    if size >= 1e6:
        text = f"{value / 1e6:.2f}M"
    elif size >= 1e5:
        text = f"{value / 1e3:.0f}k"
    else:
        text = f"{value:,.{digits}f}"
    return f"{text} {currency}".strip()


def percent(value: Any, digits: int = 1) -> str:
    """Return a fraction as a percentage, or an em dash."""
    return "—" if value is None else f"{float(value) * 100:.{digits}f} %"


def signed_percent(value: Any, digits: int = 1) -> str:
    """Return a change of a fraction in percentage points with its sign."""
    return "" if value is None else f"{float(value) * 100:+.{digits}f} pt"


def number(value: Any, digits: int = 0) -> str:
    """Return a number with separators, or an em dash."""
    if value is None:
        return "—"
    if not isinstance(value, int | float):
        return str(value)
    return f"{float(value):,.{digits}f}"


def when(value: Any) -> str:
    """Return a timestamp as 'YYYY-MM-DD HH:MM' (UTC) or a date as ISO text."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat() if isinstance(value, date) else str(value)


def chart_json(spec: dict[str, Any]) -> str:
    """Return a figure spec as compact JSON for a data-chart attribute."""
    return json.dumps(spec, separators=(",", ":"), default=str)


FILTERS = {
    "money": money,
    "percent": percent,
    "signed_percent": signed_percent,
    "number": number,
    "when": when,
    "chart": chart_json,
    "urlquote": lambda v: quote(str(v), safe=""),
    "minor": to_major_units,
    "heat": heat_class,
}


def template_environment(search_path: Iterable[Path] = ()) -> Environment:
    """Return a Jinja2 environment (autoescaped) over search_path, then the shared templates."""
    env = Environment(
        loader=FileSystemLoader([*search_path, SHARED_TEMPLATES]),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
    )
    env.filters.update(FILTERS)
    return env
