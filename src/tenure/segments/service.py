"""Segment services: declare, evaluate as of a date, keep membership history, report figures.

Every function takes the caller's `db_session` and never commits: the boundary does.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.schemas import Money
from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound
from tenure.logging import get_logger
from tenure.metrics.currency import to_major_units
from tenure.metrics.movements import connect_engine
from tenure.segments.figures import segment_figures
from tenure.segments.frame import account_frame, account_mrr, month_before
from tenure.segments.grid import RISK_TIERS, VALUE_TIERS, GridCell, cell_name, grid_cells
from tenure.segments.models import SEGMENT_KINDS, Segment, SegmentMembership
from tenure.segments.rules import RuleError, compile_rule, validate_rule
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog

SAMPLE_SIZE = 10
DEFAULTS_PATH = Path(__file__).with_name("defaults.toml")
log = get_logger("segments")


@dataclass(frozen=True)
class SegmentEvaluation:
    """Members stored per rule segment, and the segments skipped because their rule fails."""

    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def today() -> date:
    """Return today's date by the clock in force."""
    return clock.now().date()


def known_fields(db_session: Session, as_of: date | None = None) -> list[str]:
    """Return the fields a rule may use as of a date (attributes.* as present then)."""
    frame = account_frame(db_session.connection(), as_of or today())
    return list(frame.column_names)


def create_segment(
    *,
    db_session: Session,
    name: str,
    rule: str | None = None,
    description: str | None = None,
    kind: str = "rule",
    replace: bool = False,
    fields: Sequence[str] | None = None,
) -> Segment:
    """Add a segment (or, with replace, update the one of that name); rules are checked.

    fields: the known rule fields, when the caller has them (else read from the app DB).
    """
    if kind not in SEGMENT_KINDS:
        raise InputError(f"segment kind must be one of {', '.join(SEGMENT_KINDS)}, got {kind!r}")
    if not name or not name.strip():
        raise InputError("a segment needs a name")
    if kind == "rule":
        if not rule:
            raise InputError(f"segment {name!r}: a rule segment needs a rule")
        validate_rule(rule, fields if fields is not None else known_fields(db_session))
    segment = db_session.scalar(select(Segment).where(Segment.name == name))
    if segment is not None and not replace:
        raise InputError(f"a segment named {name!r} already exists")
    if segment is not None and segment.kind != kind:
        raise InputError(f"{name!r} is a {segment.kind} segment; give this one another name")
    if segment is None:
        segment = Segment(name=name, created_at=clock.now())
        db_session.add(segment)
    segment.rule, segment.description, segment.kind = rule, description, kind
    db_session.flush()
    return segment


def list_segments(*, db_session: Session, kind: str | None = None) -> list[Segment]:
    """Return the segments (of one kind, if given) by name."""
    query = select(Segment).order_by(Segment.name)
    if kind:
        query = query.where(Segment.kind == kind)
    return list(db_session.scalars(query))


def get_segment(*, db_session: Session, name: str) -> Segment:
    """Return the segment with this name, or raise NotFound listing the known names."""
    segment = db_session.scalar(select(Segment).where(Segment.name == name))
    if segment is None:
        names = ", ".join(s.name for s in list_segments(db_session=db_session)) or "none yet"
        raise NotFound(f"no segment named {name!r}; known segments: {names}")
    return segment


def delete_segment(*, db_session: Session, name: str) -> None:
    """Remove the segment with this name and its membership history, or raise NotFound."""
    segment = get_segment(db_session=db_session, name=name)
    db_session.execute(delete(SegmentMembership).where(SegmentMembership.segment_id == segment.id))
    db_session.delete(segment)
    db_session.flush()


