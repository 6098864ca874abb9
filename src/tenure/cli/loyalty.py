"""`tenure loyalty program load|balance|grant|rewards|redeem|approve|reject|report|leaderboard…`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

# The loyalty modules and SQLAlchemy are imported inside the commands (start-up time).

loyalty_app = typer.Typer(
    help="Loyalty: points ledger, rewards, tiers, badges, measured against a holdout.",
    no_args_is_help=True,
)
program_app = typer.Typer(help="The loyalty programme (earning rules, tiers, rewards).")
loyalty_app.add_typer(program_app, name="program")

AccountRef = Annotated[str, typer.Argument(help="The account's external id (or numeric id)")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
Actor = Annotated[str | None, typer.Option("--as", help="Who is acting (default: $USER)")]


def _actor(given: str | None) -> str:
    """Return --as, else $USER, else 'cli'."""
    return (given or os.environ.get("USER") or "cli").strip() or "cli"


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, default=str))


@program_app.command("load")
def load_command(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Programme TOML file")] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Load the packaged programme")
    ] = False,
) -> None:
    """Validate and load a programme (TOML), or the packaged B2B one with --defaults."""
    from tenure.db.session import session_scope
    from tenure.loyalty.service import load_program

    if (file is None) == (not defaults):
        raise InputError("give a programme FILE or --defaults (not both)")
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        program, counts = load_program(session, file)
    context.out.print(
        f"loaded [bold]{program.name}[/]: {len(program.rules)} earning rules, "
        f"{len(program.tiers)} tiers, {len(program.badges)} badges; rewards "
        f"{counts['added']} added, {counts['updated']} updated, {counts['retired']} retired"
    )


@loyalty_app.command("balance")
def balance_command(ctx: typer.Context, account: AccountRef, as_json: AsJson = False) -> None:
    """Show an account's points, tier, progress to the next tier, badges and contact wallets."""
    from tenure.accounts.schemas import Money
    from tenure.db.session import session_scope
    from tenure.loyalty.rewards import find_account
    from tenure.loyalty.service import require_program
    from tenure.loyalty.statements import account_summary

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        program = require_program(session)
        money = Money.from_settings(context.settings)
        summary = account_summary(session, program, find_account(session, account), money)
    if as_json:
        _echo_json(summary)
        return
    upper, by_mrr = summary["next_tier"], summary["tier_basis"] == "mrr"
    gap = summary["mrr_to_next_tier"] if by_mrr else summary["points_to_next_tier"]
    unit = f" {money.currency} minor units of MRR" if by_mrr else ""
    progress = f", {gap}{unit} to {upper}" if upper else ""
    contacts = ", ".join(f"{c['external_id']} {c['balance']}" for c in summary["contacts"])
    context.out.print(
        f"{summary['external_id']}: [bold]{summary['balance']}[/] points, tier "
        f"{summary['tier']}{progress}; badges: {', '.join(summary['badges']) or 'none'}"
        + (f"; contact wallets: {contacts}" if contacts else "")
    )


@loyalty_app.command("grant")
def grant_command(
    ctx: typer.Context,
    account: AccountRef,
    points: Annotated[int, typer.Argument(min=1, help="Points to grant")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the ledger)")],
    actor: Actor = None,
) -> None:
    """Grant points to a member account (an adjustment with its own expiring lot)."""
    from tenure.db.session import session_scope
    from tenure.loyalty import ledger
    from tenure.loyalty.membership import require_member
    from tenure.loyalty.rewards import find_account
    from tenure.loyalty.service import require_program

    if not reason.strip():
        raise InputError("--reason must say why the points are granted")
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        program = require_program(session)
        found = find_account(session, account)
        require_member(session, program, context.settings, found)
        ledger.credit(session, found.id, points, program.expiry_months, kind="adjust",
                      reason=reason.strip(), actor=_actor(actor))  # fmt: skip
        balance = ledger.wallet_balance(session, found.id)
    context.out.print(f"granted {points} points to {found.external_id}; balance {balance}")


