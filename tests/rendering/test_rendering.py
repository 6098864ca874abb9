"""The shared rendering: chart builders (pure), the Jinja2 environment, standalone pages."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from tenure.analysis.render import drivers_html
from tenure.rendering import charts
from tenure.rendering.environment import template_environment
from tenure.rendering.standalone import inline_script, plotly_bundle, render_report

CHART = re.compile(r'id="([\w-]+)" data-chart="([^"]*)"')


def page_charts(page: str) -> dict[str, dict]:
    """Return the figure specs a page carries, by element id."""
    return {key: json.loads(html.unescape(spec)) for key, spec in CHART.findall(page)}


def test_environment_escapes_html_templates_and_keeps_shared_ones_in_reach(tmp_path: Path):
    (tmp_path / "page.html").write_text(
        '{% from "_figure.html" import chart %}<p>{{ name }}</p>{{ chart(spec, "c") }}'
    )
    env = template_environment([tmp_path])
    spec = charts.figure([{"type": "bar", "x": ["<b>"], "y": [1]}])
    out = env.get_template("page.html").render(name="<script>x</script>", spec=spec)
    assert "<p>&lt;script&gt;x&lt;/script&gt;</p>" in out
    assert page_charts(out)["c"] == spec  # survives attribute escaping intact


def test_a_report_carries_the_installed_plotly_js_inline_and_nothing_remote():
    report = {"accounts": 3, "churn_rate": 1 / 3, "score": "Cramér's V <x>", "drivers": []}
    page = drivers_html(report)
    bundle = plotly_bundle().read_text(encoding="utf-8")
    assert bundle in page and page.count("<script") == 2
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page)
    assert "Cramér&#39;s V &lt;x&gt;" in page and "<x>" not in page.split("<script")[0]


def test_inline_script_cannot_close_its_element_early():
    assert "</script" not in inline_script('a = "</script><b>"; // <!-- x')
    assert "<!--" not in inline_script("<!-- x")


def test_render_report_extends_the_base_with_charts(tmp_path: Path):
    spec = charts.driver_scores(
        [{"metric": "seats", "score": 0.4}, {"metric": "plan", "score": 0.2}]
    )
    page = render_report(
        "drivers_report.html",
        {
            "title": "T",
            "report": {"accounts": 1, "score": "s"},
            "churn_rate": "0",
            "drivers": {"headers": [], "rows": []},
            "scores_chart": spec,
        },
    )
    assert page.startswith("<!doctype html>") and page_charts(page) == {"chart-drivers": spec}


def test_ranked_bars_put_the_first_label_on_top():
    figure = charts.importance(
        [
            {"feature": "logins", "mean_abs_contribution": 0.5},
            {"feature": "seats", "mean_abs_contribution": 0.1},
        ]
    )
    bars = figure["data"][0]
    assert bars["y"] == ["seats", "logins"] and bars["x"] == [0.1, 0.5]  # Plotly draws last on top
    drift = charts.drift({"a": 0.05, "b": 0.3, "c": 0.12})["data"][0]
    assert drift["y"] == ["a", "c", "b"] and drift["marker"]["color"][-1] == "#dc2626"


def test_check_scores_leave_out_unscored_checks_and_mark_the_bar():
    checks = [
        {
            "table": "account",
            "source": None,
            "check": "completeness",
            "score": 99.0,
            "status": "pass",
        },
        {
            "table": "events",
            "source": "web",
            "check": "freshness",
            "score": 40.0,
            "status": "below_bar",
        },
        {
            "table": "ticket",
            "source": None,
            "check": "validity",
            "score": None,
            "status": "no_data",
        },
    ]
    figure = charts.check_scores(checks, 95)
    bars = figure["data"][0]
    assert bars["y"] == ["events/web · freshness", "account · completeness"]
    assert bars["marker"]["color"] == ["#dc2626", "#16a34a"]
    assert figure["layout"]["shapes"][0]["x0"] == 95


def test_model_charts_follow_the_report_and_skip_what_it_lacks():
    report = {
        "reliability_curve": [{"mean_probability": 0.1, "observed_rate": 0.12}],
        "gains": [{"share_contacted": 0.1, "share_of_churners": 0.3, "lift": 3.0}],
        "importance": [],
    }
    drift = {"features": [{"feature": "seats", "psi": 0.2}, {"feature": "x", "psi": float("nan")}]}
    found = charts.model_charts(report, drift)
    assert found.importance is None and found.reliability is not None
    assert found.lift["data"][0]["x"] == ["1"] and found.lift["data"][0]["y"] == [3.0]
    assert found.gains["data"][1]["y"] == [0, 0.3]
    assert found.drift["data"][0]["y"] == ["seats"]  # an unmeasurable PSI is left out
    assert charts.model_charts(report, None).drift is None


def test_survival_curves_are_steps_per_group():
    groups = [{"label": "monthly", "curve": [{"t": 0, "survival": 1.0}, {"t": 3, "survival": 0.8}]}]
    line = charts.survival_curves(groups)["data"][0]
    assert line["name"] == "monthly" and line["line"]["shape"] == "hv" and line["y"] == [1.0, 0.8]
