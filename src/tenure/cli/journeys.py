"""`tenure journeys load|list|show|pause|resume|enrol|tick`: email journeys and their results."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

# The journey modules (SQLAlchemy, the experiments statistics) load inside the commands, so
# `tenure journeys --help` stays fast (start-up time, not an import cycle).

journeys_app = typer.Typer(help="Email journeys: load, list, show, pause, resume, enrol, tick.",
                           no_args_is_help=True)  # fmt: skip

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
Key = Annotated[str, typer.Argument(help="The journey's key")]


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@journeys_app.command("load")
def load_command(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(show_default=False)] = None,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults", help="Load the onboarding, win-back and loyalty journeys shipped"
        ),
    ] = False,
) -> None:
    """Create or update journeys from a TOML/JSON file of `\\[\\[journey]]` tables, or the defaults."""
    from tenure.db.session import session_scope
    from tenure.messaging import journeys_store as store

    if (path is None) == (not defaults):
        raise InputError("give either a journeys file or --defaults (not both)")
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        if path is not None:
            loaded = store.load_journeys_file(session, path)
        else:
            loaded = store.load_default_journeys(session)
    for item in loaded:
        context.out.print(f"{item.key}: {item.action} (version {item.version})", markup=False)
        if item.missing_templates:
            context.out.print(
                f"{item.key}: warning, templates not loaded yet: "
                f"{', '.join(item.missing_templates)} (their sends fail until they are)",
                markup=False,
            )
    context.out.print(f"journeys load: {len(loaded)} journeys")


@journeys_app.command("list")
def list_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List journeys with their trigger, entrants, sends and goal rates (treated, holdout)."""
    from tenure.db.session import session_scope
    from tenure.messaging import journeys_store as store
    from tenure.messaging.journeys_results import journey_summary

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = [journey_summary(session, j) for j in store.list_journeys(session)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Journeys")
    for column in ("key", "status", "trigger", "entered", "active", "sent", "goal treated",
                   "goal holdout"):  # fmt: skip
        table.add_column(
            column, justify="left" if column in ("key", "status", "trigger") else "right"
        )
    for r in rows:
        table.add_row(
            r["key"], r["status"], r["trigger"], f"{r['entered']:,}", f"{r['active']:,}",
            f"{r['sent']:,}", _rate(r["treated_goal_rate"]), _rate(r["holdout_goal_rate"]),
        )  # fmt: skip
    context.out.print(table)


def _print_results(context: AppContext, report: dict[str, Any]) -> None:
    goal = report["goal"]
    context.out.print(
        f"{report['key']} ({report['status']}, version {report['version']}): "
        f"trigger {report['trigger']['kind']}, holdout {report['holdout_fraction']:.0%}",
        markup=False,
    )
    line = (
        f"goal rate: treated {_rate(goal['treated_rate'])}, holdout {_rate(goal['holdout_rate'])}"
    )
    if goal["ci_low"] is not None:
        line += (f"; difference {goal['difference']:+.1%} "
                 f"(95 % CI {goal['ci_low']:+.1%} … {goal['ci_high']:+.1%}, p = {goal['p_value']:.3f})")  # fmt: skip
    context.out.print(line, markup=False)
    table = Table(title="Per step (treated / holdout)")
    table.add_column("step")
    for name in ("entered", "sent", "delivered", "opened", "clicked", "goal", "exited", "unsub"):
        table.add_column(name, justify="right")
    for step in report["steps"]:
        t, h = step["treated"], step["holdout"]
        cells = [f"{t[k]}/{h[k]}" for k in ("entered", "sent", "delivered", "opened", "clicked",
                                            "goal_reached", "exited", "unsubscribed")]  # fmt: skip
        table.add_row(f"{step['step']} ({step['kind']})", *cells)
    context.out.print(table)


@journeys_app.command("show")
def show_command(ctx: typer.Context, key: Key, as_json: AsJson = False) -> None:
    """Show a journey's results per step for treated and holdout, and the goal-rate lift."""
    from tenure.db.session import session_scope
    from tenure.messaging import journeys_store as store
    from tenure.messaging.journeys_results import journey_results

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        report = journey_results(session, store.get_journey(session, key))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _print_results(context, report)


def _set_status(ctx: typer.Context, key: str, status: str) -> None:
    from tenure.db.session import session_scope
    from tenure.messaging import journeys_store as store

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        store.set_status(session, key, status)
    context.out.print(f"{key}: {status}", markup=False)


@journeys_app.command("pause")
def pause_command(ctx: typer.Context, key: Key) -> None:
    """Pause a journey: nobody enters and no step runs until it is resumed."""
    _set_status(ctx, key, "paused")


@journeys_app.command("resume")
def resume_command(ctx: typer.Context, key: Key) -> None:
    """Resume a paused journey (due steps run at the next tick)."""
    _set_status(ctx, key, "active")


@journeys_app.command("enrol")
def enrol_command(
    ctx: typer.Context,
    key: Key,
    contact: Annotated[int, typer.Option("--contact", help="The contact's id", min=1)],
) -> None:
    """Enrol one contact by hand (treated or holdout by the journey's assignment)."""
    from tenure.db.session import session_scope
    from tenure.messaging import journeys_store as store
    from tenure.messaging.journeys_engine import enrol_and_run
    from tenure.messaging.journeys_enrol import enrol_manually

    context: AppContext = app_context(ctx)
    actor = os.environ.get("USER") or "cli"
    with session_scope(context.engine) as session:
        journey = store.get_journey(session, key)
        enrollment = enrol_manually(session, context.settings, journey, contact, actor)
        enrollment_id, arm = enrollment.id, enrollment.arm
    ran = enrol_and_run(context.engine, context.settings, enrollment_id)
    steps = sum(v for k, v in ran.items() if ":" in k)
    context.out.print(
        f"contact {contact} enrolled in {key} (enrollment {enrollment_id}, arm {arm}); "
        f"{steps} steps ran now",
        markup=False,
    )


@journeys_app.command("tick")
def tick_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Advance every journey once: enrol the triggered, end goals and churn, run due steps."""
    from tenure.messaging.journeys_engine import tick

    context: AppContext = app_context(ctx)
    report = tick(context.engine, context.settings)
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    summary = ", ".join(f"{k} {v}" for k, v in sorted(report.items())) or "nothing due"
    context.out.print(f"journeys tick: {summary}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the `journeys` group to the root app."""
    app.add_typer(journeys_app, name="journeys")