@loyalty_app.command("rewards")
def rewards_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List the rewards catalogue: key, name, points, stock."""
    from tenure.db.session import session_scope
    from tenure.loyalty.rewards import list_rewards

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        rewards = list_rewards(session)
    if as_json:
        _echo_json(rewards)
        return
    table = Table("key", "name", "kind", "points", "stock")
    for r in rewards:
        table.add_row(r["key"], r["name"], r["kind"], str(r["points"]), str(r["stock"]))
    context.out.print(table)


@loyalty_app.command("redeem")
def redeem_command(
    ctx: typer.Context,
    account: AccountRef,
    reward_key: Annotated[str, typer.Argument(help="The reward's key (see `loyalty rewards`)")],
    actor: Actor = None,
) -> None:
    """Redeem a reward for a member account (dear rewards wait for a manager's approval)."""
    from tenure.db.session import session_scope
    from tenure.loyalty.membership import require_member
    from tenure.loyalty.rewards import find_account, request_redemption
    from tenure.loyalty.service import require_program

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        program = require_program(session)
        found = find_account(session, account)
        require_member(session, program, context.settings, found)
        done = request_redemption(session, program, found, reward_key, actor=_actor(actor))
        status, number, points = done.status, done.id, done.points
    context.out.print(f"redemption {number} of {reward_key} ({points} points): {status}")


def _decide(ctx: typer.Context, redemption_id: int, approve: bool, actor: str | None) -> None:
    from tenure.db.session import session_scope
    from tenure.loyalty.rewards import decide_redemption

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        done = decide_redemption(session, redemption_id, approve=approve, actor=_actor(actor))
        status = done.status
    context.out.print(f"redemption {redemption_id}: {status}")


@loyalty_app.command("approve")
def approve_command(ctx: typer.Context, redemption_id: int, actor: Actor = None) -> None:
    """Approve a pending redemption (takes the points and the stock now)."""
    _decide(ctx, redemption_id, True, actor)


@loyalty_app.command("reject")
def reject_command(ctx: typer.Context, redemption_id: int, actor: Actor = None) -> None:
    """Reject a pending redemption."""
    _decide(ctx, redemption_id, False, actor)


@loyalty_app.command("report")
def report_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Report the programme: members vs holdout on 90-day churn, points books, liability."""
    from tenure.db.session import session_scope
    from tenure.loyalty.report import programme_report
    from tenure.loyalty.service import require_program

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        report = programme_report(session, require_program(session))
    if as_json:
        _echo_json(report)
        return
    table = Table("measure", "value")
    for key, value in report.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    context.out.print(table)


ContactRef = Annotated[str, typer.Argument(help="The contact's external id (or numeric id)")]


@loyalty_app.command("leaderboard")
def leaderboard_command(ctx: typer.Context, account: AccountRef, as_json: AsJson = False) -> None:
    """Show the account's leaderboard: its opted-in contacts ranked by recent points."""
    from tenure.db.session import session_scope
    from tenure.loyalty.leaderboard import account_leaderboard
    from tenure.loyalty.rewards import find_account
    from tenure.loyalty.service import require_program

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        program = require_program(session)
        board = account_leaderboard(session, program, find_account(session, account).id)
    if as_json:
        _echo_json(board)
        return
    table = Table("rank", "contact", "name", "points", "events")
    for line in board:
        table.add_row(str(line["rank"]), line["external_id"], line["name"] or "",
                      str(line["points"]), str(line["events"]))  # fmt: skip
    context.out.print(table if board else "no contact of this account has opted in")


def _choose(ctx: typer.Context, contact: str, opt_in: bool, actor: str | None) -> None:
    from tenure.db.session import session_scope
    from tenure.loyalty.leaderboard import find_contact, set_opt_in

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        found = find_contact(session, contact)
        set_opt_in(session, found, opt_in, _actor(actor))
        external = found.external_id
    context.out.print(f"{external} opted {'in to' if opt_in else 'out of'} the leaderboard")


@loyalty_app.command("opt-in")
def opt_in_command(ctx: typer.Context, contact: ContactRef, actor: Actor = None) -> None:
    """Show a contact on their account's leaderboard (their explicit choice)."""
    _choose(ctx, contact, True, actor)


@loyalty_app.command("opt-out")
def opt_out_command(ctx: typer.Context, contact: ContactRef, actor: Actor = None) -> None:
    """Hide a contact from their account's leaderboard."""
    _choose(ctx, contact, False, actor)


def register(app: typer.Typer) -> None:
    """Add the `loyalty` group to the root app."""
    app.add_typer(loyalty_app, name="loyalty")
