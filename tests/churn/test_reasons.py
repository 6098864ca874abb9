"""Reasons in bulk: the vectorised top drivers against a per-row reference, JSON, texts on read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select, text

from tenure.churn.models import ChurnScore
from tenure.churn.reasons import describe, reasons_json, top_reasons
from tenure.db.session import get_engine

from .conftest import LAST_DAY, copy_book


def _reference(row: np.ndarray, names: list[str]) -> list[tuple[str, float]]:
    """Return one row's drivers the slow, obvious way: 3 largest if > 0, 2 smallest if < 0."""
    order = np.argsort(row)
    up = [j for j in order[::-1][:3] if row[j] > 0]
    down = [j for j in order[:2] if row[j] < 0]
    chosen = sorted(up + down, key=lambda j: -abs(row[j]))
    return [(names[j], round(float(row[j]), 4)) for j in chosen]


def test_bulk_drivers_match_a_per_row_reference() -> None:
    """Random contributions (mostly one sign in some rows), across the chunk boundary."""
    rng = np.random.default_rng(7)
    rows, names = 70_000, [f"n{j}" for j in range(12)] + ["plan"]
    contributions = rng.normal(size=(rows, len(names)))
    contributions[:500] = np.abs(contributions[:500])  # rows with no driver down
    contributions[500:1000] = -np.abs(contributions[500:1000])  # and with none up
    numbers = rng.normal(size=(rows, 12))
    labels = pd.DataFrame({"plan": rng.choice(["starter", "pro", "café ☕"], rows).astype(object)})
    labels.loc[3, "plan"] = None
    texts = reasons_json(contributions, names, numbers, labels)
    stored = [json.loads(t) for t in texts]
    sample = [*range(1_100), *rng.choice(rows, 2_000, replace=False)]
    for i in sample:
        assert all(isinstance(r, list) and len(r) == 3 for r in stored[i])  # compact triples
        assert [(f, c) for f, _, c in stored[i]] == _reference(contributions[i], names), i
        for reason in describe(stored[i]):
            assert set(reason) == {"feature", "value", "contribution", "text"}
            j = names.index(reason["feature"])
            if j == 12:
                assert reason["value"] == labels.at[i, "plan"]
            else:  # the value as the model's float32 matrix held it, digits that read back exactly
                assert np.float32(reason["value"]) == np.float32(numbers[i, j])
                assert len(repr(reason["value"])) <= 16
    assert all(len(r) <= 3 and r and r[0][2] > 0 for r in stored[:500])
    assert all(len(r) <= 2 and r and r[0][2] < 0 for r in stored[500:1000])


def test_missing_and_infinite_values_are_json_null_and_texts_come_on_read() -> None:
    """NaN and ±inf feature values become null (strict JSON); describe adds the texts."""
    contributions = np.array([[0.9, -0.4, 0.2], [0.1, 0.05, -0.3]])
    numbers = np.array([[np.nan, np.inf, 3.0], [2.0, 1e39, -np.inf]])  # 1e39: beyond float32
    texts = reasons_json(contributions, ["failed_payments_30d", "seats", "nps_last"], numbers,
                         pd.DataFrame(index=range(2)))  # fmt: skip
    first, second = (json.loads(t) for t in texts)  # strict: no NaN/Infinity tokens
    assert first == [
        ["failed_payments_30d", None, 0.9],
        ["seats", None, -0.4],
        ["nps_last", 3.0, 0.2],
    ]
    assert second == [
        ["nps_last", None, -0.3],
        ["failed_payments_30d", 2.0, 0.1],
        ["seats", None, 0.05],
    ]
    described = describe(first)
    assert described[0]["text"] == "no failed payments 30d on record"
    assert described[2]["text"] == "last NPS answer 3 (detractor)"
    kept = describe([{"feature": "seats", "value": 2, "contribution": 0.1, "text": "as stored"}])
    assert kept[0]["text"] == "as stored"
    assert reasons_json(np.empty((2, 0)), [], np.empty((2, 0)), pd.DataFrame()) == ["[]", "[]"]


