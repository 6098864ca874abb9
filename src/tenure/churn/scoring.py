"""Daily scoring: the champion scores every paying account of an as-of day, with reasons.

Scoring reads the day's feature table (built by the `features` stage), refuses to run when
the inputs fail the data-quality gate (the previous scores stay), and replaces that day's rows
of `churn_score` in one transaction, so re-running a day changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete
from sqlalchemy.exc import DBAPIError

from tenure import clock
from tenure.churn import drift, registry
from tenure.churn.fitted_model import sigmoid
from tenure.churn.models import ChurnScore
from tenure.churn.reasons import reasons_json
from tenure.churn.snapshots import read_feature_table
from tenure.config import Settings
from tenure.db.bulk import bind, bind_column, bulk_insert_columns
from tenure.errors import InputError
from tenure.logging import get_logger
from tenure.warehouse.catalog import EVENTS
from tenure.warehouse.connection import open_warehouse

log = get_logger("churn.scoring")

GATE_DAYS = 3
GATE_BASELINE_DAYS = 28
GATE_MIN_SHARE = 0.2  # the last 3 days must hold ≥ 20 % of their usual event volume


class ScoringRefused(InputError):
    """The inputs of a scoring day failed the data-quality gate; earlier scores are kept."""


def quality_gate(con: Any, as_of: date) -> dict[str, Any]:
    """Return event volumes before the as-of; raise ScoringRefused when recent data is missing."""
    cutoff = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    recent_start = cutoff - timedelta(days=GATE_DAYS)
    base_start = recent_start - timedelta(days=GATE_BASELINE_DAYS)
    recent, baseline = con.execute(
        f"SELECT count(*) FILTER (WHERE ts >= ?), count(*) FILTER (WHERE ts < ?) FROM {EVENTS} "
        "WHERE ts >= ? AND ts < ?",
        [recent_start, recent_start, base_start, cutoff],
    ).fetchone()
    expected = baseline / GATE_BASELINE_DAYS * GATE_DAYS
    figures = {"events_last_3_days": int(recent), "expected_about": round(expected, 1)}
    if recent == 0:
        raise ScoringRefused(
            f"scoring refused for {as_of}: no events in the {GATE_DAYS} days up to {as_of} "
            "(is the event feed stalled?); previous scores are kept"
        )
    if expected > 0 and recent < GATE_MIN_SHARE * expected:
        raise ScoringRefused(
            f"scoring refused for {as_of}: {recent} events in the last {GATE_DAYS} days, under "
            f"{GATE_MIN_SHARE:.0%} of the usual {expected:.0f}; previous scores are kept"
        )
    return figures


def score_frame(loaded: registry.LoadedModel, features: pd.DataFrame) -> pd.DataFrame:
    """Return account_id, probability, risk_tier, reasons (JSON text) for a feature table."""
    model = loaded.model
    explained = model.explain(features)  # positional arrays: the frame's index is not read
    # Exact tree SHAP sums to the margin, so one pass over the trees gives both.
    margin = explained.contributions.sum(axis=1) + explained.bias
    probability = sigmoid(model.slope * margin + model.intercept)
    calibrated = explained.contributions
    calibrated *= model.slope  # each feature's share of the calibrated log-odds
    labels = features.reindex(columns=model.categorical)
    reasons = reasons_json(calibrated, model.columns, explained.numbers, labels)
    return pd.DataFrame(
        {
            "account_id": features["account_id"].astype(int).to_numpy(),
            "probability": probability,
            "risk_tier": model.risk_tiers(probability),
            "reasons": reasons,
        }
    )


# churn_score columns written per row, then the four that are the same for every row of a day.
_ROW_COLUMNS = ("account_id", "probability", "risk_tier", "reasons")
_DAY_COLUMNS = ("as_of", "horizon_days", "model_version", "scored_at")
# SQLAlchemy's JSON type binds json.dumps(value) with default arguments (SQLite stores that text,
# PostgreSQL parses it into jsonb); one encoder with the same settings gives byte-identical text.
# No circular check: reasons are small lists of flat dicts.
_REASONS_JSON = json.JSONEncoder(check_circular=False)


def _row_values(dialect: Any, scores: pd.DataFrame) -> dict[str, list[Any]]:
    """Return the per-row columns as Python values, reasons as JSON text (kept if already text)."""
    serialize = dialect._json_serializer or _REASONS_JSON.encode
    reasons = scores["reasons"].tolist()
    if pd.api.types.infer_dtype(scores["reasons"], skipna=False) != "string":  # not all text
        reasons = [r if isinstance(r, str) else serialize(r) for r in reasons]
    return {
        "account_id": scores["account_id"].to_numpy(dtype=np.int64).tolist(),
        "probability": scores["probability"].to_numpy(dtype=float).tolist(),
        "risk_tier": scores["risk_tier"].astype(str).tolist(),
        "reasons": reasons,
    }


def _copies(dialect: Any) -> bool:
    """Return True when the driver has PostgreSQL's COPY (psycopg), the fastest bulk path."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


