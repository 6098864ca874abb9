"""TENURE_TEST_DATABASE=postgres: every default (SQLite) app DB becomes a PostgreSQL schema.

Under the switch, `Settings.app_database_url` maps each data dir without an explicit
`database_url` to its own schema in the `test` database, so any test runs on PostgreSQL
unchanged. Migrating a schema takes seconds, so the session migrates one template schema,
dumps it with `pg_dump` and replays that dump (renamed) for every new data dir.
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


class SchemaPool:
    """Fresh, migrated schemas, one per data dir, cloned from a template dump."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:10]
        self.by_dir: dict[str, str] = {}
        self.created: list[str] = []
        self.count = 0
        self._dump: str | None = None
        self._admin: sa.Engine | None = None

    @property
    def admin(self) -> sa.Engine:
        """Return the engine that creates and drops schemas."""
        if self._admin is None:
            self._admin = create_db_engine(PG_URL)
        return self._admin

    def url_for(self, data_dir: Path) -> str:
        """Return the URL of data_dir's schema, creating the schema on first use."""
        key = str(Path(data_dir).resolve())
        if key not in self.by_dir:
            self.by_dir[key] = self._create()
        return schema_url(self.by_dir[key])

    def env_for(self, data_dir: Path) -> dict[str, str]:
        """Return the environment a subprocess needs to open data_dir's app DB."""
        return {"TENURE_DATABASE_URL": self.url_for(data_dir)}

    def clone(self, source: Path, target: Path) -> None:
        """Give target's data dir a copy of source's schema, rows included."""
        origin = self.url_for(source).rsplit("%3D", 1)[1]
        self.count += 1
        schema = f"t_{self.token}_{self.count}"
        dump = subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-n", origin, "--no-owner", "test"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.replace(origin, schema)
        restore = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
        subprocess.run(
            [*restore, "-d", "test"], input=dump, check=True, capture_output=True, text=True
        )
        self.created.append(schema)
        self.by_dir[str(Path(target).resolve())] = schema

    def _template_dump(self) -> str:
        """Migrate a template schema once and return its dump (schema and rows)."""
        if self._dump is None:
            template = f"tpl_{self.token}"
            with self.admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {template}")
            engine = create_db_engine(schema_url(template))
            migrate(engine)
            engine.dispose()
            command = ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-n", template]
            command += ["--no-owner", "--no-privileges", "--inserts", "test"]
            text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            lines = [line for line in text.splitlines() if not line.startswith(("\\", "--"))]
            self._dump = "\n".join(lines).replace(template, "{schema}")
            self.drop([template])
        return self._dump

    def _create(self) -> str:
        """Create a schema from the template dump and return its name."""
        self.count += 1
        schema = f"t_{self.token}_{self.count}"
        with self.admin.begin() as conn:
            conn.exec_driver_sql(self._template_dump().replace("{schema}", schema))
        self.created.append(schema)
        return schema

    def drop(self, schemas: list[str]) -> None:
        """Drop schemas; one still locked by a live connection is left for the end."""
        for schema in schemas:
            try:
                with self.admin.begin() as conn:
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '3s'")
                    conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            except sa.exc.OperationalError:
                continue
            self.forget(schema)

    def forget(self, schema: str) -> None:
        """Stop tracking a dropped schema."""
        self.created = [name for name in self.created if name != schema]
        self.by_dir = {key: name for key, name in self.by_dir.items() if name != schema}

    def close(self) -> None:
        """Drop every schema still tracked and dispose of the admin engine."""
        self.drop(list(self.created))
        if self._admin is not None:
            self._admin.dispose()


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
