"""Factories for `tenure import` tests: input files, CLI runs, and readers of what landed."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from tenure.cli.main import app
from tenure.config import Settings
from tenure.ingest.flows import ImportResult, import_file
from tenure.ingest.models import ImportRun, QuarantinedRow
from tenure.warehouse.connection import open_warehouse

# A small, valid data set: one file per kind, all referring to each other.
SAMPLE: dict[str, tuple[list[str], list[list[Any]]]] = {
    "accounts": (
        ["account_id", "name", "created_at", "industry", "region", "owner", "employees"],
        [
            ["a1", "Acme", "2024-01-15T09:30:00Z", "software", "emea", "ana", "120"],
            ["a2", "Beta", "2024-02-01", "retail", "amer", "bo", ""],
            ["a3", "Gamma", "2024-03-10T00:00:00+02:00", "", "apac", "", "7"],
        ],
    ),
    "contacts": (
        ["contact_id", "account_id", "email", "name", "role", "created_at", "consent_email"],
        [
            ["c1", "a1", "Ann@Acme.example", "Ann", "admin", "2024-01-16", "yes"],
            ["c2", "a2", "bob@beta.example", "Bob", "user", "2024-02-02", "no"],
        ],
    ),
    "subscriptions": (
        [
            "subscription_id",
            "account_id",
            "plan",
            "status",
            "mrr",
            "currency",
            "quantity",
            "started_at",
            "ended_at",
        ],
        [
            ["s1", "a1", "pro", "active", "99.00", "USD", "3", "2024-01-15", ""],
            ["s2", "a2", "basic", "canceled", "10.5", "EUR", "1", "2024-02-01", "2024-05-01"],
            ["s3", "a3", "pro", "", "5000", "JPY", "", "2024-03-10", ""],
        ],
    ),
    "invoices": (
        [
            "invoice_id",
            "account_id",
            "subscription_id",
            "amount",
            "currency",
            "status",
            "issued_at",
            "paid_at",
        ],
        [
            ["i1", "a1", "s1", "297.00", "USD", "paid", "2024-02-15", "2024-02-16"],
            ["i2", "a2", "s2", "10.50", "EUR", "failed", "2024-03-01", ""],
        ],
    ),
    "tickets": (
        [
            "ticket_id",
            "account_id",
            "contact_id",
            "subject",
            "opened_at",
            "closed_at",
            "priority",
            "csat",
        ],
        [
            ["t1", "a1", "c1", "Cannot log in", "2024-03-01T10:00:00Z", "2024-03-02", "high", "4"],
            ["t2", "a2", "", "Billing question", "2024-04-01", "", "", ""],
        ],
    ),
    "surveys": (
        ["response_id", "account_id", "contact_id", "kind", "score", "responded_at", "comment"],
        [
            ["r1", "a1", "c1", "nps", "9", "2024-04-01", "great"],
            ["r2", "a2", "c2", "csat", "2", "2024-04-02", ""],
        ],
    ),
    "events": (
        ["message_id", "account_id", "contact_id", "event", "timestamp", "properties"],
        [
            ["e1", "a1", "c1", "login", "2024-05-01T08:00:00Z", '{"ip": "10.0.0.1"}'],
            ["e2", "a1", "", "report.viewed", "2024-05-01T08:05:00Z", ""],
            ["e3", "a2", "c2", "login", "1714550400", ""],
        ],
    ),
    "spend": (
        ["spend_id", "month", "channel", "amount", "currency"],
        [
            ["sp1", "2024-04", "ads", "1200.00", "USD"],
            ["sp2", "2024-04-15", "events", "500", "EUR"],
        ],
    ),
}


@dataclass
class InputFiles:
    """Writes input files under one folder of the test's tmp dir."""

    root: Path

    def path(self, name: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / name

    def raw(self, name: str, data: str | bytes) -> Path:
        """Write data as is (text as UTF-8)."""
        target = self.path(name)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        return target

    def csv_text(self, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()

    def csv(self, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
        """Write a CSV file (optionally gzip-compressed when the name ends in .gz)."""
        text = self.csv_text(header, rows)
        return self.gz(name, text) if name.endswith(".gz") else self.raw(name, text)

    def sample(self, kind: str, name: str | None = None) -> Path:
        """Write the SAMPLE file of kind as CSV."""
        header, rows = SAMPLE[kind]
        return self.csv(name or f"{kind}.csv", header, rows)

    def jsonl(self, name: str, records: Iterable[dict[str, Any] | str]) -> Path:
        """Write one line per record: dicts as JSON, strings verbatim."""
        text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
        return self.gz(name, text) if name.endswith(".gz") else self.raw(name, text)

    def gz(self, name: str, data: str | bytes) -> Path:
        """Write data gzip-compressed."""
        payload = data.encode() if isinstance(data, str) else data
        return self.raw(name, gzip.compress(payload))

    def parquet(self, name: str, columns: dict[str, list[Any]] | pa.Table) -> Path:
        """Write a Parquet file from columns (or an Arrow table)."""
        table = columns if isinstance(columns, pa.Table) else pa.table(columns)
        target = self.path(name)
        pq.write_table(table, target)
        return target


@pytest.fixture
def files(tmp_path: Path) -> InputFiles:
    """Return a writer of input files in tmp_path/in."""
    return InputFiles(tmp_path / "in")


@pytest.fixture
def run_cli(cli: CliRunner) -> Callable[..., Result]:
    """Return run(settings, kind, path, *options) → Result of `tenure import KIND PATH`."""

    def run(settings: Settings, kind: str, path: Path, *options: str) -> Result:
        env = {
            "TENURE_DATABASE_URL": settings.database_url,
            "TENURE_DATA_DIR": None,
            "COLUMNS": "4000",  # no Rich line wrapping inside messages
        }
        args = ["--data-dir", str(settings.data_dir), "import", kind, str(path), *options]
        return cli.invoke(app, args, env=env)

    return run


@pytest.fixture
def run_import() -> Callable[..., ImportResult]:
    """Return run(settings, engine, kind, path, **kwargs) → ImportResult (service level)."""

    def run(settings: Settings, engine: sa.Engine, kind: str, path: Path, **kw: Any):
        return import_file(kind, path, settings=settings, engine=engine, **kw)

    return run


def error_text(result: Result) -> str:
    """Return the CLI's stderr with Rich's line wrapping undone."""
    return " ".join(result.stderr.split())


def rows(engine: sa.Engine, sql: str, **params: Any) -> list[tuple]:
    """Run a query on the app DB and return its rows as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params).all()]


def orm_rows(engine: sa.Engine, model: type, *columns: str) -> list[tuple]:
    """Return the given columns of every row of model, ordered by external_id."""
    cols = [getattr(model, c) for c in columns]
    with engine.connect() as conn:
        result = conn.execute(sa.select(*cols).order_by(model.external_id))
        return [tuple(r) for r in result.all()]


def last_run(engine: sa.Engine) -> ImportRun:
    """Return the newest import_run row."""
    with sa.orm.Session(engine) as session:
        return session.scalars(sa.select(ImportRun).order_by(ImportRun.id.desc()).limit(1)).one()


def quarantine_db(engine: sa.Engine, run_id: int) -> list[tuple[str, int | None, str | None, str]]:
    """Return (file, line, field, reason) of a run's quarantined rows, in line order."""
    with sa.orm.Session(engine) as session:
        found = session.scalars(
            sa.select(QuarantinedRow)
            .where(QuarantinedRow.import_run_id == run_id)
            .order_by(QuarantinedRow.id)
        ).all()
        return [(q.file, q.line, q.field, q.reason) for q in found]


def quarantine_csv(path: str | Path) -> list[dict[str, str]]:
    """Return the rows of a quarantine CSV as dicts."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def assert_quarantined(
    settings: Settings,
    engine: sa.Engine,
    source: Path,
    expected: list[tuple[int | None, str | None, str]],
) -> list[tuple[str, int | None, str | None, str]]:
    """Check the newest run's quarantine, in the DB and its CSV, against expected.

    expected holds (line, field, reason fragment); the DB rows and the CSV must both list
    exactly those rows, in that order, for the file `source`.
    """
    run = last_run(engine)
    found = quarantine_db(engine, run.id)
    assert [(f, line, field) for f, line, field, _ in found] == [
        (str(source), line, field) for line, field, _ in expected
    ], found
    for (_, _, _, reason), (_, _, fragment) in zip(found, expected, strict=True):
        assert fragment in reason, (fragment, reason)
    assert run.rows_quarantined == len(expected)
    target = settings.imports_dir / f"run-{run.id}-{run.kind}-quarantine.csv"
    if not expected:
        assert not target.exists()
        return found
    from_csv = quarantine_csv(target)
    assert [(r["file"], r["line"], r["field"], r["reason"]) for r in from_csv] == [
        (f, "" if line is None else str(line), field or "", reason)
        for f, line, field, reason in found
    ]
    return found


class Checked(NamedTuple):
    """An import's result and its quarantined (file, line, field, reason) rows."""

    result: Any
    quarantined: list[tuple[str, int | None, str | None, str]]


@pytest.fixture
def check_import(run_cli, run_import, request: pytest.FixtureRequest) -> Callable[..., Checked]:
    """Return check(kind, path, quarantined, *options, code=3, cli=True, settings=, engine=).

    It imports path as kind (through the CLI, or through the service with cli=False) into the
    test's `settings`/`engine` (or those given), asserts the exit code, and that exactly the
    quarantined (line, field, reason fragment) rows went to quarantine, in the DB and its CSV.
    """

    def check(kind, path, quarantined, *options, code=3, cli=True, settings=None, engine=None):
        settings = settings or request.getfixturevalue("settings")
        engine = engine or request.getfixturevalue("engine")
        if cli:
            result = run_cli(settings, kind, path, *options)
            assert result.exit_code == code, result.output
        else:
            result = run_import(settings, engine, kind, path)
            assert result.exit_code == code, result
        return Checked(result, assert_quarantined(settings, engine, path, quarantined))

    return check


def warehouse_events(settings: Settings) -> list[dict[str, Any]]:
    """Return every event in the warehouse as dicts, ordered by message_id."""
    with open_warehouse(settings, read_only=True) as wh:
        cursor = wh.con.execute("SELECT * FROM events ORDER BY message_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def event_count(settings: Settings) -> int:
    """Return how many events the warehouse holds."""
    with open_warehouse(settings, read_only=True) as wh:
        return wh.con.execute("SELECT count(*) FROM events").fetchone()[0]


@pytest.fixture
def seeded(settings: Settings, engine: sa.Engine, files: InputFiles, run_import) -> Settings:
    """Import the SAMPLE accounts and contacts into the SQLite app DB; return settings."""
    for kind in ("accounts", "contacts"):
        result = run_import(settings, engine, kind, files.sample(kind, f"seed-{kind}.csv"))
        assert result.exit_code == 0, result
    return settings


@pytest.fixture
def any_seeded(any_settings: Settings, any_engine: sa.Engine, files: InputFiles, run_import):
    """Import the sample accounts into any_settings' app DB (SQLite or PostgreSQL)."""
    result = run_import(any_settings, any_engine, "accounts", files.sample("accounts", "seed.csv"))
    assert result.exit_code == 0
    return any_settings


class Tools:
    """The helpers above, handed to tests as the `tools` fixture."""

    error_text = staticmethod(error_text)
    rows = staticmethod(rows)
    orm_rows = staticmethod(orm_rows)
    last_run = staticmethod(last_run)
    quarantine_db = staticmethod(quarantine_db)
    quarantine_csv = staticmethod(quarantine_csv)
    assert_quarantined = staticmethod(assert_quarantined)
    warehouse_events = staticmethod(warehouse_events)
    event_count = staticmethod(event_count)
    sample = SAMPLE


@pytest.fixture
def tools() -> type[Tools]:
    """Return the assertion and query helpers of the ingest tests."""
    return Tools
