"""NPS and CSAT: reference values computed by hand, the month's SQL aggregate, the CLI keys.

NPS reference (Bain/Reichheld), ten answers 10, 10, 9, 9, 9, 8, 7, 6, 3, 0:
promoters (9–10) = 5, passives (7–8) = 2, detractors (0–6) = 3;
NPS = 5/10 × 100 − 3/10 × 100 = 50 − 30 = +20.

CSAT reference, ten answers 5, 5, 4, 4, 4, 3, 2, 1, 5, 4:
satisfied (4–5) = 7 → CSAT = 7/10 = 0.7; mean = (5+5+4+4+4+3+2+1+5+4)/10 = 37/10 = 3.7.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tenure.accounts.models import Account, SurveyResponse, Ticket
from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.metrics import surveys

NPS_SCORES = [10, 10, 9, 9, 9, 8, 7, 6, 3, 0]
CSAT_SCORES = [5, 5, 4, 4, 4, 3, 2, 1, 5, 4]


def _at(day: int, month: int = 5, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def test_nps_reference_value():
    promoters = sum(s >= surveys.PROMOTER_MIN for s in NPS_SCORES)
    detractors = sum(s <= surveys.DETRACTOR_MAX for s in NPS_SCORES)
    assert (promoters, detractors) == (5, 3)
    assert surveys.nps(promoters, detractors, len(NPS_SCORES)) == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("promoters", "detractors", "responses", "expected"),
    [(4, 0, 4, 100.0), (0, 4, 4, -100.0), (0, 0, 3, 0.0), (1, 2, 3, -100 / 3), (0, 0, 0, None)],
)
def test_nps_bounds_and_no_responses(promoters, detractors, responses, expected):
    value = surveys.nps(promoters, detractors, responses)
    assert value == (None if expected is None else pytest.approx(expected))


def test_csat_reference_values():
    satisfied = sum(s >= surveys.SATISFIED_MIN for s in CSAT_SCORES)
    assert satisfied == 7
    assert surveys.csat(satisfied, 10) == pytest.approx(0.7)
    assert surveys.mean_score(sum(CSAT_SCORES), 10) == pytest.approx(3.7)
    assert surveys.csat(0, 0) is None and surveys.mean_score(0, 0) is None


def test_month_bounds_are_utc_month_edges():
    may = 2025 * 12 + 4
    assert surveys.month_bounds(may) == (_at(1, hour=0), _at(1, month=6, hour=0))
    december = 2024 * 12 + 11
    assert surveys.month_bounds(december)[1] == datetime(2025, 1, 1, tzinfo=UTC)


def _seed(engine) -> None:
    """The ten NPS and ten CSAT answers in May 2025, plus answers just outside the month.

    Tickets: t1 closed in May rated 5, t2 closed in May rated 2, t3 still open (opened in May)
    rated 4 → 2 of 3 satisfied, mean 11/3; t4 opened in May but closed in June and t5 closed in
    May without a rating do not count.
    """
    with session_scope(engine) as session:
        account = Account(external_id="a1", name="Acme", created_at=_at(1, month=1), attributes={})
        session.add(account)
        session.flush()
        answers = [("nps", s, _at(i + 1)) for i, s in enumerate(NPS_SCORES)]
        answers += [("csat", s, _at(i + 11)) for i, s in enumerate(CSAT_SCORES)]
        answers += [
            ("nps", 0, datetime(2025, 4, 30, 23, 59, 59, tzinfo=UTC)),
            ("nps", 0, datetime(2025, 6, 1, 0, 0, tzinfo=UTC)),
            ("csat", 1, datetime(2025, 6, 1, 0, 0, tzinfo=UTC)),
        ]
        session.add_all(
            SurveyResponse(
                external_id=f"r{i}", account_id=account.id, kind=kind, score=score, responded_at=at
            )
            for i, (kind, score, at) in enumerate(answers)
        )
        tickets = [
            ("t1", _at(2), _at(3), 5),
            ("t2", _at(4), _at(30), 2),
            ("t3", _at(20), None, 4),
            ("t4", _at(25), _at(2, month=6), 1),
            ("t5", _at(5), _at(6), None),
        ]
        session.add_all(
            Ticket(
                external_id=ext,
                account_id=account.id,
                opened_at=opened,
                closed_at=closed,
                priority="normal",
                status="open" if closed is None else "closed",
                csat=rating,
            )
            for ext, opened, closed, rating in tickets
        )


def test_survey_figures_aggregate_one_month(engine):
    _seed(engine)
    figures = surveys.survey_figures(engine, 2025 * 12 + 4)
    assert figures == {
        "nps": pytest.approx(20.0),
        "nps_responses": 10,
        "nps_promoters": 5,
        "nps_detractors": 3,
        "csat": pytest.approx(0.7),
        "csat_mean": pytest.approx(3.7),
        "csat_responses": 10,
        "ticket_csat": pytest.approx(2 / 3),
        "ticket_csat_mean": pytest.approx(11 / 3),
        "ticket_csat_responses": 3,
    }


def test_survey_figures_of_an_empty_month_are_none(engine):
    _seed(engine)
    figures = surveys.survey_figures(engine, 2025 * 12 + 1)
    assert figures["nps"] is None and figures["csat"] is None and figures["ticket_csat"] is None
    assert figures["nps_responses"] == figures["csat_responses"] == 0


@pytest.mark.usefixtures("frozen_clock")
def test_summary_json_carries_nps_and_csat(cli, settings, engine):
    _seed(engine)
    args = ["--data-dir", str(settings.data_dir), "metrics", "summary", "--json"]
    result = cli.invoke(app, [*args, "--month", "2025-05"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["nps"] == pytest.approx(20.0) and body["nps_responses"] == 10
    assert body["csat"] == pytest.approx(0.7) and body["csat_responses"] == 10
    assert body["ticket_csat_responses"] == 3
    empty = json.loads(cli.invoke(app, [*args, "--month", "2025-02"]).stdout)
    assert empty["nps"] is None and empty["csat"] is None
    assert empty["nps_responses"] == empty["csat_responses"] == 0