def test_top_reasons_reads_data_frames_in_any_column_order() -> None:
    """The DataFrame form puts numbers first internally; categorical values stay labels."""
    contributions = pd.DataFrame([[0.5, -0.2, 0.7]], columns=["plan", "seats", "mrr"])
    features = pd.DataFrame({"plan": ["pro"], "seats": [4], "mrr": [12_000.0]})
    (reasons,) = top_reasons(contributions, features)
    assert [(r["feature"], r["value"]) for r in reasons] == [
        ("mrr", 12_000.0), ("plan", "pro"), ("seats", 4.0)
    ]  # fmt: skip
    assert [r["text"] for r in reasons] == ["MRR 120", "plan: pro", "4 seats"]


def test_scored_rows_store_no_text_and_read_back_with_it(trained_book: Path, tmp_path: Path):
    """The app DB holds [feature, value, contribution]; the ORM reads dicts with their texts."""
    settings = copy_book(trained_book, tmp_path)
    engine = get_engine(settings)
    with engine.connect() as conn:
        raw = conn.execute(
            text("SELECT account_id, reasons FROM churn_score WHERE reasons != '[]' LIMIT 50")
        ).all()
        assert raw
        ids = [account for account, _ in raw]
        read = dict(
            conn.execute(
                select(ChurnScore.account_id, ChurnScore.reasons).where(
                    ChurnScore.account_id.in_(ids), ChurnScore.as_of == LAST_DAY
                )
            ).all()
        )
    for account, stored in raw:
        stored = json.loads(stored) if isinstance(stored, str) else stored  # JSONB: parsed
        triples = [tuple(reason) for reason in stored]
        assert [(r["feature"], r["value"], r["contribution"]) for r in read[account]] == triples
        assert all(isinstance(r["text"], str) and r["text"] for r in read[account])
    engine.dispose()


def test_bulk_reasons_round_trip_through_sqlite_and_postgres(any_engine) -> None:
    """The compact JSON (COPY on PostgreSQL, executemany on SQLite) reads back as dicts."""
    from datetime import date

    from sqlalchemy.orm import Session

    from tenure.churn.scoring import write_scores

    from .test_scoring import _add_accounts

    ids = _add_accounts(any_engine, 3)
    contributions = np.array([[0.5, -0.25, 0.125], [0.0, 0.0, 0.0], [-1.0, 2.0, 0.0]])
    labels = pd.DataFrame({"plan": ["café ☕", "pro", None]}, dtype=object)
    numbers = np.array([[2.0, 1e-5], [0.0, 0.0], [np.nan, 12_345.5]])
    names = ["failed_payments_30d", "seats", "plan"]
    scores = pd.DataFrame(
        {"account_id": ids, "probability": [0.5, 0.1, 0.9], "risk_tier": ["high", "low", "high"],
         "reasons": reasons_json(contributions, names, numbers, labels)}
    )  # fmt: skip
    write_scores(any_engine, scores, as_of=date(2025, 6, 30), horizon=90, version="1")
    with Session(any_engine) as session:
        rows = session.scalars(select(ChurnScore).order_by(ChurnScore.account_id)).all()
        read = [[(r["feature"], r["value"], r["contribution"], r["text"]) for r in row.reasons]
                for row in rows]  # fmt: skip
    assert read == [
        [("failed_payments_30d", 2.0, 0.5, "2 failed payments in the last 30 days"),
         ("seats", 1e-5, -0.25, "0.0 seats"), ("plan", "café ☕", 0.125, "plan: café ☕")],
        [],
        [("seats", 12_345.5, 2.0, "12,346 seats"),
         ("failed_payments_30d", None, -1.0, "no failed payments 30d on record")],
    ]  # fmt: skip
