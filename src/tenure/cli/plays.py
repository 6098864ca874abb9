"""`tenure plays` and `tenure tasks`: retention plays, their measured effect, and CSM tasks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.cli.options import parse_date
from tenure.errors import InputError

plays_app = typer.Typer(help="Retention plays: triggers, holdouts, actions and measured effect.")
tasks_app = typer.Typer(help="CSM tasks: each CSM's inbox of follow-ups from plays.")

# SQLAlchemy and the plays modules load inside the commands (CLI start-up time).


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


@plays_app.command("load")
def load_command(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(show_default=False)] = None,
    defaults: Annotated[bool, typer.Option("--defaults", help="Load the packaged plays")] = False,
) -> None:
    """Create or update plays from a TOML file of `\\[\\[play]]` tables, or the defaults."""
    from tenure.db.session import session_scope
    from tenure.plays import service

    if (path is None) == (not defaults):
        raise InputError("give either a plays file or --defaults (not both)")
    with session_scope(app_context(ctx).engine) as session:
        keys = [p.key for p in service.load_plays(session, path)]
    typer.echo(f"loaded {len(keys)} plays: {', '.join(keys)}")


@plays_app.command("list")
def list_command(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List the plays with their trigger, holdout and status."""
    from tenure.db.session import session_scope
    from tenure.plays import service

    with session_scope(app_context(ctx).engine) as session:
        plays = [service.play_dict(p) for p in service.list_plays(session)]
    if as_json:
        _echo_json(plays)
        return
    table = Table(box=box.SIMPLE)
    for name in ("key", "name", "trigger", "holdout", "status"):
        table.add_column(name)
    for play in plays:
        trigger = play["definition"]["trigger"]["kind"]
        table.add_row(play["key"], play["name"], trigger, f"{play['holdout_fraction']:.0%}",
                      play["status"])  # fmt: skip
    Console().print(table)


@plays_app.command("show")
def show_command(ctx: typer.Context, key: str) -> None:
    """Print one play's definition and measured effect as JSON."""
    from tenure.accounts.schemas import Money
    from tenure.db.session import session_scope
    from tenure.plays import effect, service

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        play = service.get_play(session, key)
        runs = service.play_runs(session, play)
        measured = effect.measure(play, runs, Money.from_settings(context.settings))
        _echo_json(service.play_dict(play) | {"effect": measured.as_dict(), "runs": len(runs)})


@plays_app.command("run")
def run_command(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Argument(help="One play (default: every active play)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day (default: today)")] = None,
    account: Annotated[
        list[int] | None, typer.Option("--account", help="Enter this account (manual, repeatable)")
    ] = None,
) -> None:
    """Run plays for a day: admit triggered accounts, split treated/holdout, act on the treated."""
    from tenure import clock
    from tenure.db.session import session_scope
    from tenure.plays import service

    context: AppContext = app_context(ctx)
    day = parse_date(as_of, "--as-of") or clock.now().date()
    if account and key is None:
        raise InputError("--account needs a play KEY")
    with session_scope(context.engine) as session:
        if key is not None:
            play = service.get_play(session, key)
            days = [service.run_play(session, context.settings, play, day, account or None)]
        else:
            days = service.run_plays(session, context.settings, day)
    for result in days:
        typer.echo(
            f"{result.play}: {result.triggered} triggered, {result.eligible} eligible, "
            f"{result.treated} treated, {result.holdout} holdout, "
            f"{result.global_holdout} in the global holdout"
        )


