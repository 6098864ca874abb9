"""TENURE_TEST_DATABASE=postgres: every default (SQLite) app DB becomes a PostgreSQL schema.

Under the switch, `Settings.app_database_url` maps each data dir without an explicit
`database_url` to its own schema in the `test` database, so any test runs on PostgreSQL
unchanged. Migrating a schema takes seconds, so the session migrates one template schema,
dumps it with `pg_dump` and replays that dump (renamed) for a new data dir; after a test its
schemas are emptied (rows deleted, sequences reset) and reused, since creating indexes makes
PostgreSQL fsync each one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import sqlalchemy as sa

from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import create_db_engine

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ENABLED = os.environ.get("TENURE_TEST_DATABASE", "sqlite").lower() in {"postgres", "postgresql"}


def schema_url(schema: str) -> str:
    """Return the test database URL with schema first on the search path."""
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


FINGERPRINT = """
SELECT count(*), coalesce(sum(hashtext(c.relname || ':' || a.attname || ':' || a.atttypid)), 0),
       (SELECT coalesce(sum(pg_total_relation_size(t.oid)), 0) FROM pg_class t
        WHERE t.relnamespace = n.oid AND t.relkind = 'r')
FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = %(schema)s GROUP BY n.oid
"""
RECYCLE_BYTES = 32 * 2**20  # a bigger schema is dropped: deleting its rows costs more


class SchemaPool:
    """Migrated schemas, one per data dir: replayed from a template dump, then recycled."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:10]
        self.by_dir: dict[str, str] = {}
        self.handed: list[str] = []
        self.free: list[str] = []
        self.count = 0
        self._dump = ""
        self._reset = ""
        self._shape: tuple[int, int] | None = None
        self._admin: sa.Engine | None = None
        self.unmigrated = False  # set for a test marked fresh_app_db: new schemas start empty

    @property
    def admin(self) -> sa.Engine:
        """Return the engine that creates and drops schemas."""
        if self._admin is None:
            self._admin = create_db_engine(PG_URL)
        return self._admin

    def url_for(self, data_dir: Path) -> str:
        """Return the URL of data_dir's schema, creating the schema on first use."""
        key = str(Path(data_dir).resolve())
        if key not in self.by_dir and self.unmigrated:
            self.by_dir[key] = self._hand_out(self._empty())
        if key not in self.by_dir:
            self.by_dir[key] = self._hand_out(self.free.pop() if self.free else self._create())
        return schema_url(self.by_dir[key])

    def env_for(self, data_dir: Path) -> dict[str, str]:
        """Return the environment a subprocess needs to open data_dir's app DB."""
        return {"TENURE_DATABASE_URL": self.url_for(data_dir)}

    def clone(self, source: Path, target: Path) -> None:
        """Give target's data dir a copy of source's schema, rows included."""
        origin = self.url_for(source).rsplit("%3D", 1)[1]
        schema = self._new_name()
        dump = _pg_dump(origin, "--no-owner").replace(origin, schema)
        restore = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
        subprocess.run(
            [*restore, "-d", "test"], input=dump, check=True, capture_output=True, text=True
        )
        self.by_dir[str(Path(target).resolve())] = self._hand_out(schema)

    def _hand_out(self, schema: str) -> str:
        """Record that a test now uses schema and return it."""
        self.handed.append(schema)
        return schema

    def _new_name(self) -> str:
        """Return an unused schema name."""
        self.count += 1
        return f"t_{self.token}_{self.count}"

    def _prepare(self) -> None:
        """Migrate a template schema once; keep its dump and the statements that reset it."""
        template = self._new_name()
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {template}")
        engine = create_db_engine(schema_url(template))
        migrate(engine)
        engine.dispose()
        text = _pg_dump(template, "--no-owner", "--no-privileges", "--inserts")
        lines = [line for line in text.splitlines() if not line.startswith(("\\", "--"))]
        self._dump = "\n".join(lines).replace(template, "{schema}")
        seeds = [line for line in lines if line.startswith("INSERT INTO ")]
        with self.admin.begin() as conn:
            tables = conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = %(s)s", {"s": template}
            ).scalars()
            sequences = conn.exec_driver_sql(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = %(s)s", {"s": template}
            ).scalars()
            reset = [f"DELETE FROM {template}.{name}" for name in tables]
            reset += [f"SELECT setval('{template}.{name}', 1, false)" for name in sequences]
            self._reset = ";\n".join([*reset, *seeds]).replace(template, "{schema}")
            self._shape = self._fingerprint(conn, template)[:2]
        self.free.append(template)

    def _create(self) -> str:
        """Create a schema from the template dump and return its name."""
        if not self._dump:
            self._prepare()
            return self.free.pop()
        schema = self._new_name()
        with self.admin.begin() as conn:
            conn.exec_driver_sql(self._dump.replace("{schema}", schema))
        return schema

    def _empty(self) -> str:
        """Create an empty schema (no tables: the test migrates it itself)."""
        schema = self._new_name()
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        return schema

    @staticmethod
    def _fingerprint(conn: sa.Connection, schema: str) -> tuple[int, int, int]:
        """Return the schema's column count, a hash of its columns and its table bytes."""
        row = conn.exec_driver_sql(FINGERPRINT, {"schema": schema}).one_or_none()
        return tuple(row) if row else (0, 0, 0)  # type: ignore[return-value]

    def release(self, schemas: list[str]) -> None:
        """Empty each schema for reuse when it still has the template's shape, else drop it."""
        for schema in dict.fromkeys(schemas):
            self.by_dir = {key: name for key, name in self.by_dir.items() if name != schema}
            try:
                with self.admin.begin() as conn:
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '3s'")
                    shape = self._fingerprint(conn, schema)
                    if shape[:2] != self._shape or shape[2] > RECYCLE_BYTES:
                        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                        continue
                    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                    conn.exec_driver_sql(self._reset.replace("{schema}", schema))
                self.free.append(schema)
            except sa.exc.OperationalError:
                continue  # still locked by a live connection: left for the end of the session

    def close(self) -> None:
        """Drop every schema this session made and dispose of the admin engine."""
        with self.admin.begin() as conn:
            names = conn.exec_driver_sql(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %(p)s",
                {"p": f"t\\_{self.token}\\_%"},
            ).scalars()
            names = list(names)
        for name in names:  # one transaction each: a schema's locks fill the lock table
            with self.admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        self.admin.dispose()


def _pg_dump(schema: str, *options: str) -> str:
    """Return pg_dump's plain-text dump of one schema of the test database."""
    command = ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-n", schema, *options, "test"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


POOL = SchemaPool()


def install() -> None:
    """Route every app DB without an explicit database_url to a PostgreSQL schema."""

    def app_database_url(self: Settings) -> str:
        """Return the explicit URL, else the data dir's PostgreSQL schema."""
        return self.database_url or POOL.url_for(self.data_dir)

    Settings.app_database_url = property(app_database_url)  # type: ignore[method-assign]


def subprocess_env(data_dir: Path) -> dict[str, str]:
    """Return extra environment for a subprocess opening data_dir ({} on SQLite)."""
    return POOL.env_for(data_dir) if ENABLED else {}


def copy_data_dir(source: Path, target: Path) -> None:
    """Copy a data dir; under the switch its PostgreSQL schema is copied with it."""
    shutil.copytree(source, target)
    if ENABLED:
        POOL.clone(source, target)
