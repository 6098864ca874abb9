"""`tenure messages deliver`: send what is due from the one outbox, then exit."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tenure.cli.context import AppContext, app_context

# The delivery modules (SQLAlchemy, smtplib, httpx) load inside the command, not at start-up.

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
Limit = Annotated[
    int | None, typer.Option("--limit", min=1, help="Handle at most N due deliveries")
]


def deliver_command(ctx: typer.Context, limit: Limit = None, as_json: AsJson = False) -> None:
    """Send every due message (and alert) in the outbox now, in this process; print the counts."""
    from tenure.alerts.delivery import deliver_due

    context: AppContext = app_context(ctx)
    counts = deliver_due(context.engine, context.settings, limit=limit).counts()
    if as_json:
        typer.echo(json.dumps(counts))
        return
    context.out.print(
        "messages deliver: " + ", ".join(f"{name} {count}" for name, count in counts.items()),
        highlight=False,
    )


def register_into(messages_app: typer.Typer) -> None:
    """Add `deliver` to a `messages` command group."""
    messages_app.command("deliver")(deliver_command)


def register(app: typer.Typer) -> None:
    """Add a `messages` group holding `deliver` to the root app."""
    messages_app = typer.Typer(
        help="Messages: templates, test sends, delivery.", no_args_is_help=True
    )
    register_into(messages_app)
    app.add_typer(messages_app, name="messages")