@plays_app.command("report")
def report_command(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Each play's effect on its goal vs its holdout, MRR kept, cost and realised ROI."""
    from tenure.accounts.schemas import Money
    from tenure.db.session import session_scope
    from tenure.plays import effect

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        lines = [
            e.as_dict() for e in effect.play_effects(session, Money.from_settings(context.settings))
        ]
    if as_json:
        _echo_json(lines)
        return
    table = Table(title="plays: treated vs holdout at the goal horizon", box=box.SIMPLE)
    for name in ("play", "treated", "holdout", "effect", "95 % CI", "MRR kept", "cost", "ROI"):
        table.add_column(name, justify="left" if name == "play" else "right")
    for line in lines:
        if not line["measured"]:
            table.add_row(line["play"], str(line["treated"]), str(line["holdout"]),
                          "not measured yet", "", "", f"{line['cost']:,.0f}", "")  # fmt: skip
            continue
        roi = "—" if line["roi"] is None else f"{line['roi']:.1f}×"
        table.add_row(
            line["play"], str(line["treated"]), str(line["holdout"]), f"{line['effect']:+.3f}",
            f"{line['effect_ci_low']:+.3f} … {line['effect_ci_high']:+.3f}",
            f"{line['mrr_kept']:,.0f}", f"{line['cost']:,.0f}", roi,
        )  # fmt: skip
    Console().print(table)


@tasks_app.command("list")
def tasks_list_command(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option("--owner", help="One CSM's inbox")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open, snoozed or done")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List CSM tasks, soonest due first."""
    from tenure.db.session import session_scope
    from tenure.plays import tasks

    if status is not None and status not in ("open", "snoozed", "done"):
        raise InputError(f"--status must be open, snoozed or done, not {status!r}")
    with session_scope(app_context(ctx).engine) as session:
        found = [
            tasks.task_dict(t, a) for t, a in tasks.list_tasks(session, owner=owner, status=status)
        ]
    if as_json:
        _echo_json(found)
        return
    table = Table(box=box.SIMPLE)
    for name in ("id", "due", "owner", "account", "title", "status"):
        table.add_column(name)
    for task in found:
        table.add_row(str(task["id"]), task["due_on"], task["owner"], task["account_name"] or "",
                      task["title"], task["status"])  # fmt: skip
    Console().print(table)


@tasks_app.command("complete")
def tasks_complete_command(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(help="Task id")],
    outcome: Annotated[str, typer.Option("--outcome", help="saved, at_risk, churning, …")],
    notes: Annotated[str | None, typer.Option("--notes")] = None,
    actor: Annotated[str, typer.Option("--as", help="Who completed it")] = "cli",
) -> None:
    """Complete a task with an outcome and notes."""
    from tenure.db.session import session_scope
    from tenure.plays import tasks

    with session_scope(app_context(ctx).engine) as session:
        task = tasks.complete_task(session, tasks.get_task(session, task_id), outcome=outcome,
                                   notes=notes, actor=actor)  # fmt: skip
        typer.echo(f"task {task.id} done: {task.outcome}")


@tasks_app.command("snooze")
def tasks_snooze_command(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(help="Task id")],
    until: Annotated[str, typer.Option("--until", help="The day it is due again (YYYY-MM-DD)")],
) -> None:
    """Hide a task until a day; it reopens then."""
    from tenure.db.session import session_scope
    from tenure.plays import tasks

    day = parse_date(until, "--until")
    assert day is not None  # --until is required
    with session_scope(app_context(ctx).engine) as session:
        task = tasks.snooze_task(session, tasks.get_task(session, task_id), day)
        typer.echo(f"task {task.id} snoozed until {task.snoozed_until}")


@tasks_app.command("assign")
def tasks_assign_command(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(help="Task id")],
    owner: Annotated[str, typer.Option("--owner", help="The new owner's email")],
) -> None:
    """Give a task to another owner."""
    from tenure.db.session import session_scope
    from tenure.plays import tasks

    if not 3 <= len(owner.strip()) <= 255:
        raise InputError("--owner must be 3 to 255 characters")
    with session_scope(app_context(ctx).engine) as session:
        task = tasks.assign_task(session, tasks.get_task(session, task_id), owner)
        typer.echo(f"task {task.id} now owned by {task.owner}")


@plays_app.command("next")
def next_command(
    ctx: typer.Context,
    account_id: Annotated[int, typer.Argument(help="Account id")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day (default today)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the plays an account's churn drivers and health reasons call for, best first."""
    from tenure import clock
    from tenure.accounts.service import get_account
    from tenure.db.session import session_scope
    from tenure.plays.account_plays import recommendations

    context = app_context(ctx)
    day = parse_date(as_of, "--as-of") if as_of else clock.now().date()
    with session_scope(context.engine) as session:
        get_account(db_session=session, account_id=account_id)
        found = recommendations(session, context.settings, day, [account_id])[account_id]
    if as_json:
        _echo_json([c.as_dict() for c in found])
        return
    if not found:
        typer.echo("no mapped reason applies to this account: no play to recommend")
    for rank, candidate in enumerate(found, start=1):
        value = candidate.expected_value
        worth = candidate.note if value is None else f"expected value {value:,.2f}"
        typer.echo(f"{rank}. {candidate.play} ({candidate.when}): {worth}")
        for reason in candidate.reasons:
            typer.echo(f"     - {reason}")


def register(app: typer.Typer) -> None:
    """Add the `plays` and `tasks` groups to the root app."""
    app.add_typer(plays_app, name="plays")
    app.add_typer(tasks_app, name="tasks")
