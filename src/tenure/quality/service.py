"""Measure the app DB for the data-quality report; every count is a SQL aggregate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)

from tenure.accounts.models import Account, Contact, Invoice, Subscription, SurveyResponse, Ticket
from tenure.events.models import InboxEvent
from tenure.ingest.models import ImportRun, QuarantinedRow
from tenure.quality.rules import APP_TABLES, NULL_TOKENS, TableSpec, table_for_import_kind
from tenure.quality.scoring import Figure, Ratio, Recency, describe_missing

TABLES: dict[str, Table] = {
    model.__tablename__: model.__table__  # type: ignore[misc]
    for model in (Account, Contact, Subscription, Invoice, Ticket, SurveyResponse)
}


def missing(column: Column[Any]) -> ColumnElement[bool]:
    """Return a predicate true when column holds no usable value (NULL or a blank token)."""
    if isinstance(column.type, String):
        return or_(column.is_(None), func.lower(func.trim(column)).in_(NULL_TOKENS))
    return column.is_(None)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """Return SUM(CASE WHEN condition THEN 1 ELSE 0 END), 0 over no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def app_figures(connection: Connection, *, now: datetime, tolerance: timedelta) -> list[Figure]:
    """Measure completeness, uniqueness, freshness, references, consistency and validity."""
    figures: list[Figure] = []
    for spec in APP_TABLES:
        figures += profile_figures(connection, spec)
        figures += consistency_figures(connection, spec, future_limit=now + tolerance)
    figures += account_reference_figures(connection)
    figures += contact_reference_figures(connection)
    figures += inbox_reference_figures(connection)
    figures += import_validity_figures(connection)
    return figures


def account_ids(connection: Connection) -> Sequence[int]:
    """Return the ids of every account (to load into the warehouse for reference checks)."""
    return connection.execute(select(TABLES["account"].c.id)).scalars().all()


def profile_figures(connection: Connection, spec: TableSpec) -> list[Figure]:
    """Measure one table's completeness, uniqueness and newest record, per source if any."""
    table = TABLES[spec.name]
    fields = spec.required + spec.optional
    columns = [
        func.count().label("rows"),
        count_if(or_(*(missing(table.c[name]) for name in spec.required))).label("incomplete"),
        *(count_if(missing(table.c[name])).label(f"missing_{name}") for name in fields),
        func.count(func.distinct(table.c[spec.key])).label("distinct_keys"),
        func.max(table.c[spec.newest]).label("newest"),
    ]
    if spec.optional:
        any_missing = or_(*(missing(table.c[name]) for name in spec.optional))
        columns.append(count_if(any_missing).label("incomplete_optional"))
    if spec.source:
        source = table.c[spec.source]
        stmt = select(source.label("source"), *columns).group_by(source).order_by(source)
    else:
        stmt = select(*columns)
    rows = connection.execute(stmt).mappings().all()
    if not rows or (len(rows) == 1 and rows[0]["rows"] == 0):
        return profile_from_counts(spec, {"rows": 0}, source=None)
    return [fig for row in rows for fig in profile_from_counts(spec, row, row.get("source"))]


def profile_from_counts(
    spec: TableSpec, counts: Mapping[str, Any], source: str | None
) -> list[Figure]:
    """Turn one profile row (counts of a table or a source of it) into figures."""
    rows = int(counts["rows"])
    if rows == 0:
        counts = {"incomplete": 0, "distinct_keys": 0, "newest": None, "incomplete_optional": 0}

    def missing_of(names: tuple[str, ...]) -> dict[str, int]:
        return {name: int(counts.get(f"missing_{name}", 0)) for name in names}

    figures: list[Figure] = [
        Ratio(
            spec.name,
            "completeness",
            good=rows - int(counts["incomplete"]),
            total=rows,
            detail=f"{describe_missing(missing_of(spec.required))} (of {rows} rows)",
            source=source,
        ),
        Ratio(
            spec.name,
            "uniqueness",
            good=int(counts["distinct_keys"]),
            total=rows,
            detail=f"{rows - int(counts['distinct_keys'])} duplicate {spec.key} values",
            source=source,
        ),
        Recency(spec.name, counts["newest"], rows, spec.cadence, source=source),
    ]
    if spec.optional:
        figures.append(
            Ratio(
                spec.name,
                "completeness_optional",
                good=rows - int(counts["incomplete_optional"]),
                total=rows,
                detail=f"{describe_missing(missing_of(spec.optional))} (of {rows} rows)",
                source=source,
                rule=", ".join(spec.optional),
            )
        )
    return figures


