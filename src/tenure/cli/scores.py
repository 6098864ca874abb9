"""`tenure scores top|show`: the daily churn scores and their reasons, from the app DB."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.cli.options import parse_date
from tenure.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tenure.accounts.models import Account
    from tenure.churn.models import ChurnScore

# SQLAlchemy and the score model (whose module loads pandas and SciPy) are imported inside the
# functions that use them, so `tenure scores --help` and the other commands do not load them
# (start-up time, not an import cycle).

scores_app = typer.Typer(help="Churn scores: riskiest accounts and per-account reasons.")


def latest_day(engine: Engine) -> date:
    """Return the newest scored day; raise NotFound when nothing was scored."""
    from sqlalchemy import func, select

    from tenure.churn.models import ChurnScore

    with engine.connect() as conn:
        day = conn.execute(select(func.max(ChurnScore.as_of))).scalar()
    if day is None:
        raise NotFound("no churn scores yet: run `tenure pipeline run --as-of DAY --only scores`")
    return day


def _row(score: ChurnScore, account: Account) -> dict[str, Any]:
    return {
        "account_id": account.id,
        "external_id": account.external_id,
        "name": account.name,
        "owner": account.owner,
        "as_of": score.as_of.isoformat(),
        "probability": round(score.probability, 4),
        "risk_tier": score.risk_tier,
        "model_version": score.model_version,
        "horizon_days": score.horizon_days,
        "reasons": score.reasons,
    }


def top_scores(engine: Engine, day: date, n: int) -> list[dict[str, Any]]:
    """Return the n highest churn probabilities of a day with their accounts."""
    from sqlalchemy import select

    from tenure.accounts.models import Account
    from tenure.churn.models import ChurnScore

    query = (
        select(ChurnScore, Account)
        .join(Account, Account.id == ChurnScore.account_id)
        .where(ChurnScore.as_of == day)
        .order_by(ChurnScore.probability.desc(), Account.external_id)
        .limit(n)
    )
    with engine.connect() as conn:
        from sqlalchemy.orm import Session

        with Session(bind=conn) as session:
            return [_row(s, a) for s, a in session.execute(query)]


def _reason_line(reasons: list[dict[str, Any]], limit: int = 3) -> str:
    marks = [("▲ " if r["contribution"] > 0 else "▼ ") + r["text"] for r in reasons[:limit]]
    return "; ".join(marks)


@scores_app.command("top")
def top_command(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", min=1, help="How many accounts")] = 20,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Scored day (latest)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array")] = False,
) -> None:
    """Show the accounts most likely to churn, with their top reasons."""
    context: AppContext = app_context(ctx)
    day = parse_date(as_of, "--as-of") if as_of else latest_day(context.engine)
    rows = top_scores(context.engine, day, n)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"highest churn risk on {day} ({len(rows)} accounts)")
    for column in ("account", "name", "p(churn)", "tier", "why"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["external_id"], row["name"], f"{row['probability']:.1%}", row["risk_tier"],
            _reason_line(row["reasons"]),
        )  # fmt: skip
    context.out.print(table)


@scores_app.command("show")
def show_command(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="Account external id (or numeric id)")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Scored day (latest)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Show one account's churn score and every reason, strongest first."""
    context: AppContext = app_context(ctx)
    day = parse_date(as_of, "--as-of") if as_of else latest_day(context.engine)
    row = account_score(context.engine, account, day)
    if as_json:
        typer.echo(json.dumps(row, indent=2, default=str))
        return
    context.out.print(
        f"{row['external_id']} {row['name']}: churn probability {row['probability']:.1%} within "
        f"{row['horizon_days']} days ({row['risk_tier']} risk) as of {row['as_of']}, model "
        f"v{row['model_version']}",
        highlight=False,
    )
    for reason in row["reasons"]:
        arrow = "raises" if reason["contribution"] > 0 else "lowers"
        context.out.print(
            f"  {arrow} risk ({reason['contribution']:+.2f}): {reason['text']}", highlight=False
        )


def account_score(engine: Engine, account: str, day: date) -> dict[str, Any]:
    """Return an account's score on a day; raise NotFound when there is none."""
    from sqlalchemy import or_, select

    from tenure.accounts.models import Account
    from tenure.churn.models import ChurnScore

    match = Account.external_id == account
    if account.isdigit():
        match = or_(match, Account.id == int(account))
    query = (
        select(ChurnScore, Account)
        .join(Account, Account.id == ChurnScore.account_id)
        .where(match, ChurnScore.as_of == day)
    )
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        found = session.execute(query).first()
        if found is None:
            raise NotFound(f"no churn score for account {account!r} on {day}")
        return _row(*found)


def register(app: typer.Typer) -> None:
    """Add the `scores` group to the root app."""
    app.add_typer(scores_app, name="scores")
