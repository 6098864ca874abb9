"""A killed import does not stay "running": the next import or `import log` marks it failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tenure.cli.main import app
from tenure.ingest import runs
from tenure.ingest.models import ImportRun

from .. import pg_switch

# Import a file in a child process whose progress callback blocks at the first report: the run
# is genuinely under way (started, reading) when the test kills it.
_PAUSED_IMPORT = """
import sys, time
from pathlib import Path
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine
from tenure.ingest.flows import import_file

def pause(phase, done, total):
    print("paused", phase, flush=True)
    time.sleep(3600)

settings = Settings(data_dir=Path(sys.argv[1]))
engine = get_engine(settings)
migrate(engine)
import_file("accounts", Path(sys.argv[2]), settings=settings, engine=engine, progress=pause)
"""


def _killed_import(settings, path: Path) -> int:
    """Start an import in a child process, SIGKILL it mid-run; return its pid."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENURE_")}
    env |= pg_switch.subprocess_env(settings.data_dir)
    proc = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_IMPORT, str(settings.data_dir), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline().startswith("paused")
    finally:
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    return proc.pid


def _runs(engine) -> list[ImportRun]:
    with sa.orm.Session(engine) as session:
        return list(session.scalars(sa.select(ImportRun).order_by(ImportRun.id)))


def test_import_log_marks_a_killed_import_failed(settings, engine, files, cli):
    """SIGKILL mid-run: the run is running in the table; `import log` shows it failed, why."""
    pid = _killed_import(settings, files.sample("accounts"))
    [run] = _runs(engine)
    assert (run.status, run.details["owner"]["pid"]) == ("running", pid)
    result = cli.invoke(app, ["--data-dir", str(settings.data_dir), "import", "log", "--json"])
    assert result.exit_code == 0, result.output
    [logged] = json.loads(result.stdout)["runs"]
    assert logged["status"] == "failed" and logged["finished_at"]
    assert f"process {pid} on " in logged["error"] and "killed or crashed" in logged["error"]
    assert _runs(engine)[0].status == "failed"  # stored, not only shown


def test_the_next_import_marks_a_killed_import_failed(settings, engine, files, run_import):
    """The next import closes the orphan before starting its own run."""
    _killed_import(settings, files.sample("accounts"))
    assert run_import(settings, engine, "accounts", files.sample("accounts")).exit_code == 0
    killed, done = _runs(engine)
    assert (killed.status, done.status) == ("failed", "succeeded")
    assert "nothing of this run was loaded" in killed.error


def test_live_and_foreign_runs_are_left_running(settings, engine, cli):
    """A run of a live process, of another host, or from before owners were recorded stays."""
    me = runs.current_owner()
    owners = [me, {**me, "host": "elsewhere.example", "pid": 2**22 + 1}, None]
    with sa.orm.Session(engine) as session:
        for owner in owners:
            details = {"owner": owner} if owner else {}
            session.add(
                ImportRun(
                    kind="accounts",
                    path="x.csv",
                    started_at=sa.func.now(),
                    status="running",
                    details=details,
                )
            )
        session.commit()
    result = cli.invoke(app, ["--data-dir", str(settings.data_dir), "import", "log", "--json"])
    assert [r["status"] for r in json.loads(result.stdout)["runs"]] == ["running"] * 3


def test_a_reused_pid_is_not_the_owner():
    """Same pid but another start time (the pid was reused) counts as gone."""
    me = runs.current_owner()
    if me["started"] is None:  # no /proc here: only the pid can be checked
        return
    reused = {**me, "started": me["started"] - 1}
    assert "another process" in (runs.owner_gone(reused) or "")
    assert runs.owner_gone(me) is None
