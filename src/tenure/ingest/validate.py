"""Turn a raw text table into typed canonical rows, each with its first error (or none)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

import duckdb

from tenure.errors import InputError
from tenure.ingest import event_keys
from tenure.ingest.mapping import Mapping
from tenure.ingest.reader import RawTable
from tenure.ingest.spec import FieldSpec, KindSpec
from tenure.ingest.sql import ident, literal
from tenure.money import ISO_4217, exponent_sql_case

SEP = "\x1f"  # separates field from reason inside _error
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_counter = itertools.count()
# Types that get a parsed `<name>__v` column.
_TYPED = ("int", "money", "currency", "timestamp", "month", "bool")


@dataclass(frozen=True)
class StagedTable:
    """Typed rows in DuckDB: canonical columns plus _row, _error, _first_row and references."""

    name: str
    extras: tuple[str, ...]
    ignored: tuple[str, ...]


def resolve_columns(raw: RawTable, spec: KindSpec, mapping: Mapping) -> dict[str, str | None]:
    """Match each canonical column to a file column, or raise naming what is missing."""
    by_lower = {c.lower(): c for c in raw.columns}
    resolved: dict[str, str | None] = {}
    for f in spec.fields:
        wanted = mapping.columns.get(f.name, f.name)
        column = wanted if wanted in raw.columns else by_lower.get(wanted.lower())
        if column is None and f.name in mapping.columns:
            raise InputError(
                f"{raw.file.original}: the mapping sends {f.name!r} to column {wanted!r}, which "
                f"the file does not have (columns found: {', '.join(raw.columns)})"
            )
        resolved[f.name] = column
    missing = [
        f.name
        for f in spec.fields
        if f.required and resolved[f.name] is None and f.name not in mapping.defaults
    ]
    if missing:
        raise InputError(
            f"{raw.file.original}: missing required column(s) {', '.join(missing)} for "
            f"{spec.kind} (columns found: {', '.join(raw.columns) or 'none'}); nothing was "
            "imported. Rename the columns or map them with --mapping"
        )
    return resolved


def _text_expr(f: FieldSpec, column: str | None, mapping: Mapping) -> str:
    if column is None:
        expr = "CAST(NULL AS VARCHAR)"
    else:
        # trim() copies every string; the LIKE guard (a cheap prefix/suffix test) copies only
        # the padded ones, which halves the cost of this step on large files.
        col = ident(column)
        expr = (
            f"(CASE WHEN {col} LIKE ' %' OR {col} LIKE '% ' THEN NULLIF(trim({col}), '')"
            f" ELSE NULLIF({col}, '') END)"
        )
    if f.type == "enum":
        expr = f"lower({expr})"
    values = mapping.values.get(f.name, {})
    if values:
        cases = " ".join(
            f"WHEN {literal(a.lower() if f.type == 'enum' else a)} THEN {literal(b)}"
            for a, b in values.items()
        )
        expr = f"(CASE {expr} {cases} ELSE {expr} END)"
    default = mapping.defaults.get(f.name, f.default)
    if default is not None:
        expr = f"coalesce({expr}, {literal(default)})"
    return expr


def _timestamp_expr(col: str) -> str:
    """Parse ISO 8601 first, then epoch seconds or milliseconds; words like 'now' are refused."""
    number = f"TRY_CAST({col} AS DOUBLE)"
    epoch = (
        f"CASE WHEN abs({number}) < 1e14 THEN to_timestamp(CASE WHEN abs({number}) >= 1e11"
        f" THEN {number} / 1000.0 ELSE {number} END) END"
    )
    return (
        f"(CASE WHEN left({col}, 1) BETWEEN '0' AND '9' OR left({col}, 1) IN ('-', '+') THEN"
        f" coalesce(TRY_CAST({col} AS TIMESTAMPTZ), {epoch}) END)"
    )


def _month_expr(col: str) -> str:
    """Parse YYYY-MM (or any timestamp) and return the first instant of its UTC month."""
    first = (
        f"(CASE WHEN regexp_full_match({col}, '[0-9]{{4}}-[0-9]{{2}}')"
        f" THEN TRY_CAST({col} || '-01' AS TIMESTAMPTZ) END)"
    )
    parsed = f"coalesce({first}, {_timestamp_expr(col)})"
    return f"timezone('UTC', date_trunc('month', timezone('UTC', {parsed})))"


def _typed(f: FieldSpec, spec: KindSpec) -> str:
    col = ident(f.name)
    if f.type == "int":
        return f"(CASE WHEN regexp_full_match({col}, '[+-]?[0-9]+') THEN TRY_CAST({col} AS BIGINT) END)"
    if f.type == "money":
        amount = f"TRY_CAST({col} AS DECIMAL(38, 6))"
        currency = f"upper({ident(spec.currency_of[f.name])})"
        scale = f"(CASE {exponent_sql_case(currency)} WHEN 0 THEN 1 WHEN 3 THEN 1000 ELSE 100 END)"
        return f"TRY_CAST(round_even({amount} * {scale}, 0) AS BIGINT)"
    if f.type == "currency":
        return f"upper({col})"
    if f.type == "timestamp":
        return _timestamp_expr(col)
    if f.type == "month":
        return _month_expr(col)
    if f.type == "bool":
        return (
            f"(CASE WHEN lower({col}) IN {_tuple(_TRUE)} THEN true"
            f" WHEN lower({col}) IN {_tuple(_FALSE)} THEN false END)"
        )
    return col


def _tuple(values: tuple[str, ...] | frozenset[str]) -> str:
    return "(" + ", ".join(literal(v) for v in sorted(values)) + ")"


def _shown(col: str) -> str:
    return f"'''' || left({col}, 60) || ''''"


def _field_errors(f: FieldSpec, now_sql: str) -> list[str]:
    """Return SQL expressions yielding 'field<SEP>reason' when the field is invalid."""
    text = ident(f.name)
    typed = ident(f"{f.name}__v") if f.type in _TYPED else text
    tag = literal(f.name + SEP)
    checks = (
        [f"CASE WHEN {text} IS NULL THEN {tag} || 'missing required value' END"]
        if f.required
        else []
    )
    bad = {
        "int": f"{typed} IS NULL THEN {tag} || 'not a whole number: ' || {_shown(text)}",
        "money": f"{typed} IS NULL THEN {tag} || 'not a decimal amount: ' || {_shown(text)}",
        "timestamp": f"{typed} IS NULL THEN {tag} || 'unparseable timestamp ' || {_shown(text)}"
        " || ' (use ISO 8601 or epoch seconds/milliseconds)'",
        "month": f"{typed} IS NULL THEN {tag} || 'unparseable month ' || {_shown(text)}"
        " || ' (use YYYY-MM or a date)'",
        "currency": f"{typed} NOT IN {_tuple(ISO_4217)} THEN {tag} || 'unknown currency '"
        f" || {_shown(text)} || ' (expected an ISO 4217 code such as USD)'",
        "enum": f"{text} NOT IN {_tuple(f.choices)} THEN {tag} || 'invalid value ' || {_shown(text)}"
        f" || ' (expected one of {', '.join(f.choices)})'",
        "bool": f"{typed} IS NULL THEN {tag} || 'not a yes/no value: ' || {_shown(text)}",
        "json": f"coalesce(CASE WHEN json_valid({text}) THEN json_type({text}) END, '') <> 'OBJECT'"
        f" THEN {tag} || 'not a JSON object: ' || {_shown(text)}",
        "email": f"NOT regexp_full_match({text}, '[^@\\s]+@[^@\\s]+\\.[^@\\s]+')"
        f" THEN {tag} || 'not an email address: ' || {_shown(text)}",
    }
    if f.type in bad:
        checks.append(f"CASE WHEN {text} IS NOT NULL AND {bad[f.type]} END")
    if f.type in ("string", "email", "json"):
        checks.append(
            f"CASE WHEN length({text}) > {f.max_length} THEN {tag}"
            f" || 'longer than {f.max_length} characters' END"
        )
    if f.type == "money":
        checks.append(
            f"CASE WHEN {typed} < 0 THEN {tag} || 'negative amount ' || {_shown(text)} END"
        )
    if f.type == "int":
        bounds = [f"{typed} < {f.minimum:g}"] if f.minimum is not None else []
        bounds += [f"{typed} > {f.maximum:g}"] if f.maximum is not None else []
        if bounds:
            checks.append(
                f"CASE WHEN {' OR '.join(bounds)} THEN {tag} || 'out of range: ' || {text} END"
            )
    if f.type in ("timestamp", "month"):
        checks.append(
            f"CASE WHEN NOT isfinite({typed}) OR {typed} < TIMESTAMPTZ '1900-01-01' THEN {tag}"
            f" || 'timestamp out of range: ' || {_shown(text)} END"
        )
        checks.append(
            f"CASE WHEN {typed} > {now_sql} THEN {tag} || 'timestamp in the future: '"
            f" || strftime({typed}, '%Y-%m-%dT%H:%M:%SZ') END"
        )
    return checks


def _cross_checks(spec: KindSpec) -> list[str]:
    """Return checks that span two fields of one row."""
    pairs = {
        "subscriptions": ("started_at", "ended_at"),
        "invoices": ("issued_at", "paid_at"),
        "tickets": ("opened_at", "closed_at"),
    }
    checks = []
    if spec.kind in pairs:
        start, end = pairs[spec.kind]
        checks.append(
            f"CASE WHEN {ident(end + '__v')} < {ident(start + '__v')} THEN"
            f" {literal(end + SEP)} || '{end} is before {start}' END"
        )
    if spec.kind == "surveys":
        checks.append(
            f"CASE WHEN kind = 'csat' AND NOT score__v BETWEEN 1 AND 5 THEN"
            f" {literal('score' + SEP)} || 'CSAT score must be 1 to 5, got ' || score END"
        )
    return checks


def _reference_checks(spec: KindSpec) -> list[str]:
    if spec.kind == "events":
        return event_keys.checks()
    checks = []
    if "account_id" in spec.names and spec.kind != "accounts":
        checks.append(
            f"CASE WHEN account_id IS NOT NULL AND _account_ref IS NULL THEN"
            f" {literal('account_id' + SEP)} || 'unknown account ' || {_shown('account_id')}"
            " || ' (import its account first)' END"
        )
    if spec.references_contact:
        checks.append(
            f"CASE WHEN contact_id IS NOT NULL AND _contact_ref IS NULL THEN"
            f" {literal('contact_id' + SEP)} || 'unknown contact ' || {_shown('contact_id')} END"
        )
    return checks


ERASED = "erased at the person's request; not imported again (tenure privacy erase)"
IDENTIFYING = ("account_id", "contact_id", "email")


def _erased_checks(spec: KindSpec, erased: str | None) -> list[str]:
    """Return checks quarantining rows whose account, contact or email was erased."""
    if erased is None:
        return []
    fields = [n for n in IDENTIFYING if n in spec.names or spec.kind == "events"]
    return [
        f"CASE WHEN {ident(n)} IS NOT NULL AND sha256(lower(trim({ident(n)})))"
        f" IN (SELECT digest FROM {erased}) THEN {literal(n + SEP + ERASED)} END"
        for n in fields
    ]


def _duplicate_check(spec: KindSpec) -> list[str]:
    if not (spec.key and spec.duplicates_are_errors):
        return []
    key = ident(spec.key)
    return [
        f"CASE WHEN {key} IS NOT NULL AND _row > _first_row THEN {literal(spec.key + SEP)}"
        f" || 'duplicate {spec.key} ' || {_shown(key)} || ' in this file' END"
    ]


def stage(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    spec: KindSpec,
    mapping: Mapping,
    *,
    now: datetime,
    refs: dict[str, str],
) -> StagedTable:
    """Create the staged table for raw; refs names the reference tables (external_id, id)."""
    columns = resolve_columns(raw, spec, mapping)
    used = {c for c in columns.values() if c}
    extras = tuple(c for c in raw.columns if c not in used and c not in mapping.ignore)
    text_cols = [
        f"{_text_expr(f, columns[f.name], mapping)} AS {ident(f.name)}" for f in spec.fields
    ]
    attributes = "CAST(NULL AS JSON)"
    if spec.extras_to_attributes and extras:
        pairs = ", ".join(f"{literal(c)}, NULLIF(trim({ident(c)}), '')" for c in extras)
        attributes = f"json_object({pairs})"
    event_columns, ignored = "", extras if not spec.extras_to_attributes else ()
    if spec.kind == "events":
        event_keys.require_a_key(columns, mapping, raw.file.original if raw.file else "")
        extras, ignored = event_keys.split_extras(raw.columns, used, mapping)
        event_columns = event_keys.inner_columns(extras, mapping)
    elif mapping.ignore:
        ignored = tuple(dict.fromkeys((*ignored, *mapping.ignore)))
    typed_cols = [
        f"{_typed(f, spec)} AS {ident(f.name + '__v')}" for f in spec.fields if f.type in _TYPED
    ]
    now_sql = f"TIMESTAMPTZ {literal(now.isoformat())}"
    checks = _erased_checks(spec, refs.get("erased"))
    checks += [c for f in spec.fields for c in _field_errors(f, now_sql)]
    checks += _cross_checks(spec) + _reference_checks(spec) + _duplicate_check(spec)
    joins, ref_cols = _joins(spec, refs, columns, mapping)
    first_row = (
        f"min(_row) OVER (PARTITION BY {ident(spec.key)})"
        if spec.key and spec.duplicates_are_errors
        else "_row"
    )
    name = f"staged_{next(_counter)}"
    con.execute(
        f"CREATE TEMP TABLE {name} AS SELECT *{_exclude_parsed_text(spec)}, coalesce({', '.join(checks)})"
        f" AS _error FROM (SELECT t.*, {first_row} AS _first_row{ref_cols} FROM"
        f" (SELECT *{''.join(', ' + c for c in typed_cols)} FROM"
        f" (SELECT _row, {', '.join(text_cols)}, {attributes} AS _attributes{event_columns}"
        f" FROM {raw.name})) t{joins})"
    )
    return StagedTable(name=name, extras=extras, ignored=ignored)


def _exclude_parsed_text(spec: KindSpec) -> str:
    """Return the EXCLUDE clause that keeps only the parsed value of typed columns.

    The text is needed only for error messages, computed in the same statement; dropping it
    keeps the staged table small (large event files then spill less to disk).
    """
    parsed = [ident(f.name) for f in spec.fields if f.type in _TYPED]
    return f" EXCLUDE ({', '.join(parsed)})" if parsed else ""


def _joins(spec: KindSpec, refs: dict[str, str], columns: dict, mapping: Mapping) -> tuple:
    if spec.kind == "events":
        return event_keys.joins(columns, mapping, refs)
    joins, cols = "", ""
    if "account_id" in spec.names and spec.kind != "accounts":
        joins += f" LEFT JOIN {refs['account']} ra ON ra.external_id = t.account_id"
        cols += ", ra.id AS _account_ref"
    if spec.references_contact:
        joins += f" LEFT JOIN {refs['contact']} rc ON rc.external_id = t.contact_id"
        cols += ", rc.id AS _contact_ref"
    return joins, cols
