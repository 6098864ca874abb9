"""Daily scoring: every paying account scored with reasons, idempotent, refused on stale data."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tenure.churn import registry
from tenure.churn.models import ChurnScore
from tenure.churn.reasons import reason_text, top_reasons
from tenure.churn.scoring import ScoringRefused, score_day, score_frame
from tenure.churn.snapshots import read_feature_table
from tenure.churn.stages import account_features, churn_scores
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine
from tenure.errors import NotFound
from tenure.pipeline import select_stages
from tenure.stage import StageContext
from tenure.warehouse.connection import open_warehouse

from .conftest import LAST_DAY, copy_book


def _scores(engine) -> list[tuple[int, float, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(ChurnScore.account_id, ChurnScore.probability, ChurnScore.risk_tier)
            .where(ChurnScore.as_of == LAST_DAY)
            .order_by(ChurnScore.account_id)
        )
        return [tuple(r) for r in rows]


def test_scores_every_paying_account_and_rerunning_changes_nothing(
    trained_book: Path, tmp_path: Path
) -> None:
    """One row per account of the feature table; a second run replaces them identically."""
    settings = copy_book(trained_book, tmp_path)
    engine = get_engine(settings)
    first = _scores(engine)
    with open_warehouse(settings, read_only=True) as warehouse:
        (paying,) = warehouse.con.execute("SELECT count(*) FROM features_20250630").fetchone()
    assert len(first) == paying > 300
    assert {tier for _, _, tier in first} == {"low", "medium", "high"}
    summary = score_day(settings, engine, LAST_DAY)
    assert summary["scored"] == paying and summary["model_version"] == "1"
    assert _scores(engine) == first
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(ChurnScore)).scalar()
    assert total == paying
    engine.dispose()


def test_scored_probabilities_equal_the_calibrated_model(trained_book: Path) -> None:
    """Scoring derives the margin from the SHAP sum; it must equal the model's own probability."""
    settings = Settings(data_dir=trained_book)
    loaded = registry.load_version(settings, registry.model_name(settings.churn_horizon_days))
    with open_warehouse(settings, read_only=True) as warehouse:
        features = read_feature_table(warehouse.con, LAST_DAY)
    scored = score_frame(loaded, features)
    expected = loaded.model.predict_proba(features.reset_index(drop=True))
    np.testing.assert_allclose(scored["probability"].to_numpy(), expected, rtol=1e-4, atol=1e-6)
    assert scored["account_id"].tolist() == features["account_id"].astype(int).tolist()


def test_stale_inputs_refuse_scoring_and_keep_previous_scores(
    trained_book: Path, tmp_path: Path
) -> None:
    """Ten days after the last event the gate refuses with a clear error; nothing is replaced."""
    settings = copy_book(trained_book, tmp_path)
    engine = get_engine(settings)
    before = _scores(engine)
    late = LAST_DAY + timedelta(days=10)
    account_features(StageContext(settings=settings, engine=engine, as_of=late))
    with pytest.raises(ScoringRefused, match="no events in the 3 days up to 2025-07-10"):
        score_day(settings, engine, late)
    assert _scores(engine) == before
    with engine.connect() as conn:
        days = conn.execute(select(ChurnScore.as_of).distinct()).scalars().all()
    assert days == [LAST_DAY]
    engine.dispose()


def test_reasons_are_plain_language_and_ordered_by_strength() -> None:
    """Texts for the usual drivers; top 3 up and top 2 down, strongest first."""
    import pandas as pd

    assert reason_text("ev_login_trend", 0.4) == "login down 60 % vs previous 30 days"
    assert reason_text("failed_payments_90d", 2) == "2 failed payments in the last 90 days"
    assert reason_text("failed_payments_30d", 1) == "1 failed payment in the last 30 days"
    assert reason_text("days_since_last_event", 12) == "no activity for 12 days"
    assert reason_text("nps_last", 3) == "last NPS answer 3 (detractor)"
    assert reason_text("plan", "starter") == "plan: starter"
    contributions = pd.DataFrame(
        [[0.9, -0.1, 0.3, -0.7, 0.05, 0.2]], columns=["a", "b", "c", "d", "e", "f"]
    )
    features = pd.DataFrame([[1, 2, 3, 4, 5, 6]], columns=list("abcdef"))
    (reasons,) = top_reasons(contributions, features)
    assert [r["feature"] for r in reasons] == ["a", "d", "c", "f", "b"]
    assert reasons[1] == {"feature": "d", "value": 4, "contribution": -0.7, "text": "d 4"}


