"""The per-account analysis frame built from accounts and subscriptions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from tenure.analysis.frame import DAYS_PER_MONTH, build_frame, load_frame, parse_attribute


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_parse_attribute_turns_numeric_text_into_numbers_and_blanks_into_missing():
    numbers = parse_attribute(pd.Series(["1.5", " ", None, "3"]))
    assert numbers.dtype.kind == "f"
    assert numbers.isna().tolist() == [False, True, True, False]
    text = parse_attribute(pd.Series(["1", "x", ""]))
    assert text.tolist() == ["1", "x", None]


ACCOUNTS = pd.DataFrame(
    {
        "account_id": [1, 2, 3, 4, 5],
        "external_id": ["a", "b", "c", "d", "late"],
        "created_at": [
            _at(d) for d in ("2024-01-01", "2024-01-01", "2024-03-01", "2024-01-01", "2025-01-01")
        ],
        "source": ["file", "file", "file", "bank", "file"],
        "attributes": [
            {"seats": "10", "plan_tier": "gold", "Churn": "Yes"},
            {"seats": "", "plan_tier": "silver"},
            {"seats": "3", "plan_tier": "gold"},
            {"Exited": "1", "plan_tier": "gold"},
            {},
        ],
    }
)
SUBSCRIPTIONS = pd.DataFrame(
    {
        "account_id": [1, 1, 2, 3],
        "mrr": [1000, 2500, 5000, 900],
        "started_at": [_at(d) for d in ("2024-01-01", "2024-04-01", "2024-01-01", "2024-03-01")],
        "ended_at": [_at("2024-04-01"), _at("2024-07-01"), None, _at("2024-12-01")],
    }
)


def test_frame_has_duration_event_mrr_and_parsed_attributes():
    frame = build_frame(ACCOUNTS, SUBSCRIPTIONS, date(2024, 9, 30))
    data = frame.data.set_index("account_id")

    assert list(data.index) == ["a", "b", "c", "d"]  # "late" was created after the as-of date
    assert data["event"].to_dict() == {"a": 1, "b": 0, "c": 0, "d": 1}  # c ends after as-of
    months_a = (_at("2024-07-01") - _at("2024-01-01")).days / DAYS_PER_MONTH
    assert data.loc["a", "duration"] == pytest.approx(months_a)
    as_of_end = datetime(2024, 9, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert data.loc["b", "duration"] == pytest.approx(
        (as_of_end - _at("2024-01-01")).total_seconds() / 86400 / DAYS_PER_MONTH
    )
    assert data["mrr"].iloc[:3].to_dict() == {"a": 25.0, "b": 50.0, "c": 9.0}  # latest sub
    assert pd.isna(data.loc["d", "mrr"])  # no subscription: event from its Exited label
    assert pd.isna(data.loc["b", "seats"]) and data.loc["a", "seats"] == 10.0
    assert frame.numeric == ["mrr", "seats"] and frame.categorical == ["plan_tier"]
    assert "Churn" not in data and "Exited" not in data  # labels are outcomes, not features


def test_telco_accounts_take_their_own_tenure_as_duration():
    accounts = pd.DataFrame(
        {
            "account_id": [1],
            "external_id": ["t"],
            "created_at": [_at("2019-03-30")],
            "source": ["telco"],
            "attributes": [{"tenure": "6", "Contract": "One year"}],
        }
    )
    subscriptions = pd.DataFrame(
        {
            "account_id": [1],
            "mrr": [7070],
            "started_at": [_at("2019-03-30")],
            "ended_at": [_at("2019-09-30")],
        }
    )
    data = build_frame(accounts, subscriptions, date(2019, 9, 30)).data
    assert data[["duration", "event", "mrr"]].values.tolist() == [[6.0, 1, 70.7]]


def test_load_frame_reads_the_app_db(engine):
    from sqlalchemy.orm import Session

    from tenure.accounts.models import Account, Subscription

    with Session(engine) as session:
        account = Account(
            external_id="x1",
            name="X",
            created_at=_at("2024-01-01"),
            attributes={"seats": "4", "region_code": "eu"},
        )
        session.add(account)
        session.flush()
        session.add(
            Subscription(
                account_id=account.id,
                external_id="s1",
                plan="pro",
                status="canceled",
                mrr=9900,
                currency="USD",
                started_at=_at("2024-01-01"),
                ended_at=_at("2024-02-01"),
            )
        )
        session.commit()

    data = load_frame(engine, date(2024, 6, 30)).data
    assert data[["account_id", "event", "mrr", "seats"]].values.tolist() == [["x1", 1, 99.0, 4.0]]
    assert data["duration"].iloc[0] == pytest.approx(31 / DAYS_PER_MONTH)
