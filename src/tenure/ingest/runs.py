"""Read back the history of imports and what each one quarantined."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.errors import NotFound
from tenure.ingest.models import ImportRun, QuarantinedRow

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


def recent_runs(
    *, db_session: Session, limit: int = 20, kind: str | None = None
) -> list[ImportRun]:
    """Return the newest import runs first, optionally of one kind."""
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
