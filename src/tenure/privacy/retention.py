"""Retention: the daily stage that expires quarantine files, outbox bodies, logs and old audit
entries past their settings (`*_retention_days`; unset keeps a kind), rolls raw warehouse events
past `raw_event_retention_months` up into daily counts, and reports what it removed.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tenure import clock
from tenure.alerts.models import AlertDelivery
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.ingest.models import ImportRun, QuarantinedRow
from tenure.privacy.audit import prune_entries
from tenure.privacy.rollup import retention_cutoff, roll_up_old_events
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog
from tenure.warehouse.connection import open_warehouse

QUARANTINE_FILE = re.compile(r"run-(\d+)-.+-quarantine\.csv")
DONE = ("sent", "failed")


def _cutoff(days: int | None) -> datetime | None:
    return None if days is None else clock.now() - timedelta(days=days)


def expire_quarantine(session: Session, imports_dir: Path, before: datetime) -> dict[str, int]:
    """Delete the quarantine CSVs and quarantined rows of imports started before a time."""
    old_runs = set(session.scalars(select(ImportRun.id).where(ImportRun.started_at < before)))
    files = 0
    for path in sorted(imports_dir.glob("run-*-quarantine.csv")):
        match = QUARANTINE_FILE.fullmatch(path.name)
        if match and int(match.group(1)) in old_runs:
            path.unlink(missing_ok=True)
            files += 1
    rows = session.execute(
        delete(QuarantinedRow).where(QuarantinedRow.import_run_id.in_(
            select(ImportRun.id).where(ImportRun.started_at < before)
        ))
    ).rowcount  # fmt: skip
    return {"quarantine_files": files, "quarantined_rows": rows or 0}


def expire_outbox_bodies(session: Session, before: datetime) -> int:
    """Empty the body and payload of sent or failed outbox messages created before a time."""
    result = session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.status.in_(DONE), AlertDelivery.created_at < before)
        .where(AlertDelivery.body != "")
        .values(body="", payload={})
    )
    return result.rowcount or 0


def expire_import_log(log_file: Path, before: datetime) -> int:
    """Drop the import-log lines written before a time (rewritten atomically); return how many."""
    if not log_file.exists():
        return 0
    kept, dropped = [], 0
    for line in log_file.read_text(encoding="utf-8").splitlines():
        try:
            at = datetime.fromisoformat(json.loads(line)["at"])
        except (ValueError, KeyError, TypeError):
            kept.append(line)  # a line that cannot be dated is kept, never guessed at
            continue
        if at < before:
            dropped += 1
        else:
            kept.append(line)
    if dropped:
        staging = log_file.with_suffix(".log.new")
        staging.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
        os.replace(staging, log_file)
    return dropped


def apply_retention(session: Session, settings: Settings) -> StageSummary:
    """Expire every kind whose retention is set; return the counts removed per kind."""
    summary: StageSummary = {}
    if (before := _cutoff(settings.quarantine_retention_days)) is not None:
        summary |= expire_quarantine(session, settings.imports_dir, before)
    if (before := _cutoff(settings.outbox_retention_days)) is not None:
        summary["outbox_bodies"] = expire_outbox_bodies(session, before)
    if (before := _cutoff(settings.import_log_retention_days)) is not None:
        summary["import_log_lines"] = expire_import_log(settings.imports_dir / "import.log", before)
    if (before := _cutoff(settings.audit_retention_days)) is not None:
        summary["audit_entries"] = prune_entries(session, before, actor="retention")
    return summary


def roll_up_raw_events(settings: Settings, as_of: date) -> StageSummary:
    """Roll up and delete warehouse events older than the raw-event retention (when set)."""
    months = settings.raw_event_retention_months
    if months is None or not settings.warehouse_path.exists():
        return {}
    with open_warehouse(settings) as warehouse:
        return roll_up_old_events(warehouse.con, retention_cutoff(as_of, months))


@stage(
    "retention",
    reads=(catalog.IMPORT_RUNS,),
    writes=(
        catalog.QUARANTINED_ROWS, catalog.ALERT_DELIVERIES, catalog.AUDIT_LOG,
        catalog.WAREHOUSE_EVENTS, catalog.EVENTS_DAILY,
    ),
)  # fmt: skip
def expired_personal_data(context: StageContext) -> StageSummary:
    """Delete what is past its retention: quarantine files and rows, outbox bodies, log lines,
    raw events (rolled up into daily counts first)."""
    with session_scope(context.engine) as session:
        summary = apply_retention(session, context.settings)
    return summary | roll_up_raw_events(context.settings, context.as_of)