def read_segments_file(path: Path) -> list[dict[str, Any]]:
    """Return the `[[segment]]` entries of a TOML file, each with a name and known keys only."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read segments file {path}: {exc}") from exc
    entries = document.get("segment")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: no [[segment]] entries (each needs name and rule)")
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InputError(f"{path}: segment #{number} needs a name")
        unknown = set(entry) - {"name", "rule", "description"}
        if unknown:
            raise InputError(f"{path}: segment {entry['name']!r}: unknown keys {sorted(unknown)}")
    return entries


def _create_entry(db_session: Session, entry: Mapping[str, Any], fields: list[str]) -> Segment:
    return create_segment(
        db_session=db_session,
        name=entry["name"],
        rule=entry.get("rule"),
        description=entry.get("description"),
        replace=True,
        fields=fields,
    )


def load_segments_file(*, db_session: Session, path: Path) -> list[Segment]:
    """Create or update the `[[segment]]` entries (name, rule, description) of a TOML file."""
    entries, loaded, fields = read_segments_file(path), [], known_fields(db_session)
    for entry in entries:
        try:
            loaded.append(_create_entry(db_session, entry, fields))
        except InputError as exc:
            raise InputError(f"{path}: segment {entry['name']!r}: {exc}") from exc
    return loaded


@dataclass(frozen=True)
class DefaultsLoad:
    """The default segments created or updated, and those skipped (name → why)."""

    loaded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def load_default_segments(*, db_session: Session) -> DefaultsLoad:
    """Create or update the shipped default segments; skip those whose fields this book lacks."""
    result, fields = DefaultsLoad(), known_fields(db_session)
    for entry in read_segments_file(DEFAULTS_PATH):
        try:
            result.loaded.append(_create_entry(db_session, entry, fields).name)
        except RuleError as exc:
            result.skipped[entry["name"]] = str(exc).splitlines()[0].split("; known fields")[0]
    return result


def rule_members(frame: pa.Table, rule: str) -> list[int]:
    """Return the account ids of frame rows that match rule (evaluated by DuckDB via Ibis)."""
    table = ibis.memtable(frame)
    matched = table.filter(compile_rule(rule, table)).select("account_id").order_by("account_id")
    return [int(v) for v in connect_engine().to_pyarrow(matched)["account_id"].to_pylist()]


def replace_membership(
    *, db_session: Session, segment: Segment, as_of: date, account_ids: Iterable[int]
) -> int:
    """Set the segment's members as of a date, replacing what that date held before."""
    db_session.execute(
        delete(SegmentMembership).where(
            SegmentMembership.segment_id == segment.id, SegmentMembership.as_of == as_of
        )
    )
    rows = [
        {"segment_id": segment.id, "account_id": a, "as_of": as_of}
        for a in sorted(set(account_ids))
    ]
    if rows:
        db_session.execute(SegmentMembership.__table__.insert(), rows)
    return len(rows)


def evaluate_segments(
    *, db_session: Session, as_of: date, money: Money | None = None
) -> SegmentEvaluation:
    """Evaluate every rule segment as of a date and store its members (idempotent per date).

    A segment whose stored rule no longer parses or compiles is skipped, logged and reported
    in the result's errors; the others are evaluated.
    """
    money = money or Money.default()
    frame = account_frame(
        db_session.connection(), as_of, currency=money.currency, rates=money.rates
    )
    evaluation = SegmentEvaluation()
    for segment in list_segments(db_session=db_session, kind="rule"):
        try:
            members = rule_members(frame, segment.rule or "")
        except RuleError as exc:
            evaluation.errors[segment.name] = _skipped(segment, exc)
            continue
        evaluation.counts[segment.name] = replace_membership(
            db_session=db_session, segment=segment, as_of=as_of, account_ids=members
        )
    return evaluation


def _skipped(segment: Segment, exc: RuleError) -> str:
    """Log that a segment's rule fails and return the reason to show on that segment."""
    log.warning("segment skipped: its rule fails", segment=segment.name, error=str(exc))
    return str(exc)


def latest_run(*, db_session: Session, kind: str, as_of: date) -> date | None:
    """Return the latest date on or before as_of holding members of any segment of a kind."""
    return db_session.scalar(
        select(func.max(SegmentMembership.as_of))
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(Segment.kind == kind, SegmentMembership.as_of <= as_of)
    )


def stored_members(*, db_session: Session, segment: Segment, as_of: date) -> list[int] | None:
    """Return the members stored by the latest run on or before as_of (None if no run).

    A run (evaluate, cluster, grid) stores every segment of its kind for one date, so the run
    date is the latest date holding rows for any segment of this kind; a segment without rows
    on that date (an empty grid cell, a cluster the new k no longer has) has no members.
    """
    latest = latest_run(db_session=db_session, kind=segment.kind, as_of=as_of)
    if latest is None:
        return None
    query = select(SegmentMembership.account_id).where(
        SegmentMembership.segment_id == segment.id, SegmentMembership.as_of == latest
    )
    return sorted(db_session.scalars(query))


@dataclass(frozen=True)
class ValueRiskGrid:
    """The value × risk grid stored by the latest `segments grid` run on or before a date."""

    as_of: date
    rows: list[list[GridCell]]


def value_risk_grid_report(
    *, db_session: Session, as_of: date | None = None, money: Money | None = None
) -> ValueRiskGrid | None:
    """Return accounts and MRR per value × risk cell of the latest stored grid (None if none)."""
    day = latest_run(db_session=db_session, kind="grid", as_of=as_of or today())
    names = [cell_name(v, r) for v in VALUE_TIERS for r in RISK_TIERS]
    query = select(Segment.name, SegmentMembership.account_id).join(
        SegmentMembership, SegmentMembership.segment_id == Segment.id
    )
    rows = db_session.execute(query.where(Segment.name.in_(names), SegmentMembership.as_of == day))
    members: dict[str, list[int]] = {}
    for name, account_id in rows:
        members.setdefault(name, []).append(account_id)
    if day is None or not members:
        return None
    money = money or Money.default()
    billing = account_mrr(db_session.connection(), day, currency=money.currency, rates=money.rates)
    mrr = _major(billing, money.currency)
    return ValueRiskGrid(as_of=day, rows=grid_cells(members, mrr))


