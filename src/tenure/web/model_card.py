"""The churn model page: the champion's out-of-time metrics, reliability, lift, importance, drift.

What the page shows of the model report (metrics, charts) is `tenure.churn.report.report_context`,
the same as the standalone `tenure model report --html` file.

Read from the churn registry (`tenure.churn.registry`, MLflow in the data dir) and the drift
reports the scoring stage writes (`DATA_DIR/churn/drift-YYYYMMDD.json`). Without a trained
model the page says so; the registry is not touched (nor created) when no store exists.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.churn.drift import drift_for_version
from tenure.churn.models import ChurnScore
from tenure.churn.report import report_context
from tenure.config import Settings
from tenure.errors import NotFound


def champion(settings: Settings) -> dict[str, Any] | None:
    """Return the champion's name, version, card and report, or None when none is trained."""
    if not (settings.data_dir / "mlflow.db").exists():
        return None
    # Imported here: the registry loads MLflow (seconds), which only this page needs; the
    # server's workers must start quickly (see cli/serve.py's health-check note).
    from tenure.churn import registry

    name = registry.model_name(settings.churn_horizon_days)
    try:
        loaded = registry.load_version(settings, name)
    except NotFound:
        return None
    return {"name": name, "version": loaded.version, "card": loaded.card, "report": loaded.report}


def unpromoted_skill(settings: Settings) -> dict[str, Any] | None:
    """Return the latest version's skill check when it was not promoted for lack of skill."""
    if not (settings.data_dir / "mlflow.db").exists():
        return None
    from tenure.churn import registry  # MLflow: see champion()

    name = registry.model_name(settings.churn_horizon_days)
    version = registry.latest_version(settings, name)
    if version is None:
        return None
    check = registry.load_version(settings, name, version).report.get("skill_check")
    if not check or check.get("skill"):
        return None
    return {**check, "name": name, "version": version}


def score_summary(db_session: Session) -> dict[str, Any]:
    """Return how many accounts the latest scoring day covered, their mean and the model."""
    day = db_session.scalar(sa.select(sa.func.max(ChurnScore.as_of)))
    if day is None:
        return {}
    row = db_session.execute(
        sa.select(sa.func.count(), sa.func.avg(ChurnScore.probability), ChurnScore.model_version)
        .where(ChurnScore.as_of == day)
        .group_by(ChurnScore.model_version)
    ).first()
    count, mean, version = row if row else (0, None, None)
    return {"as_of": day, "accounts": count, "mean": mean, "model_version": version}


def model_context(settings: Settings, db_session: Session) -> dict[str, Any]:
    """Return what the model page shows (an empty state when no model is trained yet)."""
    found = champion(settings)
    scores = score_summary(db_session)
    if found is None:
        return {"model": None, "scores": scores, "no_skill": unpromoted_skill(settings)}
    report = found["report"]
    drift = drift_for_version(settings, found["version"])
    return {
        "model": found,
        "card": found["card"],
        "scores": scores,
        "skill": report.get("skill_check"),
        "tiers": report.get("risk_tiers") or {},
        **report_context(report, drift),
    }