def _copy_rows(connection: Connection, scores: pd.DataFrame, day: dict[str, Any]) -> None:
    """COPY the rows into churn_score on the connection's transaction (reasons parsed as jsonb)."""
    dialect, table = connection.dialect, ChurnScore.__table__
    values = _row_values(dialect, scores)
    columns = {  # reasons are already JSON text: binding them again would encode twice
        name: column if name == "reasons" else bind_column(table, name, column, dialect)
        for name, column in values.items()
    }
    constants = tuple(bind(table, name, day[name], dialect) for name in _DAY_COLUMNS)
    sql = f"COPY churn_score ({', '.join(_ROW_COLUMNS + _DAY_COLUMNS)}) FROM STDIN"
    driver = connection.connection.driver_connection  # same transaction as the delete
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in zip(*(columns[name] for name in _ROW_COLUMNS), strict=True):
                copy.write_row(row + constants)
    except dialect.loaded_dbapi.Error as exc:  # raise what Core raises (IntegrityError, ...)
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from exc


def write_scores(
    engine: Engine, scores: pd.DataFrame, *, as_of: date, horizon: int, version: str
) -> int:
    """Replace the as-of day's churn_score rows with these scores (one transaction).

    Stores exactly what a Core insert would, but in bulk: COPY on PostgreSQL with psycopg,
    the driver's executemany (`tenure.db.bulk`) elsewhere, the day's constants bound once.
    """
    values = (as_of, horizon, version, clock.now())
    day = dict(zip(_DAY_COLUMNS, values, strict=True))
    with engine.begin() as connection:
        connection.execute(delete(ChurnScore).where(ChurnScore.as_of == as_of))
        if not len(scores):
            return 0
        if _copies(connection.dialect):
            _copy_rows(connection, scores, day)
        else:
            columns = _row_values(connection.dialect, scores)
            table = ChurnScore.__table__
            bulk_insert_columns(connection, table, columns, raw={"reasons"}, constants=day)
    return len(scores)


def save_drift(settings: Settings, as_of: date, report: dict[str, Any]) -> None:
    """Keep the day's drift report in DATA_DIR/churn/drift-YYYYMMDD.json."""
    folder = settings.data_dir / "churn"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"drift-{as_of:%Y%m%d}.json"
    path.write_text(json.dumps(report, indent=2, default=str))


def score_day(settings: Settings, engine: Engine, as_of: date) -> dict[str, Any]:
    """Score every paying account of the as-of day with the champion and write the scores."""
    horizon = settings.churn_horizon_days
    loaded = registry.load_version(settings, registry.model_name(horizon))
    with open_warehouse(settings, read_only=True) as warehouse:
        gate = quality_gate(warehouse.con, as_of)
        features = read_feature_table(warehouse.con, as_of)
    if features.empty:
        raise InputError(f"no paying accounts on {as_of}: nothing to score")
    scores = score_frame(loaded, features)
    written = write_scores(engine, scores, as_of=as_of, horizon=horizon, version=loaded.version)
    columns = loaded.model.columns  # a column the table lacks counts as all missing
    current = (
        features if set(columns) <= set(features.columns) else features.reindex(columns=columns)
    )
    report = drift.drift_report(
        loaded.card["drift_reference"], loaded.card["score_reference"], current,
        scores["probability"].to_numpy(), loaded.card.get("drift_weights"),
    )  # fmt: skip
    provisional = report["score_status"] == "drifted"
    report.update(
        as_of=as_of.isoformat(), model=loaded.name, model_version=loaded.version,
        tiers_provisional=provisional,
    )  # fmt: skip
    save_drift(settings, as_of, report)
    if provisional:
        log.warning(
            "churn_tiers_provisional", as_of=as_of.isoformat(), score_psi=report["score_psi"]
        )
    tiers = scores["risk_tier"].value_counts()
    return {
        "scored": written,
        "model_version": loaded.version,
        "high": int(tiers.get("high", 0)),
        "medium": int(tiers.get("medium", 0)),
        "mean_probability": round(float(np.mean(scores["probability"])), 4),
        "score_psi": round(report["score_psi"], 3),
        "drifted": report["drifted"],
        "tiers_provisional": provisional,
        **gate,
    }


def no_champion_reason(settings: Settings) -> str:
    """Return why nothing scores: no model trained yet, or the latest one showed no skill."""
    name = registry.model_name(settings.churn_horizon_days)
    version = registry.latest_version(settings, name)
    if version is None:
        return "no champion churn model yet: run `tenure model train`"
    check = registry.load_version(settings, name, version).report.get("skill_check") or {}
    if check.get("skill", True):
        return (
            f"no champion churn model: promote one with `tenure model promote` (latest v{version})"
        )
    helps = "; ".join(check.get("would_help") or [])
    return (
        f"no champion churn model: {name} v{version} was not promoted, {check['verdict']}. "
        f"What would help: {helps}"
    )