def membership_dates(*, db_session: Session, segment: Segment) -> list[date]:
    """Return the dates for which the segment's membership is stored."""
    query = select(SegmentMembership.as_of).where(SegmentMembership.segment_id == segment.id)
    return sorted(set(db_session.scalars(query)))


class _Snapshot:
    """Frames and MRR at the as-of date and a month before, computed once per report."""

    def __init__(self, db_session: Session, as_of: date, money: Money | None) -> None:
        conn = db_session.connection()
        money = money or Money.default()
        priced = {"currency": money.currency, "rates": money.rates}
        self.as_of, self.start = as_of, month_before(as_of)
        self.frame = account_frame(conn, as_of, **priced)
        self.start_frame = account_frame(conn, self.start, **priced)
        self.mrr_end = _major(account_mrr(conn, as_of, **priced), money.currency)
        self.mrr_start = _major(account_mrr(conn, self.start, **priced), money.currency)


def _major(billing: Mapping[int, Mapping[str, Any]], currency: str) -> dict[int, float]:
    return {a: to_major_units(b["mrr"], currency) for a, b in billing.items()}


def _members(db_session: Session, segment: Segment, snap: _Snapshot) -> tuple[list, list]:
    if segment.kind == "rule":
        rule = segment.rule or ""
        return rule_members(snap.frame, rule), rule_members(snap.start_frame, rule)
    now = stored_members(db_session=db_session, segment=segment, as_of=snap.as_of) or []
    start = stored_members(db_session=db_session, segment=segment, as_of=snap.start)
    return now, now if start is None else start


def _report(segment: Segment, members: list[int], start: Collection[int], snap: _Snapshot):
    return {
        "name": segment.name,
        "kind": segment.kind,
        "rule": segment.rule,
        "description": segment.description,
        "as_of": snap.as_of.isoformat(),
        "trailing_month_start": snap.start.isoformat(),
        **segment_figures(members, start, snap.mrr_start, snap.mrr_end),
        "error": None,
    }


def _members_and_report(
    db_session: Session, segment: Segment, snap: _Snapshot
) -> tuple[list[int], dict[str, Any]]:
    """Return a segment's members and report; a failing rule gives no figures and its error."""
    try:
        members, start = _members(db_session, segment, snap)
    except RuleError as exc:
        report = _report(segment, [], [], snap)
        report.update(accounts=None, mrr=None, error=_skipped(segment, exc))
        return [], report
    return members, _report(segment, members, start, snap)


def segment_reports(
    *, db_session: Session, as_of: date | None = None, money: Money | None = None
) -> list[dict[str, Any]]:
    """Return every segment's accounts, MRR, logo churn and NRR over the trailing month."""
    snap = _Snapshot(db_session, as_of or today(), money)
    return [
        _members_and_report(db_session, segment, snap)[1]
        for segment in list_segments(db_session=db_session)
    ]


def segment_detail(
    *, db_session: Session, name: str, as_of: date | None = None, money: Money | None = None
) -> dict[str, Any]:
    """Return one segment's figures, a sample of its members and its stored dates."""
    segment = get_segment(db_session=db_session, name=name)
    snap = _Snapshot(db_session, as_of or today(), money)
    members, report = _members_and_report(db_session, segment, snap)
    wanted = set(members[:SAMPLE_SIZE])
    rows = [r for r in snap.frame.to_pylist() if r["account_id"] in wanted]
    report["members_sample"] = [
        {k: r[k] for k in ("account_id", "external_id", "name", "plan", "mrr")} for r in rows
    ]
    report["history"] = [
        d.isoformat() for d in membership_dates(db_session=db_session, segment=segment)
    ]
    return report


@stage(
    "segments",
    reads=(
        catalog.SEGMENTS,
        catalog.ACCOUNTS,
        catalog.SUBSCRIPTIONS,
        catalog.INVOICES,
        catalog.TICKETS,
        catalog.CHURN_SCORES,
        catalog.HEALTH_SCORES,
    ),
    writes=(catalog.SEGMENT_MEMBERSHIPS,),
)
def segment_memberships(context: StageContext) -> StageSummary:
    """Store which accounts each rule segment holds as of the day."""
    with session_scope(context.engine) as db_session:
        evaluation = evaluate_segments(
            db_session=db_session,
            as_of=context.as_of,
            money=Money.from_settings(context.settings),
        )
    counts, skipped = evaluation.counts, len(evaluation.errors)
    return {"segments": len(counts), "memberships": sum(counts.values()), "skipped": skipped}
