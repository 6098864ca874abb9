"""Risk checks on the churn model: drift (the scoring stage's reports), and realised accuracy.

"Worse than its backtest": the newest score day whose horizon has passed by the day is judged —
an account churned when it had MRR in force on the score day and none `horizon` days later —
and the AUC of its probabilities is compared with the validation AUC the model version was
registered with. The model registry (MLflow) is read only when there is a judged day.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force
from tenure.churn import drift
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.reports.risk_rules import MIN_SCORED_FOR_AUC, Finding, model_worse_than_backtest

MODEL_OWNER = "data team"


def drift_risks(settings: Settings, day: date) -> list[Finding]:
    """Return a finding when the newest drift report on or before day says the model drifted."""
    files = [p for p in drift.drift_files(settings) if (drift.drift_file_day(p) or day) <= day]
    if not files:
        return []
    try:
        report = drift.read_drift(files[-1])
    except ValueError as exc:
        return [Finding("model:drift", "programme", "model_drift", "the drift report is unreadable",
                        MODEL_OWNER, "re-score the day to rewrite it", detail={"error": str(exc)})]  # fmt: skip
    if not report["drifted"]:
        return []
    features = [str(name) for name in report["drifted_features"]][:5]
    return [Finding(
        "model:drift", "programme", "model_drift",
        f"the churn model drifted (score PSI {float(report['score_psi']):.2f})", MODEL_OWNER,
        "retrain on recent data (`tenure model train`) and compare before promoting",
        detail={"drifted_features": features, "report": files[-1].name},
    )]  # fmt: skip


def realised_auc(
    session: Session, money: Money, day: date, settings_horizon: int
) -> tuple[float, str, date] | None:
    """Return (AUC, model version, score day) of the newest score day judged by day."""
    last_judged = day - timedelta(days=settings_horizon)
    score_day = session.scalar(
        sa.select(sa.func.max(ChurnScore.as_of)).where(ChurnScore.as_of <= last_judged)
    )
    if score_day is None:
        return None
    rows = session.execute(
        sa.select(ChurnScore.account_id, ChurnScore.probability, ChurnScore.model_version)
        .where(ChurnScore.as_of == score_day)
    ).all()  # fmt: skip
    start = mrr_in_force(db_session=session, day=score_day, money=money)
    end = mrr_in_force(
        db_session=session, day=score_day + timedelta(days=settings_horizon), money=money
    )
    judged_rows = [(p, 0 if end.get(a, 0) > 0 else 1) for a, p, _ in rows if start.get(a, 0) > 0]
    labels = np.array([y for _, y in judged_rows])
    if len(labels) < MIN_SCORED_FOR_AUC or labels.min() == labels.max():
        return None
    from sklearn.metrics import roc_auc_score

    scores = np.array([p for p, _ in judged_rows])
    return float(roc_auc_score(labels, scores)), str(rows[0][2]), score_day


def backtest_auc(settings: Settings, version: str) -> float | None:
    """Return the validation AUC a churn model version was registered with (None if unknown).

    Read from the version's card where scoring cached it (DATA_DIR/models/NAME-vN), else from
    the registry.
    """
    from tenure.churn import registry  # loaded already by the scoring stage

    name = registry.model_name(settings.churn_horizon_days)
    card = settings.data_dir / "models" / f"{name}-v{version}" / "model" / "card.json"
    if card.exists():
        auc = json.loads(card.read_text(encoding="utf-8")).get("metrics", {}).get("auc")
        return None if auc is None else float(auc)
    for row in registry.list_versions(settings, name):
        if row["version"] == version:
            return row["auc"]
    return None


def backtest_risks(session: Session, settings: Settings, day: date) -> list[Finding]:
    """Return a finding when the model's realised AUC is well below its backtest AUC."""
    realised = realised_auc(
        session, Money.from_settings(settings), day, settings.churn_horizon_days
    )
    if realised is None:
        return []
    auc, version, score_day = realised
    expected = backtest_auc(settings, version)
    if not model_worse_than_backtest(expected, auc):
        return []
    return [Finding(
        "model:backtest", "programme", "model_accuracy",
        f"the churn model ranks worse than its backtest (AUC {auc:.2f} vs {expected:.2f})",
        MODEL_OWNER, "retrain, check the features for leakage or a changed definition of churn",
        detail={"realised_auc": auc, "backtest_auc": expected, "version": version,
                "score_day": score_day.isoformat()},
    )]  # fmt: skip
