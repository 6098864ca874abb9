"""The experiments pages: the list, one experiment's lift chart, SRM badge, progress, decision."""

from __future__ import annotations

import json
import re

from tenure.web.experiments import lift_chart


def test_the_list_links_each_experiment_with_its_progress(login, people):
    page = login(people.viewer).get("/experiments")
    assert page.status_code == 200
    assert 'data-experiment="onboarding-call"' in page.text
    assert 'href="/experiments/onboarding-call"' in page.text
    assert 'data-nav="experiments"' in page.text and "<progress" in page.text


def test_the_experiment_page_draws_lift_srm_progress_and_decision(login, people):
    page = login(people.csm).get("/experiments/onboarding-call").text
    assert 'id="chart-experiment-lift"' in page and 'id="srm-status"' in page
    assert 'id="sample-progress"' in page and 'id="decision"' in page
    spec = json.loads(
        re.search(r'id="chart-experiment-lift"[^>]*data-chart="([^"]+)"', page).group(1)
        .replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&")
    )  # fmt: skip
    trace = spec["data"][0]
    assert trace["name"] == "call" and trace["y"][0] == "renewed"
    assert abs(trace["x"][0] - 20.0) < 1e-9  # 0.9 / 0.75 - 1


def test_an_unknown_experiment_or_method_is_a_clear_page(login, people):
    client = login(people.admin)
    missing = client.get("/experiments/no-such-thing")
    assert missing.status_code == 404 and "no experiment with key" in missing.text
    assert client.get("/experiments/onboarding-call?method=magic").status_code == 400


def test_lift_chart_puts_the_interval_around_each_lift():
    metrics = [{"metric": "renewed", "guardrail": False, "variants": [
        {"variant": "control", "lift": None},
        {"variant": "b", "lift": 0.10, "lift_ci_low": 0.02, "lift_ci_high": 0.20},
    ]}]  # fmt: skip
    chart = lift_chart(metrics)
    error = chart["data"][0]["error_x"]
    assert chart["data"][0]["x"] == [10.0]
    assert abs(error["array"][0] - 10.0) < 1e-9 and abs(error["arrayminus"][0] - 8.0) < 1e-9
    assert lift_chart([{"metric": "m", "variants": [{"variant": "control", "lift": None}]}]) is None
