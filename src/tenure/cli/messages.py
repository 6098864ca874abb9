"""`tenure messages`: templates and test sends, and the outbox drain, in one command group."""

from __future__ import annotations

import typer

from tenure.cli import messages_deliver, messages_templates


def register(app: typer.Typer) -> None:
    """Add the `messages` group (templates, send-test, deliver) to the root app."""
    messages_app = typer.Typer(
        help="Messages: templates, test sends, delivery.", no_args_is_help=True
    )
    messages_templates.register_into(messages_app)
    messages_deliver.register_into(messages_app)
    app.add_typer(messages_app, name="messages")
