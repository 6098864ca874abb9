"""Render a standalone HTML report: one file, Plotly.js inline, opens offline (no CDN)."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from markupsafe import Markup

from tenure.errors import ConfigError
from tenure.rendering.environment import template_environment


def plotly_bundle() -> Traversable:
    """Return plotly.min.js as bundled with the installed `plotly` Python package."""
    source = resources.files("plotly") / "package_data" / "plotly.min.js"
    if not source.is_file():
        raise ConfigError("the installed plotly package has no package_data/plotly.min.js")
    return source


def inline_script(text: str) -> Markup:
    """Return script text safe inside a <script> element (no early end tag)."""
    return Markup(text.replace("</script", "<\\/script").replace("<!--", "<\\!--"))


def render_report(template: str, context: dict[str, Any]) -> str:
    """Return a report template rendered as a whole page with Plotly.js read at render time."""
    env = template_environment()
    plotly_js = inline_script(plotly_bundle().read_text(encoding="utf-8"))
    return env.get_template(template).render({**context, "plotly_js": plotly_js})
