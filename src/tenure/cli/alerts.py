"""`tenure alerts list|show|ack|snooze|resolve|evaluate|deliver|digest|rules`."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from tenure import clock
from tenure.cli.context import AppContext, app_context
from tenure.cli.options import parse_date
from tenure.errors import InputError

# The alert modules and the app-DB session (SQLAlchemy, the churn model, pandas) are imported
# inside the commands that use them, so `tenure alerts --help` and the other commands do not load
# them (start-up time, not an import cycle).

alerts_app = typer.Typer(help="Alerts: inbox, lifecycle, delivery and rules.", no_args_is_help=True)
rules_app = typer.Typer(
    help="Alert rules (data: kind, params, severity, route).", no_args_is_help=True
)
alerts_app.add_typer(rules_app, name="rules")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
Actor = Annotated[str | None, typer.Option("--as", help="Who is acting (default: $USER)")]
DURATION = re.compile(r"(\d+)\s*([wdhms])")
UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def register(app: typer.Typer) -> None:
    """Add the `alerts` commands to the root app."""
    from tenure.cli import alerts_backtest

    alerts_backtest.register_into(alerts_app)
    app.add_typer(alerts_app, name="alerts")


def actor_name(given: str | None) -> str:
    """Return the acting person: --as, else $USER."""
    name = (given or os.environ.get("USER") or "").strip()
    if not name:
        raise InputError("say who is acting with --as NAME ($USER is not set)")
    return name


def parse_duration(text: str) -> timedelta:
    """Return a duration written like 3d, 12h, 1w2d, 90m."""
    compact = text.replace(" ", "").lower()
    parts = DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise InputError(f"--for {text!r} is not a duration; write e.g. 3d, 12h, 1w2d or 90m")
    return sum((timedelta(**{UNITS[u]: int(n)}) for n, u in parts), timedelta())


def parse_until(text: str) -> datetime:
    """Return the end of a snooze: a date (its start, UTC) or an ISO date-time."""
    try:
        if len(text.strip()) == 10:
            return datetime.combine(date.fromisoformat(text.strip()), time(0), UTC)
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--until {text!r} is not a date (YYYY-MM-DD) or date-time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@alerts_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="open, acknowledged, snoozed, resolved or active")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner's alerts")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many")] = 50,
    as_json: AsJson = False,
) -> None:
    """List alerts, newest first."""
    from tenure.alerts import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        alerts = service.list_alerts(session, status=status, owner=owner, limit=limit)
        rows = [service.alert_dict(a) for a in alerts]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    context.out.print(f"{len(rows)} alerts (newest first)")
    for r in rows:
        context.out.print(
            f"#{r['id']} [{r['severity']}] {r['status']} · {r['rule']} · {r['owner']} · "
            f"{r['opened_at'][:16].replace('T', ' ')} — {r['message']}",
            highlight=False,
            markup=False,
        )


@alerts_app.command("show")
def show_command(ctx: typer.Context, alert_id: int, as_json: AsJson = False) -> None:
    """Show one alert with its history."""
    from tenure.alerts import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        alert = service.alert_dict(service.get_alert(session, alert_id))
        alert["history"] = [
            service.history_dict(h) for h in service.alert_history(session, alert_id)
        ]
    if as_json:
        typer.echo(json.dumps(alert, indent=2))
        return
    context.out.print(
        f"#{alert['id']} [{alert['severity']}] {alert['status']} — {alert['message']}",
        highlight=False,
        markup=False,
    )
    context.out.print(
        f"rule {alert['rule']} · owner {alert['owner']}", highlight=False, markup=False
    )
    for h in alert["history"]:
        note = f" ({h['note']})" if h["note"] else ""
        context.out.print(
            f"  {h['at'][:19]} {h['action']} by {h['actor']}{note}", highlight=False, markup=False
        )


def _change(ctx: typer.Context, verb: str, change: Any) -> None:
    from tenure.alerts import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        alert = service.alert_dict(change(session))
    context.out.print(f"alert {alert['id']} {verb}: now {alert['status']}", highlight=False)


@alerts_app.command("ack")
def ack_command(ctx: typer.Context, alert_id: int, actor: Actor = None) -> None:
    """Acknowledge an alert (stops its escalation)."""
    from tenure.alerts import service

    who = actor_name(actor)
    _change(ctx, "acknowledged", lambda s: service.acknowledge(s, alert_id, actor=who))


@alerts_app.command("snooze")
def snooze_command(
    ctx: typer.Context,
    alert_id: int,
    until: Annotated[str | None, typer.Option("--until", help="Date or date-time (UTC)")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="Duration: 3d, 12h, 1w")] = None,
    actor: Actor = None,
) -> None:
    """Snooze an alert until a time; it re-opens then."""
    from tenure.alerts import service

    who = actor_name(actor)
    if (until is None) == (for_ is None):
        raise InputError("give exactly one of --until DATE and --for DURATION")
    end = parse_until(until) if until else clock.now() + parse_duration(for_ or "")
    _change(
        ctx,
        f"snoozed until {end.isoformat()}",
        lambda s: service.snooze(s, alert_id, until=end, actor=who),
    )


@alerts_app.command("resolve")
def resolve_command(ctx: typer.Context, alert_id: int, actor: Actor = None) -> None:
    """Resolve an alert (the rule's cooldown for the account starts)."""
    from tenure.alerts import service

    who = actor_name(actor)
    _change(ctx, "resolved", lambda s: service.resolve(s, alert_id, actor=who))


@alerts_app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (today)")] = None,
    as_json: AsJson = False,
) -> None:
    """Evaluate every rule as of a day, escalate and wake alerts, queue deliveries."""
    from tenure.alerts import flows
    from tenure.alerts.routing import routing_from_settings
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    day = parse_date(as_of, "--as-of") or clock.now().date()
    routing = routing_from_settings(context.settings)
    with session_scope(context.engine) as session:
        day_alerts = flows.evaluate_day(session, context.settings, day, routing)
        changes = flows.tick(session, routing)
    opened = day_alerts.opened
    summary = {
        "as_of": day.isoformat(),
        "opened": sum(opened.values()),
        **changes,
        "by_rule": opened,
        "backlog_skipped": day_alerts.backlog_skipped,
        "failed_rules": day_alerts.failed,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    per_rule = ", ".join(f"{name} {n}" for name, n in opened.items())
    context.out.print(
        f"alerts evaluate {day}: opened {summary['opened']} ({per_rule}); "
        f"woke {changes['woke']}, escalated {changes['escalated']}",
        highlight=False,
    )
    for name, reason in day_alerts.failed.items():
        context.console.print(f"alert rule {name} failed: {reason}", highlight=False, markup=False)


@alerts_app.command("deliver")
def deliver_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Send every due delivery now, in this process (no worker needed)."""
    from tenure.alerts.delivery import deliver_due

    context: AppContext = app_context(ctx)
    report = deliver_due(context.engine, context.settings).as_dict()
    if as_json:
        typer.echo(json.dumps(report))
        return
    context.out.print(
        f"alerts deliver: sent {report['sent']}, retrying {report['retrying']}, "
        f"failed {report['failed']}"
    )


@alerts_app.command("digest")
def digest_command(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (today)")] = None,
) -> None:
    """Queue today's digest email for every owner with active alerts (once a day)."""
    from tenure.alerts import digest
    from tenure.alerts.routing import routing_from_settings
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    when = parse_date(day, "--date") or clock.now().date()
    with session_scope(context.engine) as session:
        queued = digest.queue_digests(session, when, routing_from_settings(context.settings))
    context.out.print(f"alerts digest {when}: {queued} digests queued")


@rules_app.command("list")
def rules_list_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List the alert rules."""
    from tenure.alerts import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        service.ensure_default_rules(session)
        rules = [service.rule_dict(r) for r in service.list_rules(session)]
    if as_json:
        typer.echo(json.dumps(rules, indent=2))
        return
    context.out.print(f"{len(rules)} alert rules")
    for r in rules:
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        escalate = r["escalate_after_hours"]
        context.out.print(
            f"{r['name']}: {r['kind']}({params}) · {r['severity']} · {r['route']} via "
            f"{', '.join(r['channels'])} · cooldown {r['cooldown_hours']} h"
            + (f" · escalate after {escalate} h" if escalate else "")
            + ("" if r["enabled"] else " · DISABLED"),
            highlight=False,
            markup=False,
        )


@rules_app.command("load")
def rules_load_command(ctx: typer.Context, path: Annotated[Path, typer.Argument()]) -> None:
    """Create or replace rules from a TOML file of `\\[\\[rule]]` tables."""
    from tenure.alerts import service
    from tenure.alerts.rules import read_rules_file
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    specs = read_rules_file(path)
    with session_scope(context.engine) as session:
        service.ensure_default_rules(session)
        for spec in specs:
            service.save_rule(session, spec)
    names = ", ".join(s["name"] for s in specs)
    context.out.print(f"alerts rules load: {len(specs)} rules ({names})", highlight=False)


@rules_app.command("delete")
def rules_delete_command(ctx: typer.Context, name: str) -> None:
    """Delete a rule (its alerts stay). To pause a rule, load it with enabled = false."""
    from tenure.alerts import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        service.ensure_default_rules(session)
        service.delete_rule(session, name)
    context.out.print(f"alerts rules delete: {name} deleted")
