"""The board pages: ROI vs holdouts, the risk register, the graded success scorecard."""

from __future__ import annotations

from tenure import clock
from tenure.db.session import get_engine, session_scope
from tenure.reports.risks import evaluate_risks, open_risks


def test_roi_page_lists_the_programme_and_each_play(login, people):
    page = login(people.viewer).get("/roi")
    assert page.status_code == 200 and 'data-nav="roi"' in page.text
    for name in ("programme", "red-health-call", "adoption-nudge"):
        assert f'data-line="{name}"' in page.text
    assert "not measured:" in page.text  # no run has reached its goal day in the seeded book


def test_risks_page_shows_the_register_and_its_history(login, people, book):
    with session_scope(get_engine(book)) as session:
        summary = evaluate_risks(session, book, clock.now().date())
        accounts = open_risks(session, kind="account")
    page = login(people.csm).get("/risks")
    assert page.status_code == 200 and summary["opened"] > 0 and accounts
    assert page.text.count('data-risk="account:') == len(accounts)
    assert f'data-risk="{accounts[0]["key"]}"' in page.text and 'id="risk-history"' in page.text
    assert login(people.viewer).get("/risks").status_code == 403


def test_scorecard_page_grades_every_criterion(login, people):
    page = login(people.viewer).get("/scorecard")
    assert page.status_code == 200
    for name in ("churn_reduction", "clv_increase", "retention_increase", "csat_increase",
                 "revenue_retention"):  # fmt: skip
        assert f'data-criterion="{name}"' in page.text
    assert 'data-grade="' in page.text


def test_roi_page_draws_measured_lines_with_their_interval(login, people, monkeypatch):
    from tenure.reports.roi import measured_line
    from tenure.web import reports

    line = measured_line("red-call", "play", (60, 30), (600.0, 200.0, 1000.0), 10.0, 1500.0)
    monkeypatch.setattr(reports, "roi_lines", lambda *args: [line])
    page = login(people.viewer).get("/roi")
    assert page.status_code == 200 and 'id="chart-roi"' in page.text
    # ROI = (600 × 10 − 1500) / 1500 = 3.0, interval (200 × 10 − 1500) / 1500 = 0.3 to 5.7
    assert "3.0×" in page.text and "0.3× … 5.7×" in page.text