def test_scores_cli_top_and_show(trained_book: Path, tmp_path: Path) -> None:
    """`scores top --json` is one JSON array sorted by risk; `scores show` explains one account."""
    settings = copy_book(trained_book, tmp_path)
    runner = CliRunner()
    base = ["--data-dir", str(settings.data_dir)]
    result = runner.invoke(app, [*base, "scores", "top", "--n", "5", "--json"])
    assert result.exit_code == 0, result.output
    top = json.loads(result.stdout)
    assert len(top) == 5
    assert [r["probability"] for r in top] == sorted((r["probability"] for r in top), reverse=True)
    assert top[0]["reasons"] and top[0]["reasons"][0]["text"]
    shown = runner.invoke(app, [*base, "scores", "show", top[0]["external_id"]])
    assert shown.exit_code == 0, shown.output
    assert "churn probability" in shown.stdout and "risk (" in shown.stdout
    table = runner.invoke(app, [*base, "scores", "top", "--n", "3"])
    assert table.exit_code == 0 and top[0]["external_id"] in table.stdout
    missing = runner.invoke(app, [*base, "scores", "show", "acc_nobody"])
    assert missing.exit_code == 4 and "no churn score" in missing.output


def test_model_report_skips_an_unreadable_newer_drift_file(
    trained_book: Path, tmp_path: Path
) -> None:
    """A corrupt drift file does not break `model report`; the last readable one is shown."""
    settings = copy_book(trained_book, tmp_path)
    folder = settings.data_dir / "churn"
    (written,) = sorted(folder.glob("drift-*.json"))
    (folder / "drift-20991231.json").write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["--data-dir", str(settings.data_dir), "model", "report", "--json"]
    )
    assert result.exit_code == 0, result.output
    drift = json.loads(result.stdout)["drift"]
    assert drift["as_of"] == json.loads(written.read_text())["as_of"]


def test_scores_without_a_model_say_what_to_do(churn_book: Path, tmp_path: Path) -> None:
    """No champion yet: score_day raises a clear NotFound; the pipeline stage skips politely."""
    settings = copy_book(churn_book, tmp_path)
    engine = get_engine(settings)
    with pytest.raises(NotFound, match="tenure model train"):
        score_day(settings, engine, LAST_DAY)
    context = StageContext(settings=settings, engine=engine, as_of=LAST_DAY)
    assert churn_scores(context) == {
        "scored": 0,
        "skipped": "no champion churn model yet: run `tenure model train`",
    }


def test_pipeline_runs_features_then_scores_after_sync() -> None:
    """The daily pipeline has the two stages, right after sync and its serving copy of events."""
    stages = select_stages()
    assert [s.key for s in stages[:4]] == ["sync", "recent", "features", "scores"]
    assert stages[2:4] == [account_features, churn_scores]


def _add_accounts(engine, n: int) -> list[int]:
    from datetime import UTC, datetime

    from tenure.accounts.models import Account
    from tenure.db.session import session_scope

    with session_scope(engine) as session:
        accounts = [
            Account(external_id=f"a{i}", name=f"A{i}", created_at=datetime(2024, 1, 1, tzinfo=UTC))
            for i in range(n)
        ]
        session.add_all(accounts)
        session.flush()
        return [a.id for a in accounts]


# Non-ASCII text, None values, ints, floats with many digits, an empty list, a JSON null.
_REASONS = [
    [{"feature": "plan", "value": "café", "contribution": 0.5, "text": "plan: café ☕"}],
    [
        {"feature": "nps_last", "value": None, "contribution": 0.1234, "text": "no nps on record"},
        {"feature": "seats", "value": 3, "contribution": -1 / 3, "text": "3 seats"},
    ],
    [],
    None,
]
_PROBABILITIES = [0.1, 1 / 3, 0.1 + 0.2, 0.987654321012345]


