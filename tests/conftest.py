"""Shared fixtures: a data dir per test, app DB on SQLite or PostgreSQL, a CLI runner.

TENURE_TEST_DATABASE=postgres puts every default app DB on PostgreSQL (tests/pg_switch.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tenure.clock import FrozenClock, use_clock
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import create_db_engine, get_engine

from . import pg_switch

PG_URL = pg_switch.PG_URL
SQLITE_ONLY = "TENURE_TEST_DATABASE=postgres: this test checks the SQLite app DB itself"


def pytest_configure(config: pytest.Config) -> None:
    """Under TENURE_TEST_DATABASE=postgres, put every default app DB on PostgreSQL."""
    if pg_switch.ENABLED:
        pg_switch.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop the PostgreSQL schemas the switch created."""
    if pg_switch.ENABLED:
        pg_switch.POOL.close()


NO_APP_DB_LIST = Path(__file__).with_name("no_app_db.txt")
NO_APP_DB = "TENURE_TEST_DATABASE=postgres: this file opens no default app DB (tests/no_app_db.txt)"


def no_app_db_files() -> set[str]:
    """Return the test files (relative to the repository) listed as opening no app DB."""
    lines = NO_APP_DB_LIST.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under the switch, skip the tests marked sqlite_only and the files without an app DB."""
    if not pg_switch.ENABLED:
        return
    root, listed = NO_APP_DB_LIST.parent.parent, no_app_db_files()
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason=SQLITE_ONLY))
        elif item.path.relative_to(root).as_posix() in listed:
            item.add_marker(pytest.mark.skip(reason=NO_APP_DB))


@pytest.fixture(autouse=True)
def _app_db_schemas(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under the switch, empty (or drop) the schemas this test used once it is over."""
    if not pg_switch.ENABLED:
        yield
        return
    pool = pg_switch.POOL
    before = len(pool.handed)
    pool.unmigrated = request.node.get_closest_marker("fresh_app_db") is not None
    yield
    pool.unmigrated = False
    pool.release(pool.handed[before:])
    del pool.handed[before:]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Return settings for a fresh data dir with the default app DB (SQLite, or PostgreSQL)."""
    return Settings(data_dir=tmp_path / "data")


def _migrated_engine(settings: Settings) -> Iterator[sa.Engine]:
    """Yield the app-DB engine of settings, migrated, and dispose of it afterwards."""
    eng = get_engine(settings)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    """Return a migrated engine on the default app DB of the test's data dir."""
    yield from _migrated_engine(settings)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """Yield a PostgreSQL URL bound to a fresh schema that is dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Return settings on SQLite and, in a second run, on PostgreSQL."""
    if request.param == "sqlite":
        if pg_switch.ENABLED:
            pytest.skip("TENURE_TEST_DATABASE=postgres: the postgres run covers it")
        return Settings(data_dir=tmp_path / "data")
    url = request.getfixturevalue("pg_url")
    return Settings(data_dir=tmp_path / "data", database_url=url)


@pytest.fixture
def any_engine(any_settings: Settings) -> Iterator[sa.Engine]:
    """Return a migrated engine for any_settings."""
    yield from _migrated_engine(any_settings)


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    """Freeze time at 2025-06-30 12:00 UTC for the test."""
    clock = FrozenClock(datetime(2025, 6, 30, 12, 0, tzinfo=UTC))
    with use_clock(clock):
        yield clock


@pytest.fixture
def cli() -> CliRunner:
    """Return a Typer CLI runner."""
    return CliRunner()


CHROMIUM = Path("/usr/bin/chromium")

# Skips that mean "this machine lacks the browser or a public data set". Locally they stay
# skips; under CI (the environment variable CI set, as .ci/run does) they are failures, so a
# green run always exercised the browser and data-set tests.
CI_REQUIRED = (
    "chromium is not installed",
    "could not import 'playwright",
    "dashboard scripts",
    "public data set",
    "NATS JetStream is not reachable",
    "PySpark is not installed",
)


def skip_reason(report: pytest.TestReport) -> str:
    """Return the reason of a skipped test report ('' when there is none)."""
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Under CI, turn a skip for a missing browser or data set into a failure."""
    outcome = yield
    report = outcome.get_result()
    if not (os.environ.get("CI") and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if any(marker in reason for marker in CI_REQUIRED):
        report.outcome = "failed"
        report.longrepr = f"CI is set, so this may not be skipped: {reason}"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Launch Debian's chromium headless once per module (Playwright never downloads one)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()