def consistency_rules(spec: TableSpec, future_limit: datetime) -> dict[str, ColumnElement[bool]]:
    """Return, per rule, the predicate true for rows that *break* it."""
    table = TABLES[spec.name]
    c = table.c
    rules: dict[str, ColumnElement[bool]] = {
        f"{spec.newest} in the future": c[spec.newest] > future_limit,
    }
    if spec.name == "subscription":
        rules["ended_at before started_at"] = c.ended_at < c.started_at
        rules["negative mrr"] = c.mrr < 0
        rules["overlaps another subscription of the same account and plan"] = _overlap(table)
    elif spec.name == "invoice":
        rules["paid_at before issued_at"] = c.paid_at < c.issued_at
    elif spec.name == "ticket":
        rules["closed_at before opened_at"] = c.closed_at < c.opened_at
        rules["csat outside 1–5"] = and_(c.csat.is_not(None), ~c.csat.between(1, 5))
    elif spec.name == "survey_response":
        kind = func.upper(func.trim(c.kind))
        rules["NPS score outside 0–10"] = and_(kind == "NPS", ~c.score.between(0, 10))
        rules["CSAT score outside 1–5"] = and_(kind == "CSAT", ~c.score.between(1, 5))
        rules["kind neither NPS nor CSAT"] = kind.not_in(("NPS", "CSAT"))
    elif spec.name == "contact":
        rules["email without @"] = and_(~missing(c.email), ~c.email.like("%_@_%"))
    return rules


def _overlap(subscription: Table) -> ColumnElement[bool]:
    """Return a predicate: another subscription of the same account and plan overlaps this one."""
    other = subscription.alias("other_subscription")
    this = subscription.c
    return exists().where(
        other.c.account_id == this.account_id,
        other.c.plan == this.plan,
        other.c.id != this.id,
        or_(this.ended_at.is_(None), other.c.started_at < this.ended_at),
        or_(other.c.ended_at.is_(None), this.started_at < other.c.ended_at),
    )


def consistency_figures(
    connection: Connection, spec: TableSpec, *, future_limit: datetime
) -> list[Figure]:
    """Measure the share of a table's rows that break none of its consistency rules."""
    rules = consistency_rules(spec, future_limit)
    table = TABLES[spec.name]
    stmt = select(
        func.count().label("rows"),
        count_if(or_(*rules.values())).label("broken"),
        *(count_if(rule).label(f"rule_{i}") for i, rule in enumerate(rules.values())),
    ).select_from(table)
    row = connection.execute(stmt).mappings().one()
    broken = {name: int(row[f"rule_{i}"]) for i, name in enumerate(rules)}
    parts = [f"{name}: {count}" for name, count in broken.items() if count]
    detail = "; ".join(parts) if parts else f"none found of: {'; '.join(rules)}"
    rows = int(row["rows"])
    return [Ratio(spec.name, "consistency", rows - int(row["broken"]), rows, detail)]


def account_reference_figures(connection: Connection) -> list[Figure]:
    """Measure, per table, the share of rows whose account exists."""
    account = TABLES["account"]
    figures: list[Figure] = []
    for spec in APP_TABLES:
        if not spec.references_account:
            continue
        table = TABLES[spec.name]
        joined = table.outerjoin(account, table.c.account_id == account.c.id)
        stmt = select(func.count(), func.count(account.c.id)).select_from(joined)
        total, good = connection.execute(stmt).one()
        detail = f"{total - good} rows point at a missing account"
        figures.append(Ratio(spec.name, "referential", good, total, detail, rule="account exists"))
    return figures


