"""`tenure reports render|schedule`: the weekly executive report and the monthly board pack.

`add_commands(group)` adds them to the `reports` group (tenure.cli.reports calls it);
`register(app)` makes a `reports` group of them alone where that module is not installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import app_context

# SQLAlchemy, the report modules and WeasyPrint load inside the commands (start-up time).

schedule_app = typer.Typer(help="Report schedules: recipients, weekly/monthly cadence, sends.")


def render_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="weekly (executive report) or board (board pack)")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Write the PDF here")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML here")] = None,
) -> None:
    """Render a report as of today to PDF and/or HTML (default: NAME.pdf here)."""
    from tenure import clock
    from tenure.db.session import session_scope
    from tenure.reports.scheduled.schedule import render_report

    context = app_context(ctx)
    pdf = pdf if pdf is not None or html is not None else Path(f"{name}.pdf")
    with session_scope(context.engine) as session:
        rendered = render_report(session, context.settings, name, clock.now().date())
    for path, data in ((pdf, rendered.pdf), (html, rendered.html.encode("utf-8"))):
        if path is not None:
            path.write_bytes(data)
            context.out.print(f"wrote {path} ({len(data):,} bytes)", highlight=False)


@schedule_app.command("list")
def schedule_list(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List the report schedules: recipients, cadence, last period sent."""
    from tenure.db.session import session_scope
    from tenure.reports.scheduled.schedule import WEEKDAYS, list_schedules

    context = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = [
            {"name": s.name, "cadence": s.cadence, "weekday": WEEKDAYS[s.weekday], "day": s.day,
             "hour": s.hour, "recipients": list(s.recipients), "enabled": s.enabled,
             "last_period": s.last_period}
            for s in list_schedules(session)
        ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(box=box.SIMPLE, title="Report schedules (UTC)")
    for column in ("report", "when", "recipients", "enabled", "last sent"):
        table.add_column(column)
    for r in rows:
        when = f"{r['weekday']} {r['hour']:02d}:00" if r["cadence"] == "weekly" else (
            f"day {r['day']} {r['hour']:02d}:00")  # fmt: skip
        table.add_row(r["name"], f"{r['cadence']}, {when}", ", ".join(r["recipients"]) or "—",
                      "yes" if r["enabled"] else "no", r["last_period"] or "—")  # fmt: skip
    context.out.print(table)


@schedule_app.command("set")
def schedule_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="weekly or board")],
    to: Annotated[
        list[str] | None, typer.Option("--to", help="Recipient (repeat); replaces")
    ] = None,
    cadence: Annotated[str | None, typer.Option("--cadence", help="weekly or monthly")] = None,
    weekday: Annotated[str | None, typer.Option("--weekday", help="mon…sun (weekly)")] = None,
    day: Annotated[int | None, typer.Option("--day", help="1–28 (monthly)")] = None,
    hour: Annotated[int | None, typer.Option("--hour", help="0–23 UTC")] = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable")] = None,
) -> None:
    """Create or change a report's schedule."""
    from tenure.db.session import session_scope
    from tenure.reports.scheduled.schedule import set_schedule

    context = app_context(ctx)
    with session_scope(context.engine) as session:
        row = set_schedule(session, name, recipients=to, cadence=cadence, weekday=weekday,
                           day=day, hour=hour, enabled=enabled)  # fmt: skip
        context.out.print(f"{row.name}: {row.cadence} to {', '.join(row.recipients) or 'nobody'}")


@schedule_app.command("run")
def schedule_run(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this report")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Send the current period to who has not had it")
    ] = False,
) -> None:
    """Render and queue the due reports now, then send the outbox (the worker does this hourly)."""
    from tenure import clock
    from tenure.alerts.delivery import deliver_due
    from tenure.db.session import session_scope
    from tenure.reports.scheduled.sending import run_due

    context = app_context(ctx)
    with session_scope(context.engine) as session:
        sent = run_due(session, context.settings, clock.now(), only=name, force=force)
    report = deliver_due(context.engine, context.settings).as_dict()
    for item in sent:
        context.out.print(f"{item['report']} {item['period']}: queued {item['queued']}")
    context.out.print("nothing due" if not sent else f"outbox: {report}", highlight=False)


def add_commands(group: typer.Typer) -> None:
    """Add `render` and the `schedule` group to a `reports` Typer group."""
    group.command("render")(render_command)
    group.add_typer(schedule_app, name="schedule")
