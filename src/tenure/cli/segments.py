"""`tenure segments load|evaluate|list|show|delete|cluster|grid`: segments and their figures."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError, NotFound

# The segment modules and the app-DB session (SQLAlchemy, DuckDB, scikit-learn) are imported
# inside the functions that use them, so `tenure segments --help` and the other commands do not
# load them (start-up time, not an import cycle).

segments_app = typer.Typer(help="Rule segments, clusters, value × risk grid.", no_args_is_help=True)

AsOf = Annotated[str | None, typer.Option("--as-of", help="Date, YYYY-MM-DD (default: today)")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def parse_as_of(text: str | None) -> date:
    """Return the --as-of date, today by the clock when absent."""
    from tenure.segments import service

    if text is None:
        return service.today()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--as-of must be a date written YYYY-MM-DD, got {text!r}") from None


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@segments_app.command("load")
def load_command(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(show_default=False)] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Load the segments shipped with Tenure")
    ] = False,
) -> None:
    """Create or update segments from a TOML file of `\\[\\[segment]]` tables, or the defaults."""
    from tenure.db.session import session_scope
    from tenure.segments import service

    if (path is None) == (not defaults):
        raise InputError("give either a segments file or --defaults (not both)")
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        if path is not None:
            names = [s.name for s in service.load_segments_file(db_session=db_session, path=path)]
            skipped = {}
        else:
            result = service.load_default_segments(db_session=db_session)
            names, skipped = result.loaded, result.skipped
    context.out.print(f"segments load: {len(names)} segments ({', '.join(names)})")
    for name, why in skipped.items():
        context.out.print(f"{name}: skipped, {why}", highlight=False, markup=False)


@segments_app.command("evaluate")
def evaluate_command(ctx: typer.Context, as_of: AsOf = None) -> None:
    """Evaluate every rule segment as of a date; re-running a date replaces its membership."""
    from tenure.accounts.schemas import Money
    from tenure.db.session import session_scope
    from tenure.segments import service

    context: AppContext = app_context(ctx)
    day = parse_as_of(as_of)
    with session_scope(context.engine) as db_session:
        evaluation = service.evaluate_segments(
            db_session=db_session, as_of=day, money=Money.from_settings(context.settings)
        )
    for name, count in evaluation.counts.items():
        context.out.print(f"{name}: {count} accounts as of {day.isoformat()}")
    for name, error in evaluation.errors.items():
        context.out.print(f"{name}: skipped, {error}", highlight=False, markup=False)
    summary = f"segments evaluate: {len(evaluation.counts)} rule segments as of {day.isoformat()}"
    skipped = (
        f", {len(evaluation.errors)} skipped (fix or delete them)" if evaluation.errors else ""
    )
    context.out.print(summary + skipped)


@segments_app.command("list")
def list_command(ctx: typer.Context, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """List every segment with accounts, MRR, logo churn and NRR over the trailing month."""
    from tenure.accounts.schemas import Money
    from tenure.db.session import session_scope
    from tenure.segments import service

    context: AppContext = app_context(ctx)
    day = parse_as_of(as_of)
    currency = context.settings.reporting_currency
    with session_scope(context.engine) as db_session:
        reports = service.segment_reports(
            db_session=db_session, as_of=day, money=Money.from_settings(context.settings)
        )
    if as_json:
        typer.echo(json.dumps(reports, indent=2))
        return
    table = Table(title=f"Segments as of {day.isoformat()} ({currency}; trailing month)")
    for column in ("name", "kind", "accounts", "mrr", "logo churn", "nrr"):
        table.add_column(column, justify="left" if column in ("name", "kind") else "right")
    for r in reports:
        if r["error"]:
            table.add_row(r["name"], r["kind"], "rule error", "—", "—", "—")
            continue
        table.add_row(
            r["name"],
            r["kind"],
            f"{r['accounts']:,}",
            f"{r['mrr']:,.2f}",
            _rate(r["logo_churn_rate"]),
            _rate(r["nrr"]),
        )
    context.out.print(table)
    for r in reports:
        if r["error"]:
            context.out.print(f"{r['name']}: {r['error']}", highlight=False, markup=False)


@segments_app.command("show")
def show_command(
    ctx: typer.Context, name: str, as_of: AsOf = None, as_json: AsJson = False
) -> None:
    """Show one segment: its rule, the four figures and a sample of members."""
    from tenure.accounts.schemas import Money
    from tenure.db.session import session_scope
    from tenure.segments import service

    context: AppContext = app_context(ctx)
    day = parse_as_of(as_of)
    currency = context.settings.reporting_currency
    with session_scope(context.engine) as db_session:
        report = service.segment_detail(
            db_session=db_session, name=name, as_of=day, money=Money.from_settings(context.settings)
        )
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _print_detail(context, report, currency)


@segments_app.command("delete")
def delete_command(ctx: typer.Context, name: str) -> None:
    """Delete a segment and its membership history (e.g. one whose rule no longer works)."""
    from tenure.db.session import session_scope
    from tenure.segments import service

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        try:
            service.delete_segment(db_session=db_session, name=name)
        except NotFound as exc:
            raise InputError(str(exc)) from None
    context.out.print(f"segments delete: {name} deleted")


def _print_detail(context: AppContext, report: dict[str, Any], currency: str) -> None:
    out = context.out
    out.print(f"[bold]{report['name']}[/] ({report['kind']}) as of {report['as_of']}")
    if report["rule"]:
        out.print(f"rule: {report['rule']}", highlight=False)
    if report["description"]:
        out.print(report["description"], highlight=False)
    if report["error"]:
        out.print(f"skipped: {report['error']}", highlight=False, markup=False)
        return
    out.print(
        f"accounts {report['accounts']:,} · MRR {report['mrr']:,.2f} {currency} · logo churn "
        f"{_rate(report['logo_churn_rate'])} · NRR {_rate(report['nrr'])} (trailing month from "
        f"{report['trailing_month_start']})"
    )
    table = Table(title="members (sample)")
    for column in ("account_id", "external_id", "name", "plan", "mrr"):
        table.add_column(column)
    for m in report["members_sample"]:
        table.add_row(*(str(m[c]) for c in ("account_id", "external_id", "name", "plan", "mrr")))
    out.print(table)


@segments_app.command("cluster")
def cluster_command(
    ctx: typer.Context,
    k_min: Annotated[int, typer.Option("--k-min", help="Fewest clusters to try")] = 2,
    k_max: Annotated[int, typer.Option("--k-max", help="Most clusters to try")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="KMeans random seed")] = 0,
    as_of: AsOf = None,
    as_json: AsJson = False,
) -> None:
    """Cluster accounts on standardised usage/billing metrics; store clusters as segments."""
    from tenure.db.session import session_scope
    from tenure.segments import behaviour

    context: AppContext = app_context(ctx)
    day = parse_as_of(as_of)
    with session_scope(context.engine) as db_session:
        metrics = _account_metrics(context, db_session, day)
        result = behaviour.store_clusters(
            db_session=db_session, as_of=day, metrics=metrics, k_min=k_min, k_max=k_max, seed=seed
        )
    if as_json:
        payload = {"k": result.k, "silhouettes": result.silhouettes, "clusters": result.profiles}
        typer.echo(json.dumps(payload, indent=2))
        return
    scores = ", ".join(f"k={k}: {v:.3f}" for k, v in result.silhouettes.items())
    context.out.print(f"segments cluster: k = {result.k} by silhouette ({scores})")
    for p in result.profiles:
        context.out.print(f"cluster-{p['label']}: {p['accounts']} accounts, {p['profile']}")


def _account_metrics(context: AppContext, db_session: Any, day: Any) -> Any:
    """Return the standardisable usage/billing metrics per account as of day."""
    from tenure.accounts.schemas import Money
    from tenure.segments import behaviour
    from tenure.segments.usage import warehouse_usage

    usage = warehouse_usage(context.settings, day)
    return behaviour.account_metrics(
        db_session=db_session, as_of=day, usage=usage, money=Money.from_settings(context.settings)
    )


@segments_app.command("grid")
def grid_command(ctx: typer.Context, as_of: AsOf = None) -> None:
    """Store the value × risk grid (churn model risk, else usage-trend proxy) and RFM groups."""
    from tenure.db.session import session_scope
    from tenure.segments import behaviour

    context: AppContext = app_context(ctx)
    day = parse_as_of(as_of)
    with session_scope(context.engine) as db_session:
        metrics = _account_metrics(context, db_session, day)
        counts = behaviour.store_grid(db_session=db_session, as_of=day, metrics=metrics)
    for name, count in counts.items():
        context.out.print(f"{name}: {count} accounts")
    context.out.print(f"segments grid: {behaviour.GRID_NOTE}")


def register(app: typer.Typer) -> None:
    """Add the `segments` group to the root app."""
    app.add_typer(segments_app, name="segments")
