"""`tenure health show|backtest|fit-weights|scorecards`: account health and how honest it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.cli.options import parse_date
from tenure.errors import NotFound

# The health modules and the app-DB session (SQLAlchemy, scikit-learn) are imported inside the
# functions that use them, so `tenure health --help` and the other commands do not load them
# (start-up time, not an import cycle).

health_app = typer.Typer(
    help="Account health scores, tiers, trends and backtests.", no_args_is_help=True
)
cards_app = typer.Typer(
    help="Scorecards: list, show, load from TOML, delete.", no_args_is_help=True
)
health_app.add_typer(cards_app, name="scorecards")

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Day, YYYY-MM-DD (default: latest scored)")
]
Horizon = Annotated[int, typer.Option("--horizon", min=1, help="Churn window after each day, days")]
Every = Annotated[int, typer.Option("--every", min=1, help="Days between backtest days")]
Count = Annotated[int, typer.Option("--days", min=1, help="How many past days to score")]


def _day(context: AppContext, as_of: str | None) -> Any:
    from tenure.db.session import session_scope
    from tenure.health import service

    day = parse_date(as_of, "--as-of")
    if day is not None:
        return day
    with session_scope(context.engine) as db_session:
        newest = service.newest_day(db_session)
    if newest is None:
        raise NotFound("no health scores yet; run `tenure pipeline run --only health` first")
    return newest


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


@health_app.command("show")
def show_command(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", help="Account external id")] = None,
    as_of: AsOf = None,
    as_json: AsJson = False,
) -> None:
    """Show the tier distribution, or one account's score, measures and history."""
    from tenure.db.session import session_scope
    from tenure.health import service

    context = app_context(ctx)
    day = _day(context, as_of)
    with session_scope(context.engine) as db_session:
        if account is None:
            report = service.tier_overview(db_session, day)
        else:
            report = service.account_history(db_session, account, day)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    elif account is None:
        _print_overview(context, report)
    else:
        _print_account(context, report)


def _print_overview(context: AppContext, report: dict[str, Any]) -> None:
    total = report["accounts"] or 1
    context.out.print(f"health as of {report['as_of']}: {report['accounts']:,} accounts")
    for tier, count in report["tiers"].items():
        context.out.print(f"  {tier:<8} {count:>7,}  {count / total:6.1%}")
    table = Table(title="by scorecard")
    for column in ("scorecard", "accounts", "mean score", "tiers"):
        table.add_column(column)
    for name, card in sorted(report["scorecards"].items()):
        tiers = ", ".join(f"{t} {n}" for t, n in card["tiers"].items())
        table.add_row(name, f"{card['accounts']:,}", f"{card['mean_score']:.1f}", tiers)
    context.out.print(table)


