"""Pure scoring: ratios, freshness decay, weighted overall score, the below-bar list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenure.quality.rules import WEIGHTS
from tenure.quality.scoring import (
    BELOW_BAR,
    INFO,
    NO_DATA,
    PASS,
    Ratio,
    Recency,
    build_report,
    freshness_score,
    score_ratio,
)

NOW = datetime(2025, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        # 100 up to one cadence, then linear to 0 at 4 cadences: 100 × (4 − age/cadence) / 3.
        (timedelta(0), 100.0),
        (DAY, 100.0),
        (2.5 * DAY, 50.0),
        (3 * DAY, 100 / 3),
        (4 * DAY, 0.0),
        (10 * DAY, 0.0),
        (-DAY, 100.0),
    ],
)
def test_freshness_score_decays_linearly_from_one_to_four_cadences(age, expected):
    assert freshness_score(age, DAY) == pytest.approx(expected)


def test_freshness_score_refuses_a_non_positive_cadence():
    with pytest.raises(ValueError, match="cadence"):
        freshness_score(DAY, timedelta(0))


def test_ratio_scores_share_and_status():
    check = score_ratio(Ratio("ticket", "completeness", good=8, total=10, detail="x"))
    assert (check.score, check.status, check.rows, check.weight) == (80.0, BELOW_BAR, 10, 3.0)
    assert score_ratio(Ratio("ticket", "uniqueness", 19, 20)).status == PASS  # 95 is on the bar


def test_zero_rows_is_no_data_and_optional_fields_are_info():
    empty = score_ratio(Ratio("ticket", "completeness", 0, 0))
    assert (empty.score, empty.status, empty.detail) == (None, NO_DATA, "no rows")
    optional = score_ratio(Ratio("account", "completeness_optional", 1, 2))
    assert (optional.score, optional.status) == (50.0, INFO)


def test_overall_score_is_the_weighted_mean_of_scored_checks():
    figures = [
        Ratio("ticket", "completeness", 8, 10),  # 80, weight 3
        Recency("events", NOW - 2.5 * DAY, 4, DAY),  # 50, weight 1
        Ratio("account", "completeness_optional", 0, 5),  # info: weight 0
        Ratio("invoice", "uniqueness", 0, 0),  # no data: not scored
        Ratio("ticket", "uniqueness", 10, 10),  # 100, weight 2
    ]
    report = build_report(figures, now=NOW)
    # (3 × 80 + 1 × 50 + 2 × 100) / (3 + 1 + 2) = 490 / 6
    assert report.overall_score == pytest.approx(490 / 6)
    assert report.status == BELOW_BAR
    below = [(c.table, c.check, round(c.impact, 4)) for c in report.below_bar]
    # Points off the overall: weight × (100 − score) / total weight.
    assert below == [("ticket", "completeness", 10.0), ("events", "freshness", round(50 / 6, 4))]


def test_report_without_any_scored_check_has_no_overall_score():
    report = build_report([Ratio("ticket", "completeness", 0, 0)], now=NOW)
    data = report.to_dict()
    assert (data["overall_score"], data["status"], data["no_data_tables"]) == (
        None,
        NO_DATA,
        ["ticket"],
    )


def test_report_dict_shape_and_order():
    figures = [
        Recency("events", NOW, 1, DAY, source="segment"),
        Ratio("account", "completeness", 1, 1),
        Ratio("events", "completeness", 1, 1, source="segment"),
    ]
    data = build_report(figures, now=NOW).to_dict()
    assert data["weights"] == WEIGHTS
    assert data["overall_score"] == 100.0
    assert [(c["table"], c["check"]) for c in data["checks"]] == [
        ("account", "completeness"),
        ("events", "completeness"),
        ("events", "freshness"),
    ]
    assert set(data["checks"][0]) >= {"table", "check", "score", "detail", "source", "rows"}
