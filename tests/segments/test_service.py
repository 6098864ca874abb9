"""Rule segments on the hand-built book: exact members, history by date, the four figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tenure.accounts.models import Subscription
from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound
from tenure.segments import service
from tenure.segments.figures import segment_figures
from tenure.segments.frame import account_frame, month_before, whole_months
from tenure.segments.models import SegmentMembership

AS_OF = date(2025, 6, 30)  # as in conftest.py: the trailing month starts 2025-05-30

ISSUE_RULE = 'plan in ("pro", "enterprise") and mrr >= 500 and industry = "software"'


def ids(book, *names):
    return sorted(book[n] for n in names)


def test_frame_holds_accounts_as_of_the_date(engine, book):
    with engine.connect() as conn:
        rows = {r["external_id"]: r for r in account_frame(conn, AS_OF).to_pylist()}
    assert sorted(rows) == ["a1", "a2", "a3", "a4", "a5"]  # a6 is created later
    assert rows["a2"] | {"created_at": None} == rows["a2"] | {
        "plan": "enterprise", "mrr": 1000.0, "seats": 25, "tenure_months": 12,
        "attributes.tier": "silver", "attributes.employees": 40, "created_at": None,
    }  # fmt: skip
    assert (rows["a4"]["plan"], rows["a4"]["mrr"], rows["a4"]["seats"]) == ("pro", 0.0, 0)
    assert rows["a3"]["attributes.tier"] is None


def test_calendar_helpers():
    assert month_before(date(2025, 3, 31)) == date(2025, 2, 28)
    assert month_before(date(2025, 1, 15)) == date(2024, 12, 15)
    assert whole_months(datetime(2024, 1, 15, tzinfo=UTC), date(2025, 6, 14)) == 16


@pytest.mark.parametrize(
    ("rule", "members"),
    [
        (ISSUE_RULE, ("a1", "a2")),
        ('industry = "software"', ("a1", "a2", "a4", "a5")),
        ('attributes.tier = "gold"', ("a1", "a4")),
        ("attributes.employees > 100 or seats >= 25", ("a1", "a2")),
        ("tenure_months < 6 and mrr > 0", ("a3", "a5")),
        ('created_at >= "2025-01-01" or created_at < "2024-02-01T02:00+02:00"', ("a1", "a3", "a5")),
        ('created_at >= "2025-01-01T00:00:01+00:00"', ("a5",)),
    ],
)
def test_rule_segments_have_exact_members(engine, book, rule, members):
    with engine.connect() as conn:
        frame = account_frame(conn, AS_OF)
    assert service.rule_members(frame, rule) == ids(book, *members)


def test_create_checks_fields_and_names(engine, book, frozen_clock):
    with session_scope(engine) as s:
        service.create_segment(db_session=s, name="big", rule=ISSUE_RULE, description="d")
    with pytest.raises(InputError, match="already exists"), session_scope(engine) as s:
        service.create_segment(db_session=s, name="big", rule="mrr > 1")
    with pytest.raises(InputError, match="unknown field 'happiness'"), session_scope(engine) as s:
        service.create_segment(db_session=s, name="red", rule='happiness = "red"')
    with pytest.raises(NotFound, match="known segments: big"), session_scope(engine) as s:
        service.get_segment(db_session=s, name="nope")
    with session_scope(engine) as s:
        assert [x.name for x in service.list_segments(db_session=s)] == ["big"]
        assert service.get_segment(db_session=s, name="big").kind == "rule"


def _stored(engine) -> set[tuple[int, date]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(SegmentMembership.account_id, SegmentMembership.as_of))
        return set(rows)


def test_membership_history_is_replaced_per_date(engine, book, frozen_clock):
    with session_scope(engine) as s:
        service.create_segment(db_session=s, name="big", rule=ISSUE_RULE)
    earlier = date(2025, 5, 30)
    for day in (AS_OF, AS_OF, earlier):
        with session_scope(engine) as s:
            service.evaluate_segments(db_session=s, as_of=day)
    expected = {(book["a1"], AS_OF), (book["a2"], AS_OF)}
    expected |= {(book[a], earlier) for a in ("a1", "a2", "a4")}
    assert _stored(engine) == expected
    with session_scope(engine) as s:  # a1 cancels on the as-of date; re-run that date only
        sub = s.scalars(sa.select(Subscription).where(Subscription.account_id == book["a1"])).one()
        sub.ended_at = sub.started_at.replace(2025, 6, 30)
    with session_scope(engine) as s:
        assert service.evaluate_segments(db_session=s, as_of=AS_OF).counts == {"big": 1}
    assert _stored(engine) == expected - {(book["a1"], AS_OF)}


def test_segment_figures_by_hand():
    figures = segment_figures(
        members=[1, 2],
        start_members=[1, 2, 4, 7],  # 7 paid nothing at the start
        mrr_start={1: 600.0, 2: 800.0, 4: 700.0},
        mrr_end={1: 600.0, 2: 1000.0, 3: 50.0},
    )
    assert figures == {"accounts": 2, "mrr": 1600.0, "logo_churn_rate": 1 / 3, "nrr": 1600 / 2100}
    empty = segment_figures([], [], {}, {})
    assert empty == {"accounts": 0, "mrr": 0, "logo_churn_rate": None, "nrr": None}


def test_reports_give_the_four_figures(engine, book, frozen_clock):
    with session_scope(engine) as s:
        service.create_segment(db_session=s, name="big", rule=ISSUE_RULE)
        service.create_segment(db_session=s, name="retail", rule='industry = "retail"')
    with session_scope(engine) as s:
        reports = {r["name"]: r for r in service.segment_reports(db_session=s, as_of=AS_OF)}
        detail = service.segment_detail(db_session=s, name="big", as_of=AS_OF)
    big = reports["big"]
    # start (2025-05-30) members a1 600, a2 800, a4 700; a4 churned, a2 expanded to 1000
    assert (big["accounts"], big["mrr"]) == (2, 1600.0)
    assert big["logo_churn_rate"] == pytest.approx(1 / 3)
    assert big["nrr"] == pytest.approx(1600 / 2100)
    assert big["trailing_month_start"] == "2025-05-30"
    retail = reports["retail"]
    assert (retail["accounts"], retail["mrr"], retail["logo_churn_rate"], retail["nrr"]) == (
        1, 300.0, 0.0, 1.0,
    )  # fmt: skip
    assert [m["external_id"] for m in detail["members_sample"]] == ["a1", "a2"]


def test_load_file(engine, book, tmp_path, frozen_clock):
    path = tmp_path / "segments.toml"
    path.write_text(
        '[[segment]]\nname = "big"\nrule = \'plan in ("pro") and mrr >= 500\'\n'
        'description = "big pro"\n\n[[segment]]\nname = "eu"\nrule = "region = \\"EU\\""\n'
    )
    with session_scope(engine) as s:
        assert [x.name for x in service.load_segments_file(db_session=s, path=path)] == [
            "big", "eu",
        ]  # fmt: skip
    with session_scope(engine) as s:  # loading again updates in place
        service.load_segments_file(db_session=s, path=path)
        assert len(service.list_segments(db_session=s)) == 2
    path.write_text('[[segment]]\nname = "bad"\nrule = "mrr >>"\n')
    with (
        pytest.raises(InputError, match="segment 'bad': rule error at position 6"),
        session_scope(engine) as s,
    ):
        service.load_segments_file(db_session=s, path=path)


def test_a_date_that_is_not_iso_is_refused(engine, book):
    with engine.connect() as conn:
        frame = account_frame(conn, AS_OF)
    with pytest.raises(InputError, match="position 1: field 'created_at' holds timestamp"):
        service.rule_members(frame, 'created_at > "soon"')


def _scores(engine, book, day, rows):
    from tenure.churn.models import ChurnScore
    from tenure.health.models import HealthScore

    at = datetime(2025, 6, 30, tzinfo=UTC)
    with session_scope(engine) as s:
        for name, score, tier, probability, risk in rows:
            account_id = book[name]
            s.add(
                HealthScore(
                    account_id=account_id,
                    as_of=day,
                    scorecard="default",
                    score=score,
                    tier=tier,
                    measures={},
                    updated_at=at,
                )
            )
            s.add(ChurnScore(account_id=account_id, as_of=day, horizon_days=90, model_version="1",
                             probability=probability, risk_tier=risk, reasons=[], scored_at=at))  # fmt: skip


def test_rules_filter_on_the_latest_scores_dated_by_the_as_of_day(engine, book):
    """health_tier and churn_risk come from each account's latest rows on or before the day."""
    _scores(engine, book, date(2025, 6, 1), [("a1", 30.0, "red", 0.7, "high")])
    _scores(engine, book, date(2025, 6, 29), [("a2", 45.0, "red", 0.2, "low")])
    _scores(engine, book, date(2025, 7, 2), [("a1", 90.0, "green", 0.1, "low")])  # future
    with engine.connect() as conn:
        frame = account_frame(conn, AS_OF)
    rule = 'plan in ("pro", "enterprise") and mrr >= 500 and health_tier = "red"'
    assert service.rule_members(frame, rule) == ids(book, "a1", "a2")
    assert service.rule_members(frame, 'churn_risk = "high"') == ids(book, "a1")
    assert service.rule_members(frame, "churn_probability < 0.5 and health_score < 50") == ids(
        book, "a2"
    )
