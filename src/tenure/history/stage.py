"""The `history` stage: archive daily scores, roll old weeks up, trim the app DB to its window.

Every day of churn_score and health_score rows goes to the warehouse archive (the last two
days are rewritten: the real-time path may have moved today's health). Weeks wholly before the
window (which starts on the Monday on or before as_of - score_history_days + 1) are rolled up
from the archive into score_week, and their daily rows leave the app DB, except each
account's latest row. Only archived days are ever deleted.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import sqlalchemy as sa

from tenure.churn.models import ChurnScore
from tenure.db.bulk import bulk_insert_columns
from tenure.health.models import HealthScore
from tenure.history.models import ScoreWeek
from tenure.history.store import MODELS, archived_days, export_days, history_root, source_sql
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog

WEEKLY_SQL = """
WITH health AS (
    SELECT account_id, date_trunc('week', as_of)::DATE AS week, count(*) AS health_days,
           avg(score) AS health_score, arg_max(tier, as_of) AS health_tier
    FROM {health} WHERE as_of >= $first AND as_of < $boundary GROUP BY ALL
), churn AS (
    SELECT account_id, date_trunc('week', as_of)::DATE AS week, count(*) AS churn_days,
           avg(probability) AS churn_probability, arg_max(risk_tier, as_of) AS risk_tier
    FROM {churn} WHERE as_of >= $first AND as_of < $boundary GROUP BY ALL
)
SELECT coalesce(h.account_id, c.account_id) AS account_id, coalesce(h.week, c.week) AS week,
       coalesce(h.health_days, 0) AS health_days, h.health_score, h.health_tier,
       coalesce(c.churn_days, 0) AS churn_days, c.churn_probability, c.risk_tier
FROM health h FULL OUTER JOIN churn c ON h.account_id = c.account_id AND h.week = c.week
ORDER BY account_id, week
"""


def window_start(as_of: date, days: int) -> date:
    """Return the first day kept daily in the app DB: a Monday, so weeks roll up whole."""
    first = as_of - timedelta(days=days - 1)
    return first - timedelta(days=first.weekday())


def weekly_rollup(root: Path, first: date, boundary: date) -> dict[str, list]:
    """Return the weeks from first's Monday to boundary, per account, from the archive."""
    sql = WEEKLY_SQL.format(
        health=source_sql(root, "health_score", {"score": "DOUBLE", "tier": "VARCHAR"}),
        churn=source_sql(root, "churn_score", {"probability": "DOUBLE", "risk_tier": "VARCHAR"}),
    )
    con = duckdb.connect()
    try:
        monday = first - timedelta(days=first.weekday())
        table = con.execute(sql, {"first": monday, "boundary": boundary}).to_arrow_table()
    finally:
        con.close()
    return table.to_pydict()


def _stale(model: type, boundary: date) -> sa.ColumnElement[bool]:
    """Return the condition of daily rows before boundary that are not their account's latest."""
    later = sa.alias(model.__table__)
    latest = sa.select(sa.func.max(later.c.as_of)).where(later.c.account_id == model.account_id)
    return sa.and_(model.as_of < boundary, model.as_of < latest.scalar_subquery())


def _archive(context: StageContext, root: Path) -> dict[str, int]:
    """Write the missing days (and the last two) of both tables to the archive."""
    written = {}
    with context.engine.connect() as conn:
        for table, model in MODELS.items():
            in_db = set(conn.scalars(sa.select(model.as_of).distinct()).all())
            fresh = {d for d in in_db if context.as_of - timedelta(days=1) <= d <= context.as_of}
            missing = {d for d in in_db if d <= context.as_of} - archived_days(root, table)
            written[table] = export_days(context.engine, root, table, missing | fresh)
    return written


def _stale_days(conn: sa.Connection, root: Path, boundary: date) -> list[date]:
    """Return the days with rows to move; raise if one of them is not archived (nothing moves)."""
    days: set[date] = set()
    for table, model in MODELS.items():
        stale = set(conn.scalars(sa.select(model.as_of).where(_stale(model, boundary)).distinct()))
        if missing := sorted(stale - archived_days(root, table)):
            raise RuntimeError(f"{table} of {missing[0]} is not archived; nothing was moved")
        days |= stale
    return sorted(days)


def _roll_up_and_trim(context: StageContext, root: Path, boundary: date) -> dict[str, int]:
    """Replace the weeks that roll up now and delete their daily rows (archived ones only)."""
    with context.engine.begin() as conn:
        days = _stale_days(conn, root, boundary)
        if not days:
            return {"weeks": 0, "daily_rows_moved": 0}
        weeks = weekly_rollup(root, days[0], boundary)
        monday = days[0] - timedelta(days=days[0].weekday())
        old = sa.delete(ScoreWeek).where(ScoreWeek.week >= monday, ScoreWeek.week < boundary)
        conn.execute(old)
        bulk_insert_columns(conn, ScoreWeek.__table__, weeks)
        moved = sum(
            conn.execute(sa.delete(m).where(_stale(m, boundary))).rowcount
            for m in (ChurnScore, HealthScore)
        )
    return {"weeks": len(weeks["week"]), "daily_rows_moved": moved}


# It also deletes rolled-up daily rows of churn_score and health_score (like retention, not
# declared as writes: no stage reads what it removes, only the window it keeps).
@stage(
    "history",
    reads=(catalog.CHURN_SCORES, catalog.HEALTH_SCORES),
    writes=(catalog.SCORE_HISTORY, catalog.SCORE_WEEKS),
)
def score_history(context: StageContext) -> StageSummary:
    """Archive every daily score, keep a window of them in the app DB, roll older weeks up."""
    root = history_root(context.settings)
    archived = _archive(context, root)
    boundary = window_start(context.as_of, context.settings.score_history_days)
    trimmed = _roll_up_and_trim(context, root, boundary)
    return {
        "archived_churn_rows": archived["churn_score"],
        "archived_health_rows": archived["health_score"],
        "window_from": boundary.isoformat(),
        **trimmed,
    }
