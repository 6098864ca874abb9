"""The `history` stage: the app DB keeps a window, the warehouse keeps every day, figures stay."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tenure.churn.models import ChurnScore
from tenure.db.session import session_scope
from tenure.health.backtest import PastDay, model_auc, model_days
from tenure.health.models import HealthScore
from tenure.health.service import account_history
from tenure.history import service as history
from tenure.history.models import ScoreWeek
from tenure.history.stage import score_history, window_start
from tenure.history.store import history_root, read_history
from tenure.stage import StageContext

from ..factories import add_account

END = date(2025, 6, 30)
DAYS = 150
STAMP = datetime(2025, 6, 30, tzinfo=UTC)


def _book(engine) -> list[tuple[int, str]]:
    """Score four accounts daily for 150 days; the last one stops 100 days before the end."""
    rng = np.random.default_rng(3)
    accounts = []
    with session_scope(engine) as session:
        for n in range(4):
            account = add_account(session, f"H{n}")
            accounts.append((account.id, account.external_id))
            last = END - timedelta(days=100) if n == 3 else END
            for k in range(DAYS):
                day = END - timedelta(days=DAYS - 1 - k)
                if day > last:
                    break
                score, p = float(rng.uniform(0, 100)), float(rng.uniform(0, 1))
                tier = "healthy" if score > 60 else "at_risk"
                session.add(HealthScore(account_id=account.id, as_of=day, scorecard="default",
                                        score=score, tier=tier, measures={"logins": {"value": k}},
                                        reason=None, updated_at=STAMP))  # fmt: skip
                session.add(ChurnScore(account_id=account.id, as_of=day, model_version="1",
                                       probability=p, risk_tier="high" if p > 0.5 else "low",
                                       reasons=[], scored_at=STAMP))  # fmt: skip
    return accounts


def _past(accounts: list[tuple[int, str]], days: list[date]) -> list[PastDay]:
    """Past days with a churn outcome per account (alternating), as the backtest builds them."""
    ids = pd.DataFrame({"account_id": [a for a, _ in accounts]})
    churned = np.array([i % 2 == 0 for i in range(len(accounts))])
    return [PastDay(d, ids, pd.DataFrame(), {}, {}, churned) for d in days]


def _figures(engine, settings, accounts) -> dict:
    """Return what the history endpoints and the backtest read."""
    archive = history_root(settings)
    with session_scope(engine) as session:
        days = model_days(session, END, 30, 6, archive)
        auc = model_auc(session, _past(accounts, days), archive)
        return {
            "health": [account_history(session, ext, END) for _, ext in accounts[:3]],
            "model_days": days,
            "model_auc": (auc["observations"], auc["auc"]),
            "old_days": model_days(session, END, 100, 3, archive),
            "old_auc": model_auc(session, _past(accounts, [END - timedelta(days=130)]), archive)[
                "auc"
            ],
        }


def _weekly_by_hand(frame: pd.DataFrame, boundary: date) -> pd.DataFrame:
    """Return the weekly means and day counts of rows before boundary (pandas, independently)."""
    old = frame[frame["as_of"] < boundary].copy()
    old["week"] = old["as_of"].map(lambda d: d - timedelta(days=d.weekday()))
    return old.groupby(["account_id", "week"]).agg(mean=("value", "mean"), days=("value", "size"))


def test_history_moves_old_days_out_and_every_figure_stays(settings, engine) -> None:
    """Window of 90 days: endpoints and backtests agree before and after; weeks are true means."""
    accounts = _book(engine)
    before = _figures(engine, settings, accounts)
    with engine.connect() as conn:
        health = pd.read_sql("SELECT account_id, as_of, score AS value FROM health_score", conn)
        churn = pd.read_sql("SELECT account_id, as_of, probability AS value FROM churn_score", conn)
    for frame in (health, churn):
        frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date

    summary = score_history(StageContext(settings=settings, engine=engine, as_of=END))
    boundary = window_start(END, settings.score_history_days)
    assert summary["window_from"] == boundary.isoformat() and boundary.weekday() == 0
    assert summary["archived_health_rows"] == len(health) and summary["daily_rows_moved"] > 0
    assert _figures(engine, settings, accounts) == before

    with session_scope(engine) as session:
        kept = session.scalars(sa.select(HealthScore.as_of).where(HealthScore.as_of < boundary))
        assert list(kept) == [END - timedelta(days=100)]  # only the stopped account's latest
        weeks = pd.DataFrame(
            session.execute(sa.select(ScoreWeek.account_id, ScoreWeek.week, ScoreWeek.health_score,
                                      ScoreWeek.health_days, ScoreWeek.churn_probability))
            .all(), columns=["account_id", "week", "health", "days", "churn"],
        ).set_index(["account_id", "week"]).sort_index()  # fmt: skip
        shown = history.score_history(session, accounts[0][0])
    expected_health = _weekly_by_hand(health, boundary)
    expected_churn = _weekly_by_hand(churn, boundary)
    assert weeks.index.equals(expected_health.index)
    np.testing.assert_allclose(weeks["health"], expected_health["mean"])
    np.testing.assert_allclose(weeks["churn"], expected_churn["mean"])
    assert (weeks["days"] == expected_health["days"]).all()
    assert (
        shown["daily"][0]["as_of"] == boundary.isoformat()
        and len(shown["daily"]) == (END - boundary).days + 1
    )
    assert shown["weekly"][-1]["week"] == (boundary - timedelta(days=7)).isoformat()

    archived = read_history(history_root(settings), "churn_score", {"probability": "DOUBLE"},
                            sorted(set(churn["as_of"]))).to_pandas()  # fmt: skip
    assert len(archived) == len(churn)  # the warehouse has every day
    again = score_history(StageContext(settings=settings, engine=engine, as_of=END))
    assert again["daily_rows_moved"] == 0 and _figures(engine, settings, accounts) == before


def test_a_day_missing_from_the_archive_is_never_deleted(settings, engine) -> None:
    """If an old day's partition is gone, the stage moves nothing and says which day."""
    _book(engine)
    root = history_root(settings)
    first = END - timedelta(days=DAYS - 1)
    context = StageContext(settings=settings, engine=engine, as_of=END)
    from tenure.history import stage as history_stage

    history_stage._archive(context, root)
    (root / "health_score" / f"as_of={first.isoformat()}" / "part.parquet").unlink()
    with pytest.raises(RuntimeError, match=f"health_score of {first} is not archived"):
        history_stage._roll_up_and_trim(context, root, window_start(END, 90))
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(HealthScore)) > 400


def test_the_account_chart_shows_weeks_before_the_daily_window() -> None:
    """Weekly means come first, only for weeks before the first daily point, without gaps."""
    from tenure.web.service import with_weeks

    weeks = [
        {"week": "2025-03-17", "health_score": 40.0},
        {"week": "2025-03-24", "health_score": None},
        {"week": "2025-03-31", "health_score": 55.0},
    ]
    daily = [(date(2025, 3, 31), 60.0), (date(2025, 4, 1), 61.0)]
    assert with_weeks(weeks, "health_score", daily) == [(date(2025, 3, 17), 40.0), *daily]
    assert with_weeks(weeks, "health_score", []) == [
        (date(2025, 3, 17), 40.0),
        (date(2025, 3, 31), 55.0),
    ]
