"""`tenure messages templates load|list|preview` and `tenure messages send-test`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

# The messaging modules (Jinja2, MJML, the app DB) are imported inside the commands, so
# `tenure messages --help` loads none of them (start-up time, not an import cycle).

templates_app = typer.Typer(help="Message templates: load, list, preview.", no_args_is_help=True)


@templates_app.command("load")
def load_command(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(show_default=False)] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Load the templates shipped with Tenure")
    ] = False,
) -> None:
    """Validate and save templates from a TOML file or directory (or the defaults)."""
    from tenure.db.session import session_scope
    from tenure.messaging import templates

    if (path is None) == (not defaults):
        raise InputError("give either a templates file or directory, or --defaults (not both)")
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        if path is None:
            saved = templates.load_defaults(session, actor="cli")
        else:
            saved = templates.load_path(session, path, actor="cli")
        lines = [
            f"{s.template.name} v{s.template.version}: {'saved' if s.created else 'unchanged'}"
            for s in saved
        ]
    for line in lines:
        context.out.print(line, highlight=False, markup=False)
    added = sum(1 for s in saved if s.created)
    context.out.print(f"templates load: {added} new versions, {len(saved) - added} unchanged")


@templates_app.command("list")
def list_command(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False
) -> None:
    """List templates: newest version, kind, format, purpose, topic."""
    from tenure.db.session import session_scope
    from tenure.messaging import templates

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = [
            {
                "name": row.name,
                "version": row.version,
                "versions": count,
                "kind": row.kind,
                "format": row.format,
                "purpose": row.purpose,
                "topic": row.topic,
                "subject": row.subject,
                "created_at": row.created_at.isoformat(),
            }
            for row, count in templates.list_templates(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    table.add_column("name", no_wrap=True)
    for header in ("version", "versions", "kind", "format", "purpose", "topic"):
        table.add_column(header)
    for row in rows:
        table.add_row(
            row["name"],
            str(row["version"]),
            str(row["versions"]),
            row["kind"],
            row["format"],
            row["purpose"],
            row["topic"] or "",
        )
    context.out.print(table)


@templates_app.command("preview")
def preview_command(
    ctx: typer.Context,
    name: str,
    account: Annotated[str, typer.Option("--account", help="Account id or external id")],
    contact: Annotated[
        str | None, typer.Option("--contact", help="Contact id or external id (default: first)")
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="Version (default: newest)")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the HTML part to this file")
    ] = None,
) -> None:
    """Render a template for a real account and print its subject, preheader and text."""
    from tenure.db.session import session_scope
    from tenure.messaging import preview

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        rendered = preview.preview(
            session, context.settings, name, account=account, contact=contact, version=version
        )
    if html is not None:
        html.write_text(rendered.html or "", encoding="utf-8")
    typer.echo(f"Template: {rendered.template_name} v{rendered.template_version}")
    typer.echo(f"Subject: {rendered.subject}")
    typer.echo(f"Preheader: {rendered.preheader or ''}")
    typer.echo("")
    typer.echo(rendered.text)


def send_test_command(
    ctx: typer.Context,
    template: str,
    to: Annotated[str, typer.Option("--to", help="Address to send the test to")],
    account: Annotated[str, typer.Option("--account", help="Account id or external id")],
    version: Annotated[
        int | None, typer.Option("--version", help="Version (default: newest)")
    ] = None,
) -> None:
    """Send a test of a template, personalised for an account, to an address now."""
    from tenure.alerts.delivery import deliver_due
    from tenure.db.session import session_scope
    from tenure.messaging import preview

    if "@" not in to or any(c in to for c in "\r\n "):
        raise InputError(f"--to must be one email address, got {to!r}")
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        message = preview.queue_test(
            session, context.settings, template, to=to, account=account, version=version
        )
        message_id, status = message.id, message.status
    detail = ""
    if status == "queued":
        deliver_due(context.engine, context.settings)
        with session_scope(context.engine) as session:
            status, detail = _delivery_status(session, message_id)
    line = f"send-test: message {message_id} to {to}: {status}{detail}"
    context.out.print(line, highlight=False, markup=False)
    if status != "sent":
        raise typer.Exit(1)


def _delivery_status(session: Any, message_id: int) -> tuple[str, str]:
    """Return the outbox status of a message's delivery and its last error, if any."""
    import sqlalchemy as sa

    from tenure.alerts.models import AlertDelivery

    row = session.execute(
        sa.select(AlertDelivery.status, AlertDelivery.last_error).where(
            AlertDelivery.message_id == message_id
        )
    ).first()
    if row is None:
        return "not queued", ""
    return row.status, f" ({row.last_error})" if row.last_error else ""


def register_into(messages_app: typer.Typer) -> None:
    """Add `templates` and `send-test` to a `messages` command group."""
    messages_app.add_typer(templates_app, name="templates")
    messages_app.command("send-test")(send_test_command)


def register(app: typer.Typer) -> None:
    """Add a `messages` group holding the template commands to the root app."""
    messages_app = typer.Typer(help="Messages: templates, test sends.", no_args_is_help=True)
    register_into(messages_app)
    app.add_typer(messages_app, name="messages")
