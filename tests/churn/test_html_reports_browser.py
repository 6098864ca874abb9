"""Every `--html` report opens offline in a real browser with its charts drawn.

The CLI writes each report from the trained simulated book (the churn tests' shared fixture);
Debian's chromium (Playwright, headless, --no-sandbox) opens each file via file:// with every
other request blocked, and the test counts drawn Plotly charts and console errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app

from .conftest import LAST_DAY, copy_book

pytestmark = pytest.mark.browser

AS_OF = LAST_DAY.isoformat()
# report file -> (CLI arguments, charts it must draw at least)
REPORTS = {
    "dq.html": (["dq", "report"], 1),
    "model.html": (["model", "report"], 5),
    "cohorts.html": (["analyze", "cohorts", "--from", "2024-07", "--to", "2025-06"], 3),
    "survival.html": (["analyze", "survival", "--by", "employees", "--as-of", AS_OF], 1),
    "drivers.html": (["analyze", "drivers", "--as-of", AS_OF], 1),
}


@pytest.fixture(scope="module")
def reports(trained_book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write every --html report of the trained book into one folder; return it."""
    root = tmp_path_factory.mktemp("reports")
    settings = copy_book(trained_book, root)
    runner = CliRunner()
    for name, (args, _) in REPORTS.items():
        command = ["--data-dir", str(settings.data_dir), *args, "--html", str(root / name)]
        result = runner.invoke(app, [*command, "--json"])
        assert result.exit_code == 0, (name, result.output)
    return root


@pytest.mark.parametrize("name", list(REPORTS))
def test_report_draws_its_charts_offline_without_errors(chromium, reports, name):
    """Each file draws every chart it carries, from inline Plotly.js, with no request out."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def only_the_file(route, request) -> None:
        if request.url.startswith("file:"):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    page.route("**/*", only_the_file)
    try:
        page.goto((reports / name).as_uri())
        carried = page.locator("[data-chart]").count()
        assert carried >= REPORTS[name][1], carried
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
            arg=carried,
            timeout=20_000,
        )
        drawn = page.locator(".js-plotly-plot").count()
        traces = page.locator(".js-plotly-plot .main-svg .trace").count()
        page.screenshot(path=str(reports / f"{name}.png"), full_page=True)
        url = page.url
    finally:
        context.close()
    assert drawn == carried
    assert traces >= carried  # every chart has data drawn, not only axes
    assert url.startswith("file:") and outside == [] and errors == []
