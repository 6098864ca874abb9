"""Read back the history of imports and what each one quarantined; close the orphaned ones.

A run is "running" from its start until the importing process records how it ended. A process
killed in between (SIGKILL, OOM, a power cut) records nothing, and its loads are atomic, so
nothing of it landed. Each run therefore records its owner (pid, host, boot id and the
process's start time, `details.owner`); the next import and `tenure import log` mark a
running run failed once that process is gone. A run owned by another host is left alone (its
liveness cannot be seen from here).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.errors import NotFound
from tenure.ingest.models import ImportRun, QuarantinedRow

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

RUN_FIELDS = (
    "id",
    "kind",
    "source",
    "path",
    "status",
    "started_at",
    "finished_at",
    "rows_read",
    "rows_loaded",
    "rows_inserted",
    "rows_updated",
    "rows_quarantined",
    "error",
)


def run_summary(run: ImportRun) -> dict[str, Any]:
    """Return an import run as plain JSON-ready values."""
    summary = {name: getattr(run, name) for name in RUN_FIELDS}
    for stamp in ("started_at", "finished_at"):
        summary[stamp] = summary[stamp].isoformat() if summary[stamp] else None
    summary["duplicates"] = (run.details or {}).get("duplicates", 0)
    return summary


def _boot_id() -> str | None:
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def _process_start(pid: int) -> int | None:
    """Return when a process started (clock ticks since boot), None when unknown or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces, so count from its closing paren.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19]) if len(fields) > 19 and fields[19].isdigit() else None


def current_owner() -> dict[str, Any]:
    """Return what identifies this process as the owner of an import run."""
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "boot_id": _boot_id(),
        "started": _process_start(pid),
    }


def owner_gone(owner: Any) -> str | None:
    """Return why the owning process is gone, or None while it lives or cannot be seen."""
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return None
    pid, host = owner["pid"], owner.get("host")
    if host != socket.gethostname():
        return None
    where = f"process {pid} on {host}"
    boot = _boot_id()
    if owner.get("boot_id") and boot and owner["boot_id"] != boot:
        return f"{where} ended with a reboot"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"{where} is gone"
    except PermissionError:
        pass  # alive, owned by another user
    started = owner.get("started")
    if started is not None and _process_start(pid) not in (None, started):
        return f"{where} is gone (the pid now belongs to another process)"
    return None


def fail_orphaned_runs(*, db_session: Session) -> list[int]:
    """Mark running imports whose process is gone as failed, with the reason; return their ids."""
    failed = []
    for run in db_session.scalars(select(ImportRun).where(ImportRun.status == "running")):
        gone = owner_gone((run.details or {}).get("owner"))
        if gone is None:
            continue
        run.status, run.finished_at = "failed", clock.now()
        run.error = (
            f"the import stopped before it finished: {gone} (killed or crashed);"
            " nothing of this run was loaded, import the file again"
        )
        failed.append(run.id)
    db_session.flush()
    return failed


def recent_runs(
    *, db_session: Session, limit: int = 20, kind: str | None = None
) -> list[ImportRun]:
    """Return the newest import runs first, optionally of one kind (orphaned ones marked failed)."""
    fail_orphaned_runs(db_session=db_session)
    query = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    if kind:
        query = query.where(ImportRun.kind == kind)
    return list(db_session.scalars(query))


def quarantined_rows(*, db_session: Session, run_id: int, limit: int = 100) -> list[QuarantinedRow]:
    """Return the rows a run quarantined, in file order; raise NotFound for an unknown run."""
    if db_session.get(ImportRun, run_id) is None:
        raise NotFound(f"no import run {run_id}; `tenure import log` lists them")
    query = (
        select(QuarantinedRow)
        .where(QuarantinedRow.import_run_id == run_id)
        .order_by(QuarantinedRow.line.is_(None), QuarantinedRow.line, QuarantinedRow.id)
        .limit(limit)
    )
    return list(db_session.scalars(query))
