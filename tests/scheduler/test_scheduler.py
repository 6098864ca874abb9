"""`tenure scheduler`: due days and catch-up, one pipeline at a time, a crashed holder taken over."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tenure.cli.main import app
from tenure.clock import FrozenClock, use_clock
from tenure.db.session import session_scope
from tenure.errors import LockHeld
from tenure.scheduler.lease import PIPELINE, acquire, holding
from tenure.scheduler.models import JobLease
from tenure.scheduler.runner import (
    ScheduledJob,
    due_days,
    last_completed,
    latest_due_day,
    record_completed,
    run_due,
)

from .. import pg_switch

D = date.fromisoformat


@pytest.fixture
def at_three() -> FrozenClock:
    """Freeze time at 2025-06-05 03:00 UTC (after a 02:00 pipeline hour)."""
    clock = FrozenClock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))
    with use_clock(clock):
        yield clock


def recording_job(name: str = PIPELINE, *, catch_up: bool = True, fail_on: date | None = None):
    """Return a job (due at 02:00) that records the days it ran, failing on one if asked."""
    ran: list[date] = []

    def run(day: date) -> dict:
        if day == fail_on:
            raise RuntimeError(f"no data for {day}")
        ran.append(day)
        return {"day": str(day)}

    return ScheduledJob(name, 2, run, catch_up=catch_up), ran


def test_due_days_catch_up_every_missed_day_or_only_the_latest() -> None:
    """From the day after the last completed to the latest due one; the hour decides 'today'."""
    assert latest_due_day(datetime(2025, 6, 5, 1, 59, tzinfo=UTC), 2) == D("2025-06-04")
    assert latest_due_day(datetime(2025, 6, 5, 2, 0, tzinfo=UTC), 2) == D("2025-06-05")
    gap = due_days(D("2025-06-01"), D("2025-06-04"), catch_up=True)
    assert gap == [D("2025-06-02"), D("2025-06-03"), D("2025-06-04")]
    assert due_days(D("2025-06-01"), D("2025-06-04"), catch_up=False) == [D("2025-06-04")]
    assert due_days(D("2025-06-04"), D("2025-06-04"), catch_up=True) == []
    assert due_days(None, D("2025-06-04"), catch_up=True) == [D("2025-06-04")]


def test_catch_up_after_downtime_runs_each_missed_day_once(any_engine, at_three) -> None:
    """Down since June 1st: June 2–5 run in order; a second pass runs nothing; then the next day."""
    job, ran = recording_job()
    with session_scope(any_engine) as session:
        record_completed(session, PIPELINE, D("2025-06-01"))
    assert run_due(any_engine, [job], 60)[PIPELINE] == [D(f"2025-06-0{d}") for d in (2, 3, 4, 5)]
    assert run_due(any_engine, [job], 60)[PIPELINE] == []
    at_three.advance(timedelta(days=1))
    assert run_due(any_engine, [job], 60)[PIPELINE] == [D("2025-06-06")]
    assert ran == [D(f"2025-06-0{d}") for d in (2, 3, 4, 5, 6)]


def test_a_failed_day_keeps_the_days_before_it_and_releases_the_lease(engine, at_three) -> None:
    """June 3rd fails: June 2nd stays completed, the lease is free, the next pass resumes at 3rd."""
    job, _ = recording_job(fail_on=D("2025-06-03"))
    with session_scope(engine) as session:
        record_completed(session, PIPELINE, D("2025-06-01"))
    with pytest.raises(RuntimeError):
        run_due(engine, [job], 60)
    with session_scope(engine) as session:
        assert last_completed(session, PIPELINE) == D("2025-06-02")
        assert session.get(JobLease, PIPELINE) is None
    retry, ran = recording_job()
    run_due(engine, [retry], 60)
    assert ran == [D("2025-06-03"), D("2025-06-04"), D("2025-06-05")]


def test_a_second_scheduler_and_pipeline_refuse_while_the_lease_is_held(
    any_engine, any_settings, at_three, cli
) -> None:
    """While one holder runs the pipeline, another scheduler skips it and the CLI exits 75."""
    job, ran = recording_job()
    with holding(any_engine, PIPELINE, 60):
        with pytest.raises(LockHeld, match="pipeline is already running"):
            acquire(any_engine, PIPELINE, 60)
        assert run_due(any_engine, [job], 60) == {PIPELINE: []} and ran == []
        args = ["--data-dir", str(any_settings.data_dir), "pipeline", "run", "--only", "sync"]
        env = (
            {"TENURE_DATABASE_URL": any_settings.database_url} if any_settings.database_url else {}
        )
        result = cli.invoke(app, [*args, "--as-of", "2025-06-04"], env=env)
        assert result.exit_code == 75 and "already running" in result.output, result.output
    assert run_due(any_engine, [job], 60)[PIPELINE] == [D("2025-06-05")]  # released: it runs


def _crash_holding(settings) -> None:
    """Take the pipeline lease in a child process that then dies by SIGKILL; return its pid."""
    code = (
        "import os, signal\n"
        "from tenure.config import Settings\n"
        "from tenure.db.session import get_engine\n"
        "from tenure.scheduler.lease import acquire\n"
        "acquire(get_engine(Settings()), 'pipeline', 3600)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "TENURE_DATA_DIR": str(settings.data_dir)}
    env["TENURE_CONFIG"] = str(settings.data_dir / "absent.toml")
    if settings.database_url:
        env["TENURE_DATABASE_URL"] = settings.database_url
    else:
        env |= pg_switch.subprocess_env(settings.data_dir)
    child = subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert child.returncode == -9


def test_a_crashed_holders_lease_is_taken_over(any_engine, any_settings) -> None:
    """A holder killed with -9 on this host is taken over at once; one elsewhere once it lapses."""
    _crash_holding(any_settings)
    table = JobLease.__table__
    with any_engine.connect() as conn:
        dead = conn.execute(sa.select(table.c.pid, table.c.expires_at)).one()
    assert dead.expires_at > datetime.now(UTC) + timedelta(minutes=50)  # far from lapsing
    lease = acquire(any_engine, PIPELINE, 60)  # its pid is gone: taken over now
    lease.release()

    with any_engine.begin() as conn:
        conn.execute(
            table.insert().values(
                name=PIPELINE, holder="other-host:1:x", host="other-host", pid=1,
                acquired_at=datetime.now(UTC), expires_at=datetime.now(UTC) + timedelta(minutes=5),
            )
        )  # fmt: skip
    with pytest.raises(LockHeld, match="other-host"):
        acquire(any_engine, PIPELINE, 60)
    later = FrozenClock(datetime.now(UTC) + timedelta(minutes=6))
    with use_clock(later):
        lease = acquire(any_engine, PIPELINE, 60)  # lapsed: taken over
    with any_engine.connect() as conn:
        assert conn.execute(sa.select(table.c.holder)).scalar_one() == lease.holder


def test_a_full_pipeline_run_by_hand_counts_as_done_for_the_scheduler(
    settings, engine, at_three, cli, monkeypatch
) -> None:
    """`tenure pipeline run` of every stage records its last day; --only does not."""
    from tenure import pipeline
    from tenure.stage import stage

    @stage("count", reads=(), writes=())
    def counting(context):
        return {"day": str(context.as_of)}

    monkeypatch.setattr(pipeline, "STAGES", (counting,))
    base = ["--data-dir", str(settings.data_dir), "pipeline", "run"]
    assert cli.invoke(app, [*base, "--as-of", "2025-06-05", "--only", "count"]).exit_code == 0
    with session_scope(engine) as session:
        assert last_completed(session, PIPELINE) is None
    result = cli.invoke(app, [*base, "--from", "2025-06-03", "--to", "2025-06-05"])
    assert result.exit_code == 0, result.output
    with session_scope(engine) as session:
        assert last_completed(session, PIPELINE) == D("2025-06-05")
    job, ran = recording_job()
    assert run_due(engine, [job], 60)[PIPELINE] == [] and ran == []


def test_a_job_run_at_every_poll_runs_each_pass_under_its_lease(engine, at_three) -> None:
    """Reports decide themselves what is due: run every pass, nothing recorded, one holder."""
    calls: list[date] = []
    job = ScheduledJob("reports", 0, lambda day: calls.append(day) or {}, every_poll=True)
    assert run_due(engine, [job], 60)["reports"] == [D("2025-06-05")]
    assert run_due(engine, [job], 60)["reports"] == [D("2025-06-05")] and len(calls) == 2
    with session_scope(engine) as session:
        assert last_completed(session, "reports") is None
    with holding(engine, "reports", 60):
        assert run_due(engine, [job], 60)["reports"] == [] and len(calls) == 2