def test_write_scores_replaces_the_day_on_sqlite_and_postgres(any_engine) -> None:
    """Rows read back exactly through the ORM; a re-run replaces the day, other days stay."""
    from datetime import UTC, date, datetime, timezone

    import pandas as pd
    from sqlalchemy.orm import Session

    from tenure.churn.scoring import write_scores
    from tenure.clock import FrozenClock, use_clock

    ids = _add_accounts(any_engine, 4)
    scores = pd.DataFrame(
        {"account_id": np.array(ids, dtype=np.int64), "probability": _PROBABILITIES,
         "risk_tier": ["low", "medium", "high", "high"], "reasons": _REASONS}
    )  # fmt: skip
    day, other_day = date(2025, 6, 30), date(2025, 6, 29)
    # 14:00 at +02:00 is 12:00 UTC: stored and read back as that aware UTC time.
    at = datetime(2025, 6, 30, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    with use_clock(FrozenClock(at)):
        first_two = scores.iloc[:2]
        assert write_scores(any_engine, first_two, as_of=other_day, horizon=30, version="6") == 2
        with Session(any_engine) as session:
            kept = [
                (r.id, r.account_id, r.probability, r.reasons)
                for r in session.scalars(select(ChurnScore).where(ChurnScore.as_of == other_day))
            ]
        for _ in range(2):
            assert write_scores(any_engine, scores, as_of=day, horizon=90, version="7") == 4
            with any_engine.connect() as conn:
                by_day = select(ChurnScore.as_of, func.count()).group_by(ChurnScore.as_of)
                counts = dict(conn.execute(by_day).all())
            assert counts == {other_day: 2, day: 4}
    with Session(any_engine) as session:
        rows = session.scalars(
            select(ChurnScore).where(ChurnScore.as_of == day).order_by(ChurnScore.account_id)
        ).all()
        assert [
            (r.account_id, r.as_of, r.horizon_days, r.model_version, r.probability, r.risk_tier)
            for r in rows
        ] == [
            (i, day, 90, "7", p, t)
            for i, p, t in zip(ids, _PROBABILITIES, scores["risk_tier"], strict=True)
        ]
        assert [r.reasons for r in rows] == _REASONS
        for row in rows:
            assert row.scored_at == at and row.scored_at.tzinfo is UTC
            assert row.scored_at == datetime(2025, 6, 30, 12, 0, 0, 123456, tzinfo=UTC)
        again = [
            (r.id, r.account_id, r.probability, r.reasons)
            for r in session.scalars(select(ChurnScore).where(ChurnScore.as_of == other_day))
        ]
        assert again == kept
    assert write_scores(any_engine, scores.iloc[:0], as_of=day, horizon=90, version="7") == 0
    with any_engine.connect() as conn:
        left = conn.execute(select(ChurnScore.as_of).distinct()).scalars().all()
    assert left == [other_day]


def test_write_scores_stores_what_a_core_insert_stores(any_engine) -> None:
    """The bulk write stores the same values, byte for byte, as SQLAlchemy's Core insert."""
    from datetime import UTC, date, datetime

    import pandas as pd
    from sqlalchemy import Date, bindparam, insert, text

    from tenure.churn.scoring import write_scores
    from tenure.clock import FrozenClock, use_clock

    ids = _add_accounts(any_engine, 4)
    at = datetime(2025, 6, 30, 12, 0, 0, 654321, tzinfo=UTC)
    scores = pd.DataFrame(
        {"account_id": ids, "probability": _PROBABILITIES,
         "risk_tier": ["low", "medium", "high", "high"], "reasons": _REASONS}
    )  # fmt: skip
    core_day, bulk_day = date(2025, 6, 29), date(2025, 6, 30)
    with any_engine.begin() as conn:
        conn.execute(
            insert(ChurnScore.__table__),
            [
                {"account_id": i, "as_of": core_day, "horizon_days": 90, "model_version": "7",
                 "probability": p, "risk_tier": t, "reasons": r, "scored_at": at}
                for i, p, t, r in zip(ids, _PROBABILITIES, scores["risk_tier"], _REASONS, strict=True)
            ],
        )  # fmt: skip
    with use_clock(FrozenClock(at)):
        write_scores(any_engine, scores, as_of=bulk_day, horizon=90, version="7")
    raw = text(
        "SELECT account_id, horizon_days, model_version, probability, risk_tier, "
        "CAST(reasons AS TEXT), CAST(scored_at AS TEXT), CAST(as_of AS TEXT) FROM churn_score "
        "WHERE as_of = :day ORDER BY account_id"
    ).bindparams(bindparam("day", type_=Date))
    with any_engine.connect() as conn:
        core = conn.execute(raw, {"day": core_day}).all()
        bulk = conn.execute(raw, {"day": bulk_day}).all()
    assert [r[:7] for r in bulk] == [r[:7] for r in core]
    assert {r[7] for r in core} == {"2025-06-29"} and {r[7] for r in bulk} == {"2025-06-30"}
    if any_engine.dialect.name == "sqlite":  # the JSON text itself, as json.dumps wrote it
        assert [r[5] for r in bulk] == [json.dumps(r) for r in _REASONS]
        assert {r[6] for r in bulk} == {"2025-06-30 12:00:00.654321"}


def test_a_failing_write_keeps_the_previous_scores(any_engine) -> None:
    """Delete and insert are one transaction: an unknown account raises and the day stays."""
    from datetime import date

    import pandas as pd
    from sqlalchemy.exc import IntegrityError

    from tenure.churn.scoring import write_scores

    ids = _add_accounts(any_engine, 2)
    day = date(2025, 6, 30)
    good = pd.DataFrame(
        {"account_id": ids, "probability": [0.2, 0.8], "risk_tier": ["low", "high"],
         "reasons": [[], []]}
    )  # fmt: skip
    write_scores(any_engine, good, as_of=day, horizon=90, version="7")
    bad = good.assign(account_id=[ids[0], max(ids) + 1000], probability=[0.5, 0.5])
    with pytest.raises(IntegrityError):
        write_scores(any_engine, bad, as_of=day, horizon=90, version="8")
    with any_engine.connect() as conn:
        kept = conn.execute(
            select(ChurnScore.account_id, ChurnScore.probability, ChurnScore.model_version)
            .where(ChurnScore.as_of == day)
            .order_by(ChurnScore.account_id)
        ).all()
    assert [tuple(r) for r in kept] == [(ids[0], 0.2, "7"), (ids[1], 0.8, "7")]


def test_write_scores_without_copy_uses_the_shared_executemany(any_engine, monkeypatch) -> None:
    """A driver without COPY gets the same rows through the shared executemany bulk insert."""
    from datetime import UTC, date, datetime

    import pandas as pd
    from sqlalchemy.orm import Session

    from tenure.churn import scoring
    from tenure.clock import FrozenClock, use_clock

    monkeypatch.setattr(scoring, "_copies", lambda *_: False)
    ids = _add_accounts(any_engine, 4)
    scores = pd.DataFrame(
        {"account_id": ids, "probability": _PROBABILITIES,
         "risk_tier": ["low", "medium", "high", "high"], "reasons": _REASONS}
    )  # fmt: skip
    at = datetime(2025, 6, 30, 12, 0, 0, 1, tzinfo=UTC)
    day = date(2025, 6, 30)
    with use_clock(FrozenClock(at)):
        for _ in range(2):
            assert scoring.write_scores(any_engine, scores, as_of=day, horizon=90, version="7") == 4
    with Session(any_engine) as session:
        rows = session.scalars(select(ChurnScore).order_by(ChurnScore.account_id)).all()
        assert [(r.account_id, r.as_of, r.probability, r.reasons, r.scored_at) for r in rows] == [
            (i, day, p, r, at) for i, p, r in zip(ids, _PROBABILITIES, _REASONS, strict=True)
        ]
