"""Target-leak checks: each kind of leak caught on training rows, innocent features kept."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.churn import evaluation, leakage
from tenure.churn.evaluation import evaluate_churn_model
from tenure.churn.tabular import churn_table, read_table
from tenure.cli import model
from tenure.cli.main import app
from tenure.datasets import find_dataset

TELCO = "telco_customer_churn.csv.gz"


def _accounts(n: int = 800, seed: int = 3) -> pd.DataFrame:
    """Return an innocent churn table: usage and tickets drive churn, region is noise."""
    rng = np.random.default_rng(seed)
    usage, tickets = rng.normal(size=n), rng.normal(size=n)
    churned = rng.random(n) < 1 / (1 + np.exp(1.2 + 1.5 * usage - 1.0 * tickets))
    return pd.DataFrame(
        {
            "usage": usage,
            "tickets": tickets,
            "region": rng.choice(["EU", "US", "APAC"], size=n),
            "churned": np.where(churned, "Yes", "No"),
        }
    )


def _screen(frame: pd.DataFrame, **kwargs) -> leakage.Screening:
    table = churn_table(frame, target="churned")
    return leakage.screen(table.features, table.target, **kwargs)


def _churned(frame: pd.DataFrame) -> np.ndarray:
    return (frame["churned"] == "Yes").to_numpy()


def _invoke(*args: str):
    if "model" not in {group.name for group in app.registered_groups}:
        model.register(app)
    return CliRunner().invoke(app, ["model", *args])


def _evaluate(frame: pd.DataFrame, tmp_path: Path, *args: str) -> tuple[dict, str]:
    path = tmp_path / "accounts.csv"
    frame.to_csv(path, index=False)
    result = _invoke(
        "evaluate", "--csv", str(path), "--target", "churned", "--model", "logistic",
        "--folds", "3", "--json", *args,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


# --- each kind of leak --------------------------------------------------------------------------


def test_an_innocent_table_has_no_findings():
    screening = _screen(_accounts())
    assert screening.leaks == [] and screening.warnings == []


def test_a_re_encoded_copy_is_dropped_as_identical():
    frame = _accounts()
    frame["flag"] = _churned(frame).astype(int)  # 1/0 against the "Yes"/"No" label
    (leak,) = _screen(frame).leaks
    assert (leak.column, leak.kind) == ("flag", "copy")
    assert leak.reason == "identical to the target (leak)"
    assert "'flag' determines the target exactly" in leak.message()


def test_a_mapped_category_is_dropped_as_determining_the_target():
    frame = _accounts()
    rng = np.random.default_rng(0)
    gone = rng.choice(["gone-early", "gone-late"], size=len(frame))
    frame["stage"] = np.where(_churned(frame), gone, "here")
    (leak,) = _screen(frame).leaks
    assert (leak.column, leak.kind, leak.levels) == ("stage", "copy", 3)
    assert "each of its 3 values belongs to one class" in leak.reason


def test_a_column_filled_only_for_churners_is_a_missingness_leak():
    frame = _accounts()
    reasons = np.random.default_rng(1).choice(["price", "bugs", "moved"], size=len(frame))
    frame["exit_note"] = np.where(_churned(frame), reasons, None)
    screening = _screen(frame)
    (leak,) = screening.leaks
    assert (leak.column, leak.kind) == ("exit_note", "missingness")
    assert leak.churn_share == 1.0 and leak.other_share == 0.0
    assert "'exit_note' is filled for 100% of churners and 0% of the others" in leak.message()


def test_a_nearly_determining_missingness_is_dropped_too():
    frame = _accounts(n=1500)
    churned = _churned(frame)
    filled = churned.copy()
    filled[np.flatnonzero(~churned)[:2]] = True  # two non-churners have a value as well
    frame["closed_on"] = np.where(filled, 3.0, np.nan)
    (leak,) = _screen(frame).leaks
    assert leak.kind == "missingness" and 0.99 <= leak.auc < 1.0
    assert leak.reason.startswith("its missingness predicts the target (AUC 0.99")


def test_one_value_that_nearly_determines_the_target_is_dropped():
    frame = _accounts(n=1500)
    churned = _churned(frame)
    rng = np.random.default_rng(2)
    stage = np.where(churned, "cancelled", rng.choice(["active", "paused"], size=len(frame)))
    stage[np.flatnonzero(churned)[0]] = "active"  # one churner not yet marked
    frame["stage"] = stage
    (leak,) = _screen(frame).leaks
    assert (leak.kind, leak.level) == ("value", "cancelled")
    assert "'cancelled'" in leak.reason and leak.auc >= 0.99


def test_a_near_perfect_score_is_warned_and_kept():
    frame = _accounts()
    noise = np.random.default_rng(4).normal(size=len(frame))
    frame["vendor_risk"] = 2.2 * _churned(frame) + noise
    screening = _screen(frame)
    assert screening.leaks == []
    (warning,) = screening.warnings
    assert (warning.column, warning.kind) == ("vendor_risk", "strong")
    assert 0.90 <= warning.auc < 0.99
    assert "kept, but check it is not derived from the label" in warning.message()


def test_outcome_names_are_warned_but_a_credit_score_is_not():
    frame = _accounts()
    rng = np.random.default_rng(5)
    frame["cancel_reason_code"] = rng.choice(["a", "b"], size=len(frame))
    frame["CreditScore"] = rng.normal(650, 90, size=len(frame))
    screening = _screen(frame)
    assert screening.leaks == []
    assert [(w.column, w.kind, w.level) for w in screening.warnings] == [
        ("cancel_reason_code", "name", "cancel")
    ]
    assert "named like an outcome" in screening.messages()[0]


def test_keep_vouches_for_a_leak():
    frame = _accounts()
    frame["flag"] = _churned(frame).astype(int)
    screening = _screen(frame, keep=["flag"])
    assert screening.leaks == [] and screening.dropped == []
    assert [f.column for f in screening.vouched] == ["flag"]
    assert "--keep vouches for it" in screening.messages()[0]


def test_contract_type_on_telco_is_a_strong_but_innocent_feature():
    path = find_dataset(TELCO)
    if path is None:
        pytest.skip(f"public data set {TELCO} is absent; set TENURE_DATASETS_DIR to its folder")
    table = churn_table(read_table(path), target="Churn")
    screening = leakage.screen(table.features, table.target)
    assert screening.leaks == [] and screening.warnings == []
    contract = table.features["Contract"]
    encoded = leakage.column_finding(contract, table.target.astype(int))
    assert encoded is None  # kept, no warning: month-to-month churns more, but not by label


# --- evaluation: training folds only, JSON, --keep / --drop, suspicious ------------------------


def test_checks_read_the_training_folds_only(monkeypatch):
    frame = _accounts(n=600)
    frame["flag"] = _churned(frame).astype(int)
    table = churn_table(frame, target="churned")
    seen: list[np.ndarray] = []
    original = leakage.screen

    def spy(features, target, **kwargs):
        seen.append(features.index.to_numpy())
        return original(features, target, **kwargs)

    monkeypatch.setattr(leakage, "screen", spy)
    report = evaluate_churn_model(table, "logistic", folds=3, seed=1)
    assert len(seen) == 3 and all(len(rows) == 400 for rows in seen)
    assert sorted(np.concatenate([np.setdiff1d(np.arange(600), rows) for rows in seen])) == list(
        range(600)
    )  # each held-out fold is exactly the rows the check did not read
    assert report["leaks"] == {"flag": "identical to the target (leak)"}


def test_evaluate_json_lists_leaks_and_warnings_and_is_not_suspicious(tmp_path):
    frame = _accounts()
    reasons = np.random.default_rng(1).choice(["price", "bugs"], size=len(frame))
    frame["exit_note"] = np.where(_churned(frame), reasons, None)
    frame["vendor_risk"] = 2.2 * _churned(frame) + np.random.default_rng(4).normal(size=len(frame))
    report, stderr = _evaluate(frame, tmp_path)
    assert list(report["leaks"]) == ["exit_note"]
    assert report["leaks"]["exit_note"].startswith("its missingness predicts the target")
    assert report["dropped_columns"]["exit_note"] == report["leaks"]["exit_note"]
    assert "exit_note" not in report["features"] and "vendor_risk" in report["features"]
    assert any("'vendor_risk' alone reaches AUC" in w for w in report["warnings"])
    assert "exit_note" in stderr and "vendor_risk" in stderr
    assert report["suspicious"] is False and report["auc"] < 0.99


def test_keep_makes_a_kept_leak_suspicious_with_its_top_feature(tmp_path):
    frame = _accounts(n=600)
    frame["flag"] = _churned(frame).astype(int)
    report, stderr = _evaluate(frame, tmp_path, "--keep", "flag")
    assert report["leaks"] == {} and "flag" in report["features"]
    assert report["suspicious"] is True and report["auc"] >= 0.99
    assert report["top_features"][0]["feature"] == "flag"
    assert any(w.startswith("cross-validated AUC") for w in report["warnings"])
    assert "too good to be true" in stderr


def test_drop_removes_a_column_the_user_names(tmp_path):
    frame = _accounts(n=600)
    frame["vendor_risk"] = 2.2 * _churned(frame) + np.random.default_rng(4).normal(size=600)
    report, _ = _evaluate(frame, tmp_path, "--drop", "vendor_risk", "--drop", "region")
    assert report["dropped_columns"]["vendor_risk"] == "dropped by --drop"
    assert report["features"] == ["usage", "tickets"]
    assert report["warnings"] == []


def test_keep_or_drop_of_an_unknown_column_exits_2(tmp_path):
    path = tmp_path / "accounts.csv"
    _accounts(n=300).to_csv(path, index=False)
    for option in ("--keep", "--drop"):
        result = _invoke("evaluate", "--csv", str(path), "--target", "churned", option, "nope")
        assert result.exit_code == 2
        assert f"{option} column 'nope' is not in the table" in result.output


def test_a_leak_found_in_some_folds_only_says_so():
    findings = [
        leakage.Screening(leaks=[leakage.Finding("x", "missingness", 0.995, None, 1.0, 0.01)]),
        leakage.Screening(warnings=[leakage.Finding("x", "strong", 0.95)]),
        leakage.Screening(leaks=[leakage.Finding("x", "missingness", 0.997, None, 1.0, 0.006)]),
    ]
    merged = leakage.combine(findings)
    (leak,) = merged.leaks
    assert leak.auc == pytest.approx(0.996) and merged.warnings == []
    assert leak.reason.endswith("(in 2 of 3 training folds)")
    assert evaluation.leak_report(merged)["leaks"] == {"x": leak.reason}


# --- training snapshots ------------------------------------------------------------------------


def test_snapshot_screen_drops_a_future_attribute_on_training_days_only():
    rng = np.random.default_rng(6)
    days = [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]
    rows = []
    for day in days:
        churned = rng.random(300) < 0.2
        rows.append(
            pd.DataFrame(
                {
                    "as_of": day,
                    "account_id": np.arange(300),
                    "attr_plan_tier": rng.choice(["gold", "silver"], size=300),
                    "attr_cancel_reason": np.where(churned, "price", None),
                    "attr_region_code": rng.choice(["a", "b"], size=300),
                    "churned": churned.astype(int),
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    # A leak that shows only on the validation day is not seen: it is not a training day.
    last = frame["as_of"] == days[-1]
    frame.loc[last, "attr_region_code"] = np.where(frame.loc[last, "churned"] == 1, "x", "y")
    kept, screening = leakage.screen_snapshots(frame, days[:2])
    assert screening.dropped == ["attr_cancel_reason"]
    assert "attr_cancel_reason" not in kept.columns and "attr_region_code" in kept.columns
    fields = leakage.card_fields(screening)
    assert fields["leaks"][0]["column"] == "attr_cancel_reason"
    assert "missingness" in fields["leaks"][0]["reason"]
    assert fields["leak_warnings"] == []
