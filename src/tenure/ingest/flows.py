"""Import one file of one kind: read, validate, quarantine, load — atomically and idempotently."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.ingest import event_accounts, event_keys, load, quarantine, runs
from tenure.ingest.files import prepared_input
from tenure.ingest.mapping import Mapping
from tenure.ingest.models import ImportRun, QuarantinedRow
from tenure.ingest.reader import RawTable, drop_raw, load_raw
from tenure.ingest.spec import KINDS, KindSpec
from tenure.ingest.validate import StagedTable, stage
from tenure.logging import get_logger
from tenure.privacy.models import ErasedIdentifier
from tenure.warehouse.connection import DUCKDB_TEMP_DIR, configure, open_warehouse

Progress = Callable[[str, int, int | None], None]
log = get_logger("ingest")


def _no_progress(_phase: str, _done: int, _total: int | None) -> None:
    return None


@dataclass
class ImportResult:
    """What one import did, for the CLI, the log and the tests."""

    run_id: int
    kind: str
    path: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    accounts_created: int = 0
    unresolved_users: list[tuple[str, str, int]] = field(default_factory=list)
    unresolved_user_count: int = 0
    quarantine_csv: str | None = None
    status: str = "succeeded"

    @property
    def exit_code(self) -> int:
        """Return 0 when clean, 3 when rows were quarantined, 2 when nothing landed."""
        if self.rows_quarantined == 0:
            return 0
        return 2 if self.rows_loaded == 0 else 3


def import_file(
    kind: str,
    path: Path,
    *,
    settings: Settings,
    engine: Engine,
    mapping: Mapping | None = None,
    progress: Progress = _no_progress,
    label: str | None = None,
) -> ImportResult:
    """Import path as kind; invalid rows go to quarantine and the valid ones land.

    ``label`` names the file in the import run and quarantine when ``path`` is a converted copy.
    """
    if kind not in KINDS:
        raise InputError(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    spec, mapping = KINDS[kind], mapping or Mapping()
    source = mapping.source or "file"
    run_id = _start_run(engine, kind=kind, path=label or str(path), source=source)
    try:
        result = _run(
            spec,
            path,
            settings=settings,
            engine=engine,
            mapping=mapping,
            run_id=run_id,
            source=source,
            progress=progress,
            label=label,
        )
    except BaseException as exc:
        _fail_run(engine, run_id, exc)
        log.warning("import.failed", run_id=run_id, kind=kind, path=str(path), error=str(exc))
        raise
    _log(settings, result)
    log.info(
        "import.finished",
        run_id=run_id,
        kind=kind,
        path=result.path,
        status=result.status,
        read=result.rows_read,
        loaded=result.rows_loaded,
        quarantined=result.rows_quarantined,
    )
    return result


def _run(
    spec: KindSpec,
    path: Path,
    *,
    settings: Settings,
    engine: Engine,
    mapping: Mapping,
    run_id: int,
    source: str,
    progress: Progress,
    label: str | None,
) -> ImportResult:
    result = ImportResult(run_id=run_id, kind=spec.kind, path=label or str(path))
    with prepared_input(path, settings.data_dir / "tmp") as file, _duckdb(settings, spec) as con:
        if label:
            file = replace(file, original=Path(label))
        with watched(con, progress, "reading"):
            raw = load_raw(con, file, mapping.csv)
        refs = _load_refs(con, engine, spec)
        with watched(con, progress, "validating"):
            staged = stage(con, raw, spec, mapping, now=_now_limit(settings), refs=refs)
        with session_scope(engine) as session:
            if spec.kind == "events":
                _resolve_accounts(con, session, staged, mapping, source, result)
            entries = quarantine.gather(con, raw, staged)
            drop_raw(con, raw)  # frees memory for the load; staged holds all that is left to do
            result.rows_read = raw.rows + len(raw.rejected)
            result.rows_quarantined = len(entries)
            result.ignored_columns = list(staged.ignored)
            _load(con, session, spec, staged, result, file.sha256, entries, source, progress)
    if entries:
        target = settings.imports_dir / f"run-{run_id}-{spec.kind}-quarantine.csv"
        quarantine.write_csv(target, entries)
        result.quarantine_csv = str(target)
    return result


def _now_limit(settings: Settings) -> datetime:
    """Return the latest timestamp accepted: now plus the configured tolerance."""
    return clock.now() + timedelta(seconds=settings.future_tolerance_seconds)


@contextlib.contextmanager
def watched(con: duckdb.DuckDBPyConnection, progress: Progress, phase: str) -> Iterator[None]:
    """Report DuckDB's progress (percent) on the statements run inside the block."""
    progress(phase, 0, 100)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.25):
            percent = con.query_progress()
            if percent >= 0:
                progress(phase, int(percent), 100)

    thread = threading.Thread(target=poll, name=f"progress-{phase}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    progress(phase, 100, 100)


@contextlib.contextmanager
def _duckdb(settings: Settings, spec: KindSpec) -> Iterator[duckdb.DuckDBPyConnection]:
    if spec.kind == "events":
        with open_warehouse(settings) as warehouse:
            yield warehouse.con
        return
    con = duckdb.connect()
    configure(
        con,
        memory_limit=settings.import_memory_limit,
        temp_dir=settings.data_dir / DUCKDB_TEMP_DIR,
    )
    try:
        yield con
    finally:
        con.close()


_REF_QUERIES = {
    "account": (select(Account.external_id, Account.id), {"external_id": "string", "id": "int64"}),
    "contact": (
        select(
            Contact.external_id,
            Contact.id,
            Contact.account_id,
            func.lower(Contact.email).label("email"),
            Account.external_id.label("account_external_id"),
        ).join(Account, Account.id == Contact.account_id),
        {
            "external_id": "string",
            "id": "int64",
            "account_id": "int64",
            "email": "string",
            "account_external_id": "string",
        },
    ),
}


def _load_refs(con: duckdb.DuckDBPyConnection, engine: Engine, spec: KindSpec) -> dict[str, str]:
    """Copy accounts (external_id, id) and contacts (with account and email) into DuckDB."""
    refs = {}
    for name, (query, types) in _REF_QUERIES.items():
        with engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).all(), columns=list(types)).astype(types)
        table = f"ref_{name}"
        con.register(f"{table}_df", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {table}_df")
        con.unregister(f"{table}_df")
        refs[name] = table
    if spec.kind == "events":
        refs["contact_email"] = event_keys.create_email_refs(con, refs["contact"])
    with engine.connect() as conn:
        digests = pd.DataFrame({"digest": conn.scalars(select(ErasedIdentifier.digest)).all()})
    if len(digests):
        con.register("ref_erased_df", digests.astype({"digest": "string"}))
        con.execute("CREATE OR REPLACE TEMP TABLE ref_erased AS SELECT * FROM ref_erased_df")
        con.unregister("ref_erased_df")
        refs["erased"] = "ref_erased"
    return refs


def _resolve_accounts(con, session: Session, staged: StagedTable, mapping, source, result) -> None:
    """Create the accounts events wait for (when asked) and count the users left unresolved."""
    if mapping.create_accounts:
        result.accounts_created = event_accounts.create_accounts(
            con, session, staged=staged.name, source=source
        )
    users, total = event_keys.unresolved_users(con, staged.name)
    result.unresolved_users, result.unresolved_user_count = users, total


def _load(
    con,
    session: Session,
    spec,
    staged: StagedTable,
    result: ImportResult,
    sha256: str,
    entries: list[quarantine.QuarantineEntry],
    source: str,
    progress: Progress,
) -> None:
    valid = con.execute(f"SELECT count(*) FROM {staged.name} WHERE _error IS NULL").fetchone()[0]
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress("loading", done, valid)

    if spec.kind == "events":
        con.execute("BEGIN TRANSACTION")
        try:
            with watched(con, progress, "writing"):
                inserted = load.insert_events(
                    con,
                    staged=staged.name,
                    run_id=result.run_id,
                    source=source,
                    received_at=clock.now(),
                )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        advance(valid)
        result.rows_loaded, result.rows_inserted = valid, inserted
        result.rows_duplicate = valid - inserted
        _finish_run_in(session, result, sha256, entries)
        return
    existing = _existing_keys(con, session, spec, staged)
    result.rows_loaded = load.upsert_entities(
        session, con, staged=staged.name, kind=spec.kind, source=source, on_batch=advance
    )
    result.rows_updated = existing
    result.rows_inserted = result.rows_loaded - existing
    _finish_run_in(session, result, sha256, entries)


def _existing_keys(con, session: Session, spec: KindSpec, staged: StagedTable) -> int:
    model = load.MODELS[spec.kind]
    keys = pd.DataFrame(session.execute(select(model.external_id)).all(), columns=["k"])
    keys = keys.astype({"k": "string"})
    con.register("existing_keys_df", keys)
    count = con.execute(
        f"SELECT count(*) FROM {staged.name} s SEMI JOIN existing_keys_df e"
        f" ON e.k = s.{spec.key} WHERE s._error IS NULL"
    ).fetchone()[0]
    con.unregister("existing_keys_df")
    return count


def _start_run(engine: Engine, *, kind: str, path: str, source: str) -> int:
    with session_scope(engine) as session:
        runs.fail_orphaned_runs(db_session=session)
        run = ImportRun(
            kind=kind,
            source=source,
            path=str(path),
            started_at=clock.now(),
            status="running",
            details={"owner": runs.current_owner()},
        )
        session.add(run)
        session.flush()
        return run.id


def _finish_run_in(
    session: Session, result: ImportResult, sha256: str, entries: list[quarantine.QuarantineEntry]
) -> None:
    result.status = {0: "succeeded", 3: "partial", 2: "failed"}[result.exit_code]
    rows = [
        {
            "import_run_id": result.run_id,
            "kind": result.kind,
            "file": e.file,
            "line": e.line,
            "field": e.field,
            "reason": e.reason,
            "raw": e.raw,
        }
        for e in entries
    ]
    for start in range(0, len(rows), load.BATCH_ROWS):
        session.execute(insert(QuarantinedRow), rows[start : start + load.BATCH_ROWS])
    session.execute(
        update(ImportRun)
        .where(ImportRun.id == result.run_id)
        .values(
            finished_at=clock.now(),
            status=result.status,
            file_sha256=sha256,
            rows_read=result.rows_read,
            rows_loaded=result.rows_loaded,
            rows_inserted=result.rows_inserted,
            rows_updated=result.rows_updated,
            rows_quarantined=result.rows_quarantined,
            details={
                "duplicates": result.rows_duplicate,
                "ignored_columns": result.ignored_columns,
                "accounts_created": result.accounts_created,
                "unresolved_users": result.unresolved_user_count,
            },
        )
    )


def _fail_run(engine: Engine, run_id: int, exc: BaseException) -> None:
    message = str(exc) if isinstance(exc, Exception) else type(exc).__name__
    with contextlib.suppress(Exception), session_scope(engine) as session:
        session.execute(
            update(ImportRun)
            .where(ImportRun.id == run_id)
            .values(finished_at=clock.now(), status="failed", error=message[:4000])
        )


def _log(settings: Settings, result: ImportResult) -> None:
    settings.imports_dir.mkdir(parents=True, exist_ok=True)
    entry = {"at": clock.now().isoformat(), **asdict(result)}
    with open(settings.imports_dir / "import.log", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


__all__ = ["ImportResult", "RawTable", "import_file"]
