"""The model report file and the dashboard's model page draw the same charts from one builder."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from types import SimpleNamespace

from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.db.session import get_engine, session_scope
from tenure.web.model_card import model_context
from tenure.web.rendering import build_templates

from .conftest import copy_book

CHART = re.compile(r'id="(chart-[\w-]+)" data-chart="([^"]*)"')
MODEL_CHARTS = {"chart-reliability", "chart-gains", "chart-lift", "chart-importance", "chart-drift"}


def page_charts(page: str) -> dict[str, dict]:
    """Return the figure specs a page carries, by element id."""
    return {key: json.loads(html.unescape(spec)) for key, spec in CHART.findall(page)}


def dashboard_model_page(settings) -> str:
    """Render the dashboard's model page for an admin, as the route does."""
    engine = get_engine(settings)
    try:
        with session_scope(engine) as session:
            context = model_context(settings, session)
    finally:
        engine.dispose()
    viewer = SimpleNamespace(email="admin@example.com", role="admin", csrf="token")
    shared = {"viewer": viewer, "missing_assets": [], "page": "model", "currency": "USD"}
    return build_templates().env.get_template("model.html").render(**shared, **context)


def test_report_and_model_page_carry_the_same_figures(trained_book: Path, tmp_path: Path):
    settings = copy_book(trained_book, tmp_path)
    target = tmp_path / "model.html"
    args = ["--data-dir", str(settings.data_dir), "model", "report", "--html", str(target)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report_page = target.read_text(encoding="utf-8")
    dashboard = dashboard_model_page(settings)

    in_report, on_page = page_charts(report_page), page_charts(dashboard)
    assert set(in_report) == set(on_page) == MODEL_CHARTS
    assert in_report == on_page
    # The same validation table (shared partial) in both, from the same rows.
    table = re.compile(r'<table class="table compact" id="model-metrics">.*?</table>', re.S)
    assert table.search(report_page).group(0) == table.search(dashboard).group(0)
    assert "Top-decile lift" in table.search(report_page).group(0)