def _print_account(context: AppContext, r: dict[str, Any]) -> None:
    out = context.out
    out.print(
        f"{r['name']} ({r['external_id']}) as of {r['as_of']}: {r['score']:.1f} {r['tier']}"
        f" · scorecard {r['scorecard']} · 7d {_signed(r['change_7d'])} · 30d"
        f" {_signed(r['change_30d'])}",
        highlight=False,
    )
    out.print(f"reason: {r['reason']}", highlight=False)
    if r["missing"]:
        out.print(f"missing (re-weighted): {', '.join(r['missing'])}", highlight=False)
    table = Table(title="measures")
    for column in ("measure", "value", "score", "weight", "points"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for name, m in r["measures"].items():
        value = "missing" if m["value"] is None else f"{m['value']:g}"
        score = "—" if m["score"] is None else f"{m['score']:.0f}"
        table.add_row(name, value, score, f"{m['weight']:g}", f"{m['points']:.1f}")
    out.print(table)
    history = " ".join(f"{h['score']:.0f}" for h in r["history"][-30:])
    out.print(f"last {min(30, len(r['history']))} days: {history}", highlight=False)


@health_app.command("backtest")
def backtest_command(
    ctx: typer.Context,
    horizon: Horizon = 90,
    every: Every = 30,
    days: Count = 6,
    as_json: AsJson = False,
) -> None:
    """Score past days and compare with churn in the following days: AUC, churn per tier."""
    from tenure.health.backtest import run_backtest

    context = app_context(ctx)
    result = run_backtest(
        context.settings, context.engine, horizon=horizon, every=every, count=days
    )
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    out = context.out
    out.print(
        f"health backtest: {result['observations']:,} account-days on {', '.join(result['dates'])};"
        f" churn within {horizon} days {result['churn_rate']:.1%}; AUC {_auc(result['auc'])}",
        highlight=False,
    )
    _print_tiers(context, result["tiers"])
    for name, card in result["scorecards"].items():
        out.print(
            f"  scorecard {name}: {card['accounts']:,} · AUC {_auc(card['auc'])}", highlight=False
        )
    model = result["churn_model"]
    if model is None:
        out.print("churn model: no churn scores on these days to compare with")
    else:
        out.print(
            f"churn model AUC {_auc(model['auc'])} vs health AUC"
            f" {_auc(model['health_auc_same_accounts'])} on the same {model['observations']:,}",
            highlight=False,
        )


def _auc(value: float | None) -> str:
    return "n/a (one outcome only)" if value is None else f"{value:.3f}"


def _print_tiers(context: AppContext, tiers: dict[str, Any]) -> None:
    table = Table(title="churn rate per tier")
    for column in ("tier", "accounts", "churned", "churn rate"):
        table.add_column(column, justify="left" if column == "tier" else "right")
    for tier, t in tiers.items():
        table.add_row(tier, f"{t['accounts']:,}", f"{t['churned']:,}", f"{t['churn_rate']:.1%}")
    context.out.print(table)


@health_app.command("fit-weights")
def fit_weights_command(
    ctx: typer.Context,
    scorecard: Annotated[
        str | None, typer.Option("--scorecard", help="Default: the catch-all")
    ] = None,
    c: Annotated[float, typer.Option("--c", min=1e-6, help="Inverse L2 strength")] = 1.0,
    apply: Annotated[bool, typer.Option("--apply", help="Save the proposed weights")] = False,
    horizon: Horizon = 90,
    every: Every = 30,
    days: Count = 6,
    as_json: AsJson = False,
) -> None:
    """Propose weights from data (regularised logistic regression), backtested out of time."""
    from tenure.db.session import session_scope
    from tenure.health import scorecards
    from tenure.health.backtest import fit_weights

    context = app_context(ctx)
    result = fit_weights(
        context.settings,
        context.engine,
        scorecard=scorecard,
        horizon=horizon,
        every=every,
        count=days,
        c=c,
    )
    if apply:
        with session_scope(context.engine) as db_session:
            scorecards.save_scorecard(db_session, result["proposed_scorecard"])
    result["applied"] = apply
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    out = context.out
    out.print(
        f"scorecard {result['scorecard']}: trained on {', '.join(result['train_dates'])},"
        f" tested on {result['test_date']}",
        highlight=False,
    )
    table = Table(title="weights")
    for column in ("measure", "current", "proposed"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for name, weight in result["proposed_weights"].items():
        table.add_row(name, f"{result['current_weights'][name]:g}", f"{weight:g}")
    out.print(table)
    out.print(
        f"AUC on {result['test_date']}: current {_auc(result['current']['auc'])},"
        f" proposed {_auc(result['proposed']['auc'])}" + (" (applied)" if apply else ""),
        highlight=False,
    )


@cards_app.command("list")
def cards_list_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List the scorecards in force, in the order they are tried."""
    from tenure.db.session import session_scope
    from tenure.health import scorecards

    context = app_context(ctx)
    with session_scope(context.engine) as db_session:
        cards = scorecards.list_scorecards(db_session)
    if as_json:
        typer.echo(json.dumps([c.to_json() for c in cards], indent=2))
        return
    for card in cards:
        applies = card.applies_to
        rule = (
            "everyone else"
            if applies.is_catch_all
            else ", ".join(
                [
                    *(f"lifecycle {s}" for s in applies.lifecycle),
                    *([f"segment {applies.segment}"] if applies.segment else []),
                ]
            )
        )
        measures = ", ".join(f"{m.name} {m.weight:g}" for m in card.measures)
        tiers = ", ".join(f"{t.name} ≤{t.max:g}" for t in card.tiers)
        context.out.print(
            f"{card.priority:>4} {card.name}: {rule} · {measures} · {tiers}", highlight=False
        )


@cards_app.command("show")
def cards_show_command(ctx: typer.Context, name: str) -> None:
    """Print one scorecard as JSON."""
    from tenure.db.session import session_scope
    from tenure.health import scorecards

    context = app_context(ctx)
    with session_scope(context.engine) as db_session:
        card = scorecards.get_scorecard(db_session, name)
    typer.echo(json.dumps(card.to_json(), indent=2))


@cards_app.command("load")
def cards_load_command(ctx: typer.Context, path: Annotated[Path, typer.Argument()]) -> None:
    """Create or replace scorecards from a TOML file of `\\[\\[scorecard]]` tables."""
    from tenure.db.session import session_scope
    from tenure.health import scorecards

    context = app_context(ctx)
    with session_scope(context.engine) as db_session:
        cards = scorecards.load_scorecards_file(db_session, path)
    context.out.print(f"scorecards load: {', '.join(c.name for c in cards)}", highlight=False)


@cards_app.command("delete")
def cards_delete_command(ctx: typer.Context, name: str) -> None:
    """Delete a scorecard."""
    from tenure.db.session import session_scope
    from tenure.health import scorecards

    context = app_context(ctx)
    with session_scope(context.engine) as db_session:
        scorecards.delete_scorecard(db_session, name)
    context.out.print(f"scorecards delete: {name}", highlight=False)


@cards_app.command("template")
def cards_template_command() -> None:
    """Print the default scorecards as TOML (a starting point for your own file)."""
    from tenure.health.defaults import DEFAULT_SCORECARDS_TOML

    typer.echo(DEFAULT_SCORECARDS_TOML.strip())


def register(app: typer.Typer) -> None:
    """Add the `health` group to the root app."""
    app.add_typer(health_app, name="health")
