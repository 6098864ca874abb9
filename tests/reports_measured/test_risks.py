"""The risk register: exposure arithmetic, checks, open/close/reopen with history, the CLI."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.ingest.models import ImportRun
from tenure.plays.models import CsmTask
from tenure.reports import risk_checks
from tenure.reports.models import Risk, RiskHistory
from tenure.reports.risk_rules import (
    Finding,
    account_exposure,
    model_worse_than_backtest,
    rate_over,
    remaining_lifetime_months,
)
from tenure.reports.risks import apply_findings, evaluate_risks, open_risks

from ..factories import DAY, T0, add_account, add_churn_score, add_subscription


def test_exposure_is_probability_times_mrr_times_remaining_lifetime():
    """p = 0.5 over 90 days: h = ln 2 / 2.9568788 = 0.234418 a month, lifetime 4.265874 months."""
    assert remaining_lifetime_months(0.5, 90) == pytest.approx(4.265874, abs=1e-6)
    impact, exposure = account_exposure(0.5, 1000.0, 90)
    assert impact == pytest.approx(4265.874, abs=1e-3)
    assert exposure == pytest.approx(2132.937, abs=1e-3)
    assert remaining_lifetime_months(0.0, 90) == 120.0


def test_programme_rules():
    assert rate_over(6, 100, 0.05) == pytest.approx(0.06)
    assert rate_over(5, 100, 0.05) is None and rate_over(1, 0, 0.05) is None
    assert model_worse_than_backtest(0.80, 0.74) and not model_worse_than_backtest(0.80, 0.76)
    assert not model_worse_than_backtest(None, 0.5)


def _finding(key: str, title: str = "t") -> Finding:
    return Finding(key, "programme", "data_source", title, "data team", "fix it")


def test_risks_open_update_close_and_reopen_with_history(any_engine):
    with session_scope(any_engine) as session:
        first = apply_findings(session, [_finding("a"), _finding("b")], DAY)
        assert (first["opened"], first["open"]) == (2, 2)
        second = apply_findings(session, [_finding("a", "worse")], DAY + timedelta(1))
        assert (second["updated"], second["closed"]) == (1, 1)
        third = apply_findings(session, [_finding("a", "worse"), _finding("b")], DAY + timedelta(2))
        assert (third["reopened"], third["updated"]) == (1, 0)
        b = session.scalar(sa.select(Risk).where(Risk.key == "b"))
        assert (b.status, b.opened_on, b.closed_on) == ("open", DAY + timedelta(2), None)
        history = session.execute(
            sa.select(Risk.key, RiskHistory.change).join(Risk).order_by(RiskHistory.id)
        ).all()
    assert history == [("a", "opened"), ("b", "opened"), ("a", "updated"), ("b", "closed"),
                       ("b", "reopened")]  # fmt: skip


def _book(session):
    """Three scored accounts: a risky big one, a risky small one, and a safe one."""
    rows = [("big", 0.6, 50_000), ("small", 0.4, 10_000), ("safe", 0.1, 90_000)]
    for name, p, mrr in rows:
        account = add_account(session, name, owner=f"{name}@csm.io")
        add_subscription(session, account, mrr=mrr)
        add_churn_score(session, account, probability=p)
    session.flush()


def test_account_risks_rank_by_exposure_and_close_when_the_risk_falls(any_engine, any_settings):
    settings = any_settings
    with session_scope(any_engine) as session:
        _book(session)
        found = risk_checks.account_risks(session, settings, DAY, "red-call")
        assert [f.title for f in found] == ["Account big may churn", "Account small may churn"]
        big = found[0]
        impact, exposure = account_exposure(0.6, 500.0, 90)
        assert (big.impact, big.exposure) == (round(impact, 2), round(exposure, 2))
        assert (big.owner, big.recommended_play) == ("big@csm.io", "red-call")
        apply_findings(session, found, DAY)
        session.execute(sa.text("UPDATE churn_score SET probability = 0.05"))
        counts = apply_findings(
            session, risk_checks.account_risks(session, settings, DAY, None), DAY
        )
        assert counts["closed"] == 2


def test_failing_import_and_overloaded_csm_are_programme_risks(any_engine, any_settings):
    settings = any_settings.model_copy(update={"risk_csm_open_tasks": 2})
    at = datetime(2025, 6, 29, tzinfo=UTC)
    with session_scope(any_engine) as session:
        session.add(ImportRun(kind="tickets", path="t.csv", started_at=at, status="failed",
                              error="bad header", details={}))  # fmt: skip
        session.add(ImportRun(kind="accounts", path="a.csv", started_at=at - timedelta(days=10),
                              status="ok", details={}))  # fmt: skip
        account = add_account(session, "a")
        for i in range(3):
            session.add(CsmTask(account_id=account.id, owner="busy@csm.io", title=f"t{i}",
                                checklist=[], due_on=DAY, created_at=T0))  # fmt: skip
        session.flush()
        summary = evaluate_risks(session, settings, DAY)
        keys = {r["key"] for r in open_risks(session, kind="programme")}
    assert {"source:tickets:failing", "source:accounts:stale", "csm:busy@csm.io:overload"} <= keys
    assert summary["opened"] == len(keys)


def test_cli_risks_list_json(engine, settings, cli, monkeypatch):
    monkeypatch.setenv("TENURE_DATA_DIR", str(settings.data_dir))
    with session_scope(engine) as session:
        _book(session)
        evaluate_risks(session, settings, DAY)
    result = cli.invoke(app, ["risks", "list", "--json", "--kind", "account"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["title"] for r in rows] == ["Account big may churn", "Account small may churn"]
    assert {"likelihood", "impact", "exposure", "owner", "recommended_play", "status",
            "mitigation", "opened_on"} <= set(rows[0])  # fmt: skip
    assert math.isclose(rows[0]["exposure"], rows[0]["likelihood"] * rows[0]["impact"],
                        rel_tol=1e-3)  # fmt: skip
    bad = cli.invoke(app, ["risks", "list", "--kind", "galaxy"])
    assert bad.exit_code == 2 and "--kind must be account or programme" in bad.output


def test_a_model_ranking_worse_than_its_backtest_is_a_risk(engine, settings):
    """Scores 90 days old that put the churners last: realised AUC 0 vs the card's 0.80."""
    from tenure.reports.risk_model_checks import backtest_risks

    card = settings.data_dir / "models" / "churn-v7" / "model" / "card.json"
    card.parent.mkdir(parents=True)
    card.write_text(json.dumps({"metrics": {"auc": 0.80}}))
    scored = DAY - timedelta(days=90)
    churned_at = datetime(2025, 5, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        for i in range(40):
            churns = i < 10
            account = add_account(session, f"m-{i}")
            add_subscription(session, account, ended_at=churned_at if churns else None)
            add_churn_score(session, account, as_of=scored, model_version="7",
                            probability=0.05 if churns else 0.5)  # fmt: skip
        (found,) = backtest_risks(session, settings, DAY)
    assert found.key == "model:backtest" and found.detail["realised_auc"] == 0.0
    assert found.detail["backtest_auc"] == 0.80
