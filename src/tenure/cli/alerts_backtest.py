"""`tenure alerts backtest`: each rule replayed on past days, judged against later churn."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.cli.options import parse_date


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def backtest_command(
    ctx: typer.Context,
    end: Annotated[str | None, typer.Option("--end", help="Last day of data (today)")] = None,
    days: Annotated[int, typer.Option("--days", min=0, max=3650, help="Days replayed")] = 182,
    step: Annotated[int, typer.Option("--step", min=1, max=90, help="Days between replays")] = 7,
    horizon: Annotated[int, typer.Option("--horizon", min=7, max=730, help="Churn window")] = 90,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Replay every enabled rule weekly on past days: precision, base rate, lift, alert load."""
    from tenure import clock
    from tenure.accounts.schemas import Money
    from tenure.alerts import flows, service
    from tenure.alerts.backtest import backtest_alert_rules, evaluation_days
    from tenure.db.session import session_scope
    from tenure.history.replay import archived_scores_in, lookback_days
    from tenure.history.store import history_root

    context: AppContext = app_context(ctx)
    last = parse_date(end, "--end") or clock.now().date()
    with session_scope(context.engine) as session:
        service.ensure_default_rules(session)
        first = evaluation_days(last, days, step, horizon)[0]
        first -= timedelta(days=lookback_days(service.list_rules(session)))
        # scores older than the app DB's window are read from the warehouse archive
        with archived_scores_in(session, history_root(context.settings), first, last):
            lines = backtest_alert_rules(
                session,
                Money.from_settings(context.settings),
                end=last,
                days=days,
                step_days=step,
                horizon_days=horizon,
                last_logins=lambda day: flows.last_logins(context.settings, session, day),
            )
    rows = [line.as_dict() for line in lines]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(
        title=f"alert rules replayed over {days} days, churn within {horizon} days", box=box.SIMPLE
    )
    for name in ("rule", "alerts", "churned", "precision", "base rate", "lift", "per CSM / week"):
        table.add_column(name, justify="left" if name == "rule" else "right")
    for row in rows:
        lift = "—" if row["lift"] is None else f"{row['lift']:.2f}×"
        table.add_row(
            row["rule"],
            str(row["alerts"]),
            str(row["churned"]),
            _pct(row["precision"]),
            _pct(row["base_rate"]),
            lift,
            f"{row['alerts_per_csm_per_week']:.2f}",
        )
    context.out.print(table)


def register_into(alerts_app: typer.Typer) -> None:
    """Add `backtest` to the alerts group."""
    alerts_app.command("backtest")(backtest_command)