def contact_reference_figures(connection: Connection) -> list[Figure]:
    """Measure, for tickets and surveys naming a contact, that it exists at the same account."""
    contact = TABLES["contact"]
    figures: list[Figure] = []
    for name in ("ticket", "survey_response"):
        table = TABLES[name]
        same_account = and_(contact.c.id.is_not(None), contact.c.account_id == table.c.account_id)
        stmt = (
            select(func.count(), count_if(same_account))
            .select_from(table.outerjoin(contact, table.c.contact_id == contact.c.id))
            .where(table.c.contact_id.is_not(None))
        )
        total, good = connection.execute(stmt).one()
        detail = f"{total - good} of {total} rows naming a contact point at a missing one"
        detail += " or one of another account"
        rule = "contact exists at the same account"
        figures.append(Ratio(name, "referential", int(good), total, detail, rule=rule))
    return figures


def inbox_reference_figures(connection: Connection) -> list[Figure]:
    """Measure inbox events whose account is known; nothing when the inbox is empty."""
    inbox: Table = InboxEvent.__table__  # type: ignore[assignment]
    account = TABLES["account"]
    joined = inbox.outerjoin(account, inbox.c.account_external_id == account.c.external_id)
    total, good = connection.execute(
        select(func.count(), func.count(account.c.id)).select_from(joined)
    ).one()
    if total == 0:
        return []
    detail = f"{total - good} inbox events name an unknown account or wait for their user's"
    return [Ratio("event_inbox", "referential", good, total, detail, rule="account exists")]


def import_validity_figures(connection: Connection) -> list[Figure]:
    """Measure 1 − quarantine rate per import kind over the latest run of each file.

    Only finished runs that read rows count: a run still going (or killed) and a run that failed
    before reading must not hide the figures of the run whose rows are in the tables.
    """
    runs: Table = ImportRun.__table__  # type: ignore[assignment]
    order = (runs.c.started_at.desc(), runs.c.id.desc())
    ranked = (
        select(
            runs.c.id,
            runs.c.kind,
            runs.c.rows_read,
            runs.c.rows_quarantined,
            func.row_number()
            .over(partition_by=(runs.c.kind, runs.c.path), order_by=order)
            .label("recency_rank"),
        )
        .where(runs.c.finished_at.is_not(None), runs.c.rows_read > 0)
        .subquery("ranked")
    )
    latest = select(ranked).where(ranked.c.recency_rank == 1).subquery("latest")
    stmt = (
        select(
            latest.c.kind,
            func.count(),
            func.coalesce(func.sum(latest.c.rows_read), 0),
            func.coalesce(func.sum(latest.c.rows_quarantined), 0),
        )
        .group_by(latest.c.kind)
        .order_by(latest.c.kind)
    )
    reasons = quarantine_reasons(connection, latest)
    figures: list[Figure] = []
    for kind, files, read, quarantined in connection.execute(stmt):
        read, quarantined = int(read), int(quarantined)
        detail = f"{quarantined} of {read} rows quarantined, latest run of {files} file(s)"
        if reasons.get(kind):
            detail += "; " + reasons[kind]
        good = max(read - quarantined, 0)
        figures.append(Ratio(table_for_import_kind(kind), "validity", good, read, detail, kind))
    return figures


def quarantine_reasons(connection: Connection, latest: Any, top: int = 3) -> dict[str, str]:
    """Return per import kind the fields quarantined most often, with an example reason."""
    quarantined: Table = QuarantinedRow.__table__  # type: ignore[assignment]
    count = func.count().label("n")
    stmt = (
        select(latest.c.kind, quarantined.c.field, count, func.min(quarantined.c.reason))
        .join(latest, quarantined.c.import_run_id == latest.c.id)
        .group_by(latest.c.kind, quarantined.c.field)
        .order_by(latest.c.kind, count.desc(), quarantined.c.field)
    )
    reasons: dict[str, list[str]] = {}
    for kind, field, n, example in connection.execute(stmt):
        parts = reasons.setdefault(kind, [])
        if len(parts) < top:
            example = example if len(example) <= 80 else example[:79] + "…"
            parts.append(f"{field or 'row'} {n} (e.g. {example})")
    return {kind: "top: " + ", ".join(parts) for kind, parts in reasons.items()}
