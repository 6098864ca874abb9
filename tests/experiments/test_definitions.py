"""Metric definitions from TOML: the packaged defaults load, bad files name file, metric, field."""

from __future__ import annotations

import pytest

from tenure.errors import InputError
from tenure.experiments.definitions import (
    load_definitions,
    parse_definitions,
    parse_source,
    select_definitions,
)
from tenure.experiments.schemas import MetricKind


def one(body: str) -> str:
    return f'[[metric]]\nname = "m"\n{body}\n'


def test_packaged_defaults_cover_the_issue():
    defs = {d.name: d for d in load_definitions()}
    assert {"churn_90d", "logins_30d", "events_30d", "mrr_change_90d", "tickets_30d"} <= set(defs)
    churn = defs["churn_90d"]
    assert (churn.kind, churn.source.kind, churn.window_days) == (MetricKind.BINARY, "churned", 90)
    assert churn.higher_is_better is False
    assert defs["logins_30d"].source.event == "login"
    assert defs["logins_30d"].pre_window_days == 30
    assert defs["events_per_seat_30d"].denominator.kind == "seats"
    assert [d.name for d in defs.values() if d.guardrail] == ["tickets_30d"]


def test_source_syntax():
    assert parse_source("event_count( Report Viewed )").event == "Report Viewed"
    assert parse_source("churned").event is None
    for bad, words in (("event_count", "needs an event"), ("churned(x)", "no argument"),
                       ("nps", "unknown source")):  # fmt: skip
        with pytest.raises(ValueError, match=words):
            parse_source(bad)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('kind = "mean"\nsource = "churned"\nwindow_days = 90', "0/1"),
        ('kind = "ratio"\nsource = "events"\nwindow_days = 30', "needs a denominator"),
        (
            'kind = "mean"\nsource = "events"\nwindow_days = 30\ndenominator = "seats"',
            "only a ratio",
        ),
        ('kind = "binary"\nsource = "mrr_change"\nwindow_days = 30', "cannot be binary"),
        ('kind = "mean"\nsource = "seats"\nwindow_days = 30', "no window"),
        ('kind = "mean"\nsource = "events"\nwindow_days = 0', "window_days"),
        ('kind = "median"\nsource = "events"\nwindow_days = 3', "kind"),
        ('kind = "mean"\nsource = "events"\nwindow_days = 3\ncolour = 1', "colour"),
    ],
)
def test_bad_metric_names_file_metric_and_field(tmp_path, body, words):
    path = tmp_path / "metrics.toml"
    path.write_text(one(body))
    with pytest.raises(InputError, match=words) as info:
        load_definitions(path)
    assert str(path) in str(info.value)
    assert "metric 'm'" in str(info.value)


def test_bad_documents(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        parse_definitions("[[metric", origin="x.toml")
    with pytest.raises(InputError, match="no \\[\\[metric\\]\\]"):
        parse_definitions("a = 1", origin="x.toml")
    twice = one('kind = "mean"\nsource = "events"\nwindow_days = 3') * 2
    with pytest.raises(InputError, match="defined twice"):
        parse_definitions(twice, origin="x.toml")
    with pytest.raises(InputError, match="cannot read"):
        load_definitions(tmp_path / "missing.toml")


def test_select_definitions_keeps_order_and_refuses_unknown():
    defs = load_definitions()
    assert [d.name for d in select_definitions(defs, ["tickets_30d", "churn_90d"])] == [
        "tickets_30d",
        "churn_90d",
    ]
    with pytest.raises(InputError, match="unknown metric"):
        select_definitions(defs, ["nope"])


def test_guardrail_breach_follows_the_harmful_direction():
    tickets = {d.name: d for d in load_definitions()}["tickets_30d"]
    assert tickets.harmful_direction == "increase"
    assert tickets.guardrail_breached(0.25)
    assert not tickets.guardrail_breached(0.05)  # under the 10 % threshold
    assert not tickets.guardrail_breached(-0.5)
    assert not tickets.guardrail_breached(0.25, (-0.02, 0.5))  # not significant
    assert tickets.guardrail_breached(0.25, (0.03, 0.5))
    logins = {d.name: d for d in load_definitions()}["logins_30d"]
    assert not logins.guardrail_breached(-0.9)  # not a guardrail
