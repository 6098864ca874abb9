"""The Segments page on a simulated book with the default segments and a stored value × risk grid."""

from __future__ import annotations

import re

import pytest

from tenure import clock
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.segments import behaviour, service
from tenure.segments.usage import warehouse_usage

from .conftest import seed_book

BASE_DEFAULTS = (
    "enterprise",
    "at-risk-high-value",
    "new-accounts",
    "low-health",
    "expansion-candidates",
    "watch-list",
)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Return a seeded book (see conftest) with the defaults evaluated and the grid stored today."""
    settings = seed_book(tmp_path_factory.mktemp("segments-book"), accounts=120)
    engine, today = get_engine(settings), clock.now().date()
    with session_scope(engine) as db_session:
        service.load_default_segments(db_session=db_session)
        service.evaluate_segments(db_session=db_session, as_of=today)
        metrics = behaviour.account_metrics(
            db_session=db_session, as_of=today, usage=warehouse_usage(settings, today)
        )
        behaviour.store_grid(db_session=db_session, as_of=today, metrics=metrics)
    engine.dispose()
    return settings


def test_the_defaults_give_non_empty_segments_on_a_simulated_book(book: Settings):
    engine = get_engine(book)
    with session_scope(engine) as db_session:
        reports = service.segment_reports(db_session=db_session)
    engine.dispose()
    by_name = {r["name"]: r for r in reports if r["kind"] == "rule"}
    assert set(by_name) == {*BASE_DEFAULTS, "large-companies"}
    assert all(r["error"] is None for r in by_name.values())
    empty = [name for name, r in by_name.items() if not r["accounts"]]
    assert not empty, f"default segments without members: {empty}"
    assert by_name["enterprise"]["mrr"] > by_name["new-accounts"]["mrr"] / 10


def test_the_segments_page_shows_the_grid_and_the_default_segments(book, login, people):
    page = login(people.viewer).get("/segments").text
    assert 'id="value-risk-grid"' in page
    for name in BASE_DEFAULTS:
        assert f'<td class="strong">{name}<' in page, name
    grid = page.split('id="value-risk-grid"')[1].split("</table>")[0]
    counts = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) accounts", grid)]
    engine = get_engine(book)
    with session_scope(engine) as db_session:
        stored = service.value_risk_grid_report(db_session=db_session)
    engine.dispose()
    assert stored is not None
    assert counts == [cell.accounts for row in stored.rows for cell in row]
    assert len(counts) == 9 and sum(counts) > 0
    assert [r[0].value for r in stored.rows] == ["high", "mid", "low"]
