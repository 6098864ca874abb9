"""`tenure risks`: the risk register (account and programme risks), kept by the pipeline."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from tenure.cli.context import app_context
from tenure.errors import InputError

risks_app = typer.Typer(help="The risk register: account and programme risks, with history.")


@risks_app.command("list")
def list_command(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="account or programme")] = None,
    status: Annotated[str, typer.Option(help="open, closed or all")] = "open",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Risks by exposure: likelihood × impact, owner, mitigation, recommended play."""
    from tenure.db.session import session_scope
    from tenure.reports.risks import open_risks

    if kind not in (None, "account", "programme"):
        raise InputError(f"--kind must be account or programme, not {kind!r}")
    if status not in ("open", "closed", "all"):
        raise InputError(f"--status must be open, closed or all, not {status!r}")
    context = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = open_risks(session, kind=kind, status=status)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"Risk register ({status})", box=box.SIMPLE)
    for name in ("risk", "likelihood", "exposure", "owner", "mitigation", "since"):
        table.add_column(name, justify="right" if name in ("likelihood", "exposure") else "left")
    for row in rows:
        likelihood = "" if row["likelihood"] is None else f"{row['likelihood']:.0%}"
        exposure = "" if row["exposure"] is None else f"{row['exposure']:,.0f}"
        table.add_row(row["title"], likelihood, exposure, row["owner"], row["mitigation"],
                      row["opened_on"])  # fmt: skip
    context.out.print(table)
    if not rows:
        context.console.print("no risks; the pipeline's risks stage keeps the register")


def register(app: typer.Typer) -> None:
    """Add the `risks` group to the root app."""
    app.add_typer(risks_app, name="risks")
