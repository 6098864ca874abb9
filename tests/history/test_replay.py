"""The alert-rule backtest replays months back: after the history move it reads the archive."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta

import numpy as np

from tenure.accounts.schemas import Money
from tenure.alerts import service
from tenure.alerts.backtest import backtest_alert_rules
from tenure.churn.models import ChurnScore
from tenure.db.bulk import bulk_insert_columns
from tenure.db.session import session_scope
from tenure.health.models import HealthScore
from tenure.history.replay import archived_scores_in
from tenure.history.stage import score_history
from tenure.history.store import history_root
from tenure.stage import StageContext

from ..factories import add_account, add_subscription

END = date(2025, 6, 30)
START = END - timedelta(days=200)
STAMP = datetime(2025, 6, 30, tzinfo=UTC)


def _seed(engine) -> None:
    """Eight accounts scored daily; four fall 30 points in February, three of them churn."""
    rng = np.random.default_rng(11)
    days = [START + timedelta(days=k) for k in range(201)]
    with session_scope(engine) as session:
        ids = []
        for n in range(8):
            account = add_account(session, f"R{n}", owner="csm@x.io")
            ended = datetime(2025, 5, 1, tzinfo=UTC) if n in (0, 1, 2, 6) else None
            add_subscription(session, account, ended_at=ended)
            ids.append(account.id)
        service.ensure_default_rules(session)
    grid = [(a, n, d) for n, a in enumerate(ids) for d in days]
    falling = np.array([n < 4 and date(2025, 2, 10) <= d <= date(2025, 2, 20) for _, n, d in grid])
    score = rng.uniform(65, 75, len(grid)) - 30 * falling
    p = np.where(falling, 0.8, rng.uniform(0, 0.3, len(grid)))
    key = {"account_id": [a for a, _, _ in grid], "as_of": [d for _, _, d in grid]}
    with engine.begin() as conn:
        bulk_insert_columns(conn, HealthScore.__table__, {
            **key, "score": score.tolist(),
            "tier": np.where(score < 50, "at_risk", "healthy").tolist(),
        }, constants={"scorecard": "default", "measures": {}, "updated_at": STAMP})  # fmt: skip
        bulk_insert_columns(conn, ChurnScore.__table__, {
            **key, "probability": p.tolist(), "risk_tier": np.where(p > 0.5, "high", "low").tolist(),
        }, constants={"horizon_days": 90, "model_version": "1", "reasons": [],
                      "scored_at": STAMP})  # fmt: skip


def _replay(engine, settings, *, archive: bool) -> dict[str, tuple[int, int]]:
    """Return each rule's (alerts, churned) over 84 days ending a 90-day horizon before END."""
    with session_scope(engine) as session:
        root = history_root(settings)
        replaying = archived_scores_in(session, root, START, END) if archive else nullcontext()
        with replaying:
            lines = backtest_alert_rules(
                session, Money.from_settings(settings), end=END, days=84, step_days=7
            )
        return {line.rule: (line.alerts, line.churned) for line in lines}


def test_the_rule_replay_gives_the_same_alerts_after_the_move(any_settings, any_engine) -> None:
    settings, engine = any_settings, any_engine
    """Same alerts and churned counts per rule; without the archive the old days are gone."""
    _seed(engine)
    before = _replay(engine, settings, archive=False)
    assert sum(alerts for alerts, _ in before.values()) > 0
    score_history(StageContext(settings=settings, engine=engine, as_of=END))
    assert _replay(engine, settings, archive=True) == before
    without = _replay(engine, settings, archive=False)
    assert sum(a for a, _ in without.values()) < sum(a for a, _ in before.values())
    with session_scope(engine) as session:  # the temporary tables are gone, the window stays
        assert session.query(HealthScore).filter(HealthScore.as_of < date(2025, 3, 1)).count() == 0
