"""The success scorecard: the written grading rule, figures from served months, the CLI."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.metrics.models import MetricsMonth
from tenure.reports.grading import grade_change, grade_floor, grade_scorecard
from tenure.reports.scorecard import scorecard

from ..factories import DAY, T0

KEYS = {"criterion", "baseline", "current", "change", "target", "grade", "evidence"}


@pytest.mark.parametrize(
    ("change", "grade"),
    [(0.40, "A"), (0.55, "A"), (0.25, "B"), (0.399, "B"), (0.125, "C"), (0.2499, "C"),
     (0.1249, "D"), (0.001, "D"), (0.0, "F"), (-0.3, "F"), (None, "n/a")],
)  # fmt: skip
def test_range_grades_follow_the_written_rule(change, grade):
    """Target 25–40 %: A at the top, B inside, C from half the bottom, D above 0, F at or below."""
    assert grade_change(change, 0.25, 0.40) == grade


@pytest.mark.parametrize(
    ("level", "grade"),
    [(0.97, "A"), (0.95, "A"), (0.93, "B"), (0.90, "C"), (0.86, "D"), (0.849, "F"),
     (None, "n/a")],
)  # fmt: skip
def test_floor_grades_step_down_by_2_5_and_10_points(level, grade):
    assert grade_floor(level, 0.95) == grade


def test_grade_scorecard_uses_the_holdout_where_there_is_one():
    targets = {"churn_reduction": [0.25, 0.40], "csat_increase": [0.30, 0.50],
               "revenue_retention": [0.95]}  # fmt: skip
    base = {"churn_reduction": 0.04, "csat_increase": 0.60, "revenue_retention": 0.90}
    now = {"churn_reduction": 0.03, "csat_increase": 0.66, "revenue_retention": 0.96}
    lines = {c.criterion: c for c in grade_scorecard(base, now, targets)}
    # churn 4 % → 3 %: a 25 % reduction, B; CSAT 0.60 → 0.66: +10 %, D; NRR 96 % ≥ 95 %: A
    assert lines["churn_reduction"].change == pytest.approx(0.25)
    assert lines["churn_reduction"].grade == "B"
    assert (lines["csat_increase"].change, lines["csat_increase"].grade) == (
        pytest.approx(0.1),
        "D",
    )
    assert lines["revenue_retention"].grade == "A"
    held = {c.criterion: c for c in grade_scorecard(base, now, targets, {"churn_reduction": 0.5})}
    assert (held["churn_reduction"].grade, held["churn_reduction"].source) == ("A", "holdout")


def _months(session, churn: list[float], csat: list[float | None], nrr: float = 1.0):
    """Store served months from 2025-01 with the given churn, CSAT and NRR figures."""
    for i, (c, s) in enumerate(zip(churn, csat, strict=True)):
        month = date(2025, 1 + i, 1)
        figures = {"month": f"{month:%Y-%m}", "logo_churn_rate": c, "csat": s, "nrr": nrr,
                   "ltv_survival": 1000.0 / c}  # fmt: skip
        session.add(MetricsMonth(month=month, currency="USD", figures=figures, as_of=DAY,
                                 computed_at=T0))  # fmt: skip
    session.flush()


def test_scorecard_from_served_months(engine, settings):
    """Baseline Jan–Feb vs current Apr–May (June is not complete on DAY 2025-06-30)."""
    settings = settings.model_copy(update={"scorecard_period_months": 2})
    with session_scope(engine) as session:
        _months(session, [0.04, 0.04, 0.035, 0.03, 0.03, 0.01],
                [0.5, 0.5, None, 0.7, None, 0.9], nrr=0.995)  # fmt: skip
        lines = {c.criterion: c for c in scorecard(session, settings, DAY)}
    churn = lines["churn_reduction"]
    assert (churn.baseline, churn.current) == pytest.approx((0.04, 0.03))
    assert churn.change == pytest.approx(0.25) and churn.grade == "B"
    assert "baseline 2025-01…2025-02, current 2025-04…2025-05" in churn.evidence
    retention = lines["retention_increase"]  # (0.97 / 0.96)^12 − 1 = 0.1325: C
    assert retention.change == pytest.approx((0.97 / 0.96) ** 12 - 1)
    assert retention.grade == "C"
    clv = lines["clv_increase"]  # LTV 25 000 → 33 333: +33 %, B
    assert clv.change == pytest.approx(1 / 3) and clv.grade == "B"
    csat = lines["csat_increase"]  # 0.5 → 0.7 (a month without responses is skipped): +40 %
    assert csat.change == pytest.approx(0.4) and csat.grade == "B"
    nrr = lines["revenue_retention"]  # 0.995^12 = 0.9416: 0.84 points under 95 %, B
    assert nrr.current == pytest.approx(0.995**12) and nrr.grade == "B"


def test_too_little_history_is_na_with_the_reason(engine, settings):
    with session_scope(engine) as session:
        _months(session, [0.04, 0.03], [0.5, 0.6])
        lines = scorecard(session, settings, DAY)
    assert {c.grade for c in lines} == {"n/a"}
    assert all("needs 6 complete served months" in c.evidence for c in lines)


def test_cli_scorecard_json_keys(engine, settings, cli, monkeypatch, frozen_clock):
    monkeypatch.setenv("TENURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TENURE_SCORECARD_PERIOD_MONTHS", "2")
    with session_scope(engine) as session:
        _months(session, [0.04] * 6, [0.5] * 6)
    result = cli.invoke(app, ["reports", "scorecard", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["criterion"] for r in rows] == ["churn_reduction", "clv_increase",
        "retention_increase", "csat_increase", "revenue_retention"]  # fmt: skip
    assert all(set(r) >= KEYS for r in rows)
    assert rows[0]["grade"] == "F"  # no change in churn
    assert cli.invoke(app, ["reports", "scorecard"]).exit_code == 0


def test_targets_are_checked_when_settings_load():
    from pydantic import ValidationError

    from tenure.config import Settings

    with pytest.raises(ValidationError, match="low ≤ high"):
        Settings(scorecard_targets={"churn_reduction": [0.4, 0.25]})
    assert Settings(scorecard_targets={"csat_increase": [0.1, 0.2]}).scorecard_targets
