"""On the IBM Telco data set, `tenure analyze` recovers the known churn drivers and hazards.

Known from the literature on this file (IBM Watson Analytics, the baselines in
/work/shared/datasets/README.md): contract type, tenure, fibre-optic internet, electronic-check
payment, online security and tech support are among the strongest churn drivers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenure.cli import analyze
from tenure.cli.imports import import_app
from tenure.cli.main import app
from tenure.datasets import find_dataset

TELCO = "telco_customer_churn.csv.gz"
REPO = Path(__file__).resolve().parents[2]


def _telco_file() -> Path:
    path = find_dataset(TELCO)
    if path is None:
        pytest.skip(f"public data set {TELCO} is absent; set TENURE_DATASETS_DIR to its folder")
    return path


@pytest.fixture(scope="module")
def telco_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Import Telco once into a data dir; `analyze` registered until cli/main.py does it."""
    telco = _telco_file()
    data_dir = tmp_path_factory.mktemp("telco") / "data"
    with pytest.MonkeyPatch.context() as patch:
        if "analyze" not in {group.name for group in app.registered_groups}:
            patch.setattr(app, "registered_groups", list(app.registered_groups))
            analyze.register(app)
        if "telco" not in {command.name for command in import_app.registered_commands}:
            from tenure.cli.datasets import register_datasets

            patch.setattr(import_app, "registered_commands", list(import_app.registered_commands))
            register_datasets(import_app)
        result = CliRunner().invoke(
            app, ["--data-dir", str(data_dir), "import", "telco", str(telco)]
        )
        assert result.exit_code == 0, result.output
        yield data_dir


def _run(data_dir: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "analyze", *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def drivers(telco_dir: Path) -> dict[str, Any]:
    report = json.loads(_run(telco_dir, "drivers", "--json").stdout)
    print("\nTelco churn drivers (bias-corrected Cramér's V of cohort × churned):")
    for rank, d in enumerate(report["drivers"][:10], start=1):
        print(f"{rank:2d}. {d['metric']:<17} {d['kind']:<11} {d['score']:.3f}  group {d['group']}")
    return report


@pytest.fixture(scope="module")
def survival(telco_dir: Path) -> dict[str, Any]:
    return json.loads(_run(telco_dir, "survival", "--by", "Contract", "--json").stdout)


def test_known_drivers_rank_among_the_strongest(drivers):
    top = [d["metric"] for d in drivers["drivers"][:8]]
    for known in (
        "Contract",
        "tenure",
        "InternetService",
        "PaymentMethod",
        "OnlineSecurity",
        "TechSupport",
    ):
        assert known in top, (known, top)
    assert drivers["accounts"] == 7043
    assert drivers["churn_rate"] == pytest.approx(1869 / 7043, abs=1e-6)
    assert [d["metric"] for d in drivers["drivers"][-2:]] == ["PhoneService", "gender"]


def test_driver_cohorts_show_the_known_directions(drivers):
    by_metric = {d["metric"]: d for d in drivers["drivers"]}
    contract = {c["label"]: c for c in by_metric["Contract"]["cohorts"]}
    assert contract["Month-to-month"]["churn_rate"] > 0.4 > contract["Two year"]["churn_rate"]
    assert sum(c["accounts"] for c in contract.values()) == 7043
    rates = {c["label"]: c["churn_rate"] for c in by_metric["InternetService"]["cohorts"]}
    assert rates["Fiber optic"] > rates["DSL"] > rates["No"]
    tenure = [c["churn_rate"] for c in by_metric["tenure"]["cohorts"]]
    assert tenure[0] > 0.4 > 0.1 > tenure[-1]  # newest decile churns most
    # copies of one signal share a group: total charges ≈ tenure × monthly charges
    assert by_metric["TotalCharges"]["group"] == "tenure"
    assert by_metric["mrr"]["group"] == by_metric["MonthlyCharges"]["group"]


def test_cox_hazard_ratios_have_the_known_directions(survival):
    hr = {c["covariate"]: c for c in survival["cox"]}
    assert survival["cox_reference_levels"]["Contract"] == "Month-to-month"
    assert survival["cox_reference_levels"]["InternetService"] == "Fiber optic"
    assert survival["cox_reference_levels"]["PaymentMethod"] == "Electronic check"
    for lower in (
        "Contract=One year",
        "Contract=Two year",
        "InternetService=DSL",
        "PaymentMethod=Bank transfer (automatic)",
        "PaymentMethod=Credit card (automatic)",
        "OnlineSecurity=Yes",
        "TechSupport=Yes",
    ):
        assert hr[lower]["ci_high"] < 1, (lower, hr[lower])
    assert hr["PaymentMethod=Mailed check"]["hazard_ratio"] < 1
    assert hr["Contract=Two year"]["hazard_ratio"] < hr["Contract=One year"]["hazard_ratio"]
    assert "tenure" not in hr and "TotalCharges" not in hr  # proxies of the duration itself


def test_survival_by_contract_curves_and_logrank(survival):
    groups = {g["label"]: g for g in survival["groups"]}
    assert set(groups) == {"Month-to-month", "One year", "Two year"}
    assert groups["Month-to-month"]["median_lifetime"] == 35.0
    assert groups["Two year"]["median_lifetime"] is None
    assert (survival["accounts"], survival["events"]) == (7043, 1869)
    assert survival["logrank"]["df"] == 2 and survival["logrank"]["p"] < 1e-100
    assert len(survival["logrank"]["pairs"]) == 3


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_reports_are_self_contained_tables(telco_dir, tmp_path):
    survival_page = tmp_path / "survival.html"
    drivers_page = tmp_path / "drivers.html"
    text = _run(telco_dir, "survival", "--by", "InternetService", "--html", str(survival_page))
    _run(telco_dir, "drivers", "--html", str(drivers_page))

    assert "Fiber optic" in text.stdout and "hazard ratio" in text.stdout
    for page, heading in ((survival_page, "Cox proportional hazards"), (drivers_page, "Ranked")):
        html = page.read_text(encoding="utf-8")
        parsed = _Tables()
        parsed.feed(html)
        assert "table" in parsed.tags and "link" not in parsed.tags
        # Self-contained: Plotly.js is inline, nothing is loaded from elsewhere.
        assert not re.search(r"<(script|img|iframe)[^>]*\bsrc=", html)
        assert 'class="chart h-lg"' in html
        assert any(heading in t for t in parsed.text)


def test_unknown_by_attribute_is_an_input_error(telco_dir):
    result = CliRunner().invoke(
        app, ["--data-dir", str(telco_dir), "analyze", "survival", "--by", "nope"]
    )
    assert result.exit_code == 2
    assert "unknown attribute 'nope'" in result.output
