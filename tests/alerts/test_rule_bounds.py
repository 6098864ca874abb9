"""Rule params have bounds at save time; a bad stored rule fails alone, logged and counted."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import generate_latest

from tenure import clock
from tenure.alerts import evaluation, flows, service
from tenure.alerts.models import Alert, AlertRule
from tenure.alerts.rules import DEFAULT_RULES, validate_rule
from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.errors import InvalidFields
from tenure.notifications import Notification, get_bus
from tenure.stage import StageContext

from .conftest import DAY


@pytest.mark.parametrize(
    "kind, params, field",
    [
        ("no_login", {"days": 100_000_000_000}, "days"),
        ("no_login", {"days": 0}, "days"),
        ("failed_payment", {"days": 3651}, "days"),
        ("score_drop", {"points": 101}, "points"),
        ("score_drop", {"points": 0}, "points"),
        ("churn_probability", {"min_probability": 1.5}, "min_probability"),
        ("churn_probability", {"max_age_days": 10**12}, "max_age_days"),
        ("ticket_spike", {"baseline_days": 10**9}, "baseline_days"),
        ("ticket_spike", {"ratio": float("inf")}, "ratio"),
        ("ticket_spike", {"min_tickets": 0}, "min_tickets"),
        ("nps_detractor", {"max_score": 11}, "max_score"),
        ("renewal", {"days": "60"}, "days"),
        ("renewal", {"healthy_tier": "x" * 65}, "healthy_tier"),
    ],
)
def test_params_out_of_range_name_the_field(kind, params, field):
    """Each out-of-range or mistyped param is refused, naming params.FIELD."""
    with pytest.raises(InvalidFields, match=f"param {field} must be") as raised:
        validate_rule({"name": "r", "kind": kind, "params": params})
    assert [e["loc"] for e in raised.value.errors] == [f"params.{field}"]


def test_bounds_accept_the_edges_and_whole_floats():
    """1 and 3650 days, a probability of 1 and 7.0 (as whole days) are fine."""
    for days in (1, 3650, 7.0):
        assert validate_rule({"name": "r", "kind": "no_login", "params": {"days": days}})[
            "params"
        ] == {"days": int(days)}
    spec = {"name": "r", "kind": "churn_probability", "params": {"min_probability": 1}}
    assert validate_rule(spec)["params"]["min_probability"] == 1


def _store_unchecked(engine, name: str, kind: str, params: dict) -> None:
    """Write a rule row directly, as rules saved before params had bounds were stored."""
    with session_scope(engine) as session:
        service.ensure_default_rules(session)
        session.add(
            AlertRule(
                name=name,
                kind=kind,
                params=params,
                severity="high",
                route="owner",
                channels=["email"],
                cooldown_hours=72,
                enabled=True,
                updated_at=clock.now(),
            )
        )


def _failures(rule: str) -> float:
    value = evaluation.RULE_METRICS.get_sample_value(
        "tenure_alert_rule_failures_total", {"rule": rule}
    )
    return value or 0.0


def test_a_stored_out_of_range_rule_stops_no_other_rule(engine, book, settings, frozen_clock):
    """days=1e11 (stored unchecked) fails alone: the stage opens the others, lists and counts it."""
    red = book.account("a")
    book.health(red, DAY - timedelta(days=1), 70, "yellow")
    book.health(red, DAY, 35, "red")
    _store_unchecked(engine, "legacy-drop", "score_drop", {"points": 5, "days": 100_000_000_000})
    _store_unchecked(engine, "legacy-bad-kind", "moon_phase", {})
    before = _failures("legacy-drop")
    summary = flows.opened_alerts(StageContext(settings=settings, engine=engine, as_of=DAY))
    assert summary["by_rule"] == {"health-red": 1, "health-drop": 1}
    assert set(summary["failed_rules"]) == {"legacy-drop", "legacy-bad-kind"}
    assert (
        "param days must be a whole number from 1 to 3650" in summary["failed_rules"]["legacy-drop"]
    )
    assert _failures("legacy-drop") == before + 1
    exposed = generate_latest(evaluation.RULE_METRICS).decode()
    assert 'tenure_alert_rule_failures_total{rule="legacy-drop"}' in exposed


def test_a_stored_bad_rule_does_not_stop_the_listener(engine, book, settings, frozen_clock):
    """A bad stored score_drop rule is skipped; the tier rule still opens its alert in real time."""
    account = book.account("a")
    _store_unchecked(engine, "legacy-drop", "score_drop", {"points": 5, "days": 100_000_000_000})
    before = _failures("legacy-drop")
    listener = flows.install_listener(settings, engine)
    try:
        note = {"from_tier": "yellow", "to_tier": "red", "as_of": "2025-06-30", "score": 40.0}
        get_bus().publish(Notification("tier_change", account, note))
        listener.wait_idle()
        assert listener._thread is not None and listener._thread.is_alive()
    finally:
        listener.stop()
    with session_scope(engine) as session:
        assert session.scalars(sa.select(Alert.rule)).all() == ["health-red"]
    assert _failures("legacy-drop") == before + 1


def test_cli_refuses_an_out_of_range_rule_and_evaluate_reports_failures(
    cli, settings, engine, frozen_clock, tmp_path
):
    """`rules load` with days=1e11 exits 2 naming the param; `evaluate --json` lists failed rules."""
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nname = "quiet"\nkind = "no_login"\n[rule.params]\ndays = 100000000000\n'
    )
    base = ["--data-dir", str(settings.data_dir)]
    result = cli.invoke(app, [*base, "alerts", "rules", "load", str(path)])
    assert result.exit_code == 2 and "param days must be a whole number" in result.output
    _store_unchecked(engine, "legacy-quiet", "no_login", {"days": 100_000_000_000})
    result = cli.invoke(app, [*base, "alerts", "evaluate", "--as-of", "2025-06-30", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["failed_rules"]) == ["legacy-quiet"]
    assert set(summary["by_rule"]) == {spec["name"] for spec in DEFAULT_RULES}
