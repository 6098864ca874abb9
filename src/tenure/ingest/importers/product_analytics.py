"""Import product-analytics exports (Mixpanel, Amplitude) as canonical events.

Each export is converted in DuckDB into a canonical events file (every column text) and handed
to `tenure.ingest.flows.import_file`, so account resolution, quarantine, idempotency and
`--create-accounts` are the events import's own.

* **Mixpanel** raw event export: JSON lines ``{"event", "properties": {"time", "distinct_id",
  "$insert_id", …}}``; ``time`` is epoch seconds (milliseconds with ``time_in_ms``).
* **Amplitude** export: JSON lines with ``user_id`` (``device_id`` when absent),
  ``event_type``, ``event_time`` ("YYYY-MM-DD HH:MM:SS.ffffff", UTC), ``insert_id`` (or
  ``$insert_id``, else ``uuid``), ``event_properties``, ``user_properties`` and ``groups``.

The insert id becomes ``message_id``, so re-importing an export adds nothing. The account is
the group value (a Mixpanel property named by ``group``, an Amplitude group type; the first
value when it is a list); without one, the user is looked up as a contact. With
``create_accounts`` and no group, each user becomes an account (a product-led company whose
customers are people).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
from sqlalchemy import Engine

from tenure.config import Settings
from tenure.errors import InputError
from tenure.ingest.files import prepared_input
from tenure.ingest.flows import ImportResult, Progress, import_file
from tenure.ingest.importers.common import scratch_folder
from tenure.ingest.mapping import Mapping
from tenure.ingest.sql import literal

_LINES = (
    "read_csv(?, columns = {'line': 'VARCHAR'}, header = false, quote = '', escape = '',"
    " delim = chr(30), strict_mode = false)"
)
MIXPANEL_RESERVED = '{"time": null, "distinct_id": null, "$insert_id": null}'


def _path(*keys: str) -> str:
    """Return a JSONPath literal for nested keys (any characters, e.g. `$insert_id`)."""
    return literal("$" + "".join("." + json.dumps(k) for k in keys))


def _first_value(expr: str) -> str:
    """Return SQL giving a JSON value as text, or its first element when it is a list."""
    return (
        f"(CASE WHEN json_type({expr}) = 'ARRAY' THEN json_extract_string({expr}, '$[0]')"
        f" ELSE json_extract_string({expr}, '$') END)"
    )


def mixpanel_select(group: str | None, user_is_account: bool) -> str:
    """Return the SELECT turning Mixpanel export lines (column `j`) into canonical events."""
    props = "json_extract(j, '$.properties')"
    user = f"json_extract_string(j, {_path('properties', 'distinct_id')})"
    account = _first_value(f"json_extract(j, {_path('properties', group)})") if group else "NULL"
    if user_is_account:
        account = f"coalesce({account}, {user})"
    return (
        f"SELECT json_extract_string(j, {_path('properties', '$insert_id')}) AS message_id,"
        f" CAST({account} AS VARCHAR) AS account_id, {user} AS contact_id,"
        f" json_extract_string(j, '$.event') AS event,"
        f" json_extract_string(j, {_path('properties', 'time')}) AS timestamp,"
        f" CAST(json_merge_patch({props}, {literal(MIXPANEL_RESERVED)}) AS VARCHAR) AS properties"
    )


def amplitude_select(group: str | None, user_is_account: bool) -> str:
    """Return the SELECT turning Amplitude export lines (column `j`) into canonical events."""
    user = "coalesce(j ->> '$.user_id', j ->> '$.device_id')"
    account = _first_value(f"json_extract(j, {_path('groups', group)})") if group else "NULL"
    if user_is_account:
        account = f"coalesce({account}, {user})"
    when = "j ->> '$.event_time'"
    timestamp = (
        f"CASE WHEN regexp_matches({when}, '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') THEN {when}"
        f" ELSE replace({when}, ' ', 'T') || 'Z' END"
    )
    properties = (
        "CAST(json_merge_patch(coalesce(json_extract(j, '$.event_properties'), '{}'),"
        " json_object('user_properties', json_extract(j, '$.user_properties'))) AS VARCHAR)"
    )
    message_id = (
        f"coalesce(j ->> '$.insert_id', json_extract_string(j, {_path('$insert_id')}),"
        " j ->> '$.uuid')"
    )
    return (
        f"SELECT {message_id} AS message_id, CAST({account} AS VARCHAR) AS account_id,"
        f" {user} AS contact_id, j ->> '$.event_type' AS event, {timestamp} AS timestamp,"
        f" {properties} AS properties"
    )


def convert(source: Path, target: Path, select: str) -> int:
    """Write the export's lines as a canonical events Parquet file; return the lines read."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TEMP TABLE text_lines AS SELECT line FROM {_LINES}", [str(source)])
        con.execute(
            "CREATE TEMP TABLE lines AS SELECT rowid AS _line, CASE WHEN json_valid(line)"
            " THEN CAST(line AS JSON) END AS j FROM text_lines WHERE trim(line) <> ''"
        )
        con.execute(
            f"COPY ({select} FROM lines ORDER BY _line) TO {literal(str(target))} (FORMAT parquet)"
        )
        return con.execute("SELECT count(*) FROM lines").fetchone()[0]
    except duckdb.Error as exc:
        raise InputError(f"{source}: cannot read as JSON lines: {exc}") from exc
    finally:
        con.close()


def _import_export(
    name: str,
    build: Callable[[str | None, bool], str],
    path: Path,
    *,
    settings: Settings,
    engine: Engine,
    group: str | None,
    create_accounts: bool,
    progress: Progress,
) -> ImportResult:
    """Convert one export with build's SELECT and import it as events from source `name`."""
    with scratch_folder(settings, name) as folder:
        with prepared_input(path, folder) as file:
            if file.format != "jsonl":
                raise InputError(f"{path}: a {name} export is JSON lines (.json/.jsonl, .gz ok)")
            canonical = folder / f"{name}.events.parquet"
            convert(file.path, canonical, build(group, create_accounts and group is None))
        mapping = Mapping(source=name, create_accounts=create_accounts)
        return import_file(
            "events",
            canonical,
            settings=settings,
            engine=engine,
            mapping=mapping,
            progress=progress,
            label=str(path),
        )


def import_mixpanel(path: Path, **options) -> ImportResult:
    """Import a Mixpanel raw event export (see the module docstring)."""
    return _import_export("mixpanel", mixpanel_select, path, **options)


def import_amplitude(path: Path, **options) -> ImportResult:
    """Import an Amplitude event export (see the module docstring)."""
    return _import_export("amplitude", amplitude_select, path, **options)
