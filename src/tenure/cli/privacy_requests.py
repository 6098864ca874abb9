"""`tenure privacy export|erase|requests`: subject access, erasure and following a request."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from tenure.cli.context import AppContext, app_context

ContactOpt = Annotated[
    str | None, typer.Option("--contact", help="Contact id, external id or email")
]
AccountOpt = Annotated[str | None, typer.Option("--account", help="Account id or external id")]


def _actor() -> str:
    return os.environ.get("USER", "cli")


def export_command(
    ctx: typer.Context,
    contact: ContactOpt = None,
    account: AccountOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Zip file to write")] = None,
) -> None:
    """Export everything held about a contact or an account as a zip of JSON files."""
    from tenure.auth.service import audit
    from tenure.db.session import session_scope
    from tenure.privacy import export, subjects

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        subject = subjects.resolve(session, contact=contact, account=account)
        data = export.archive(subject, export.collect(session, context.settings, subject))
        audit(session, actor=_actor(), action="privacy_export", target=subject.key)
    path = out or Path(f"tenure-export-{subject.kind}-{subject.id}.zip")
    export.write_archive(path, data)
    typer.echo(f"privacy export: {subject.key} written to {path} ({len(data):,} bytes)")


def erase_command(
    ctx: typer.Context,
    contact: ContactOpt = None,
    account: AccountOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Erase a contact or an account from every copy (app DB, warehouse, files, models)."""
    from tenure.privacy.erasure import erase

    context: AppContext = app_context(ctx)
    result = erase(
        context.settings, context.engine, actor=_actor(), contact=contact, account=account
    )
    if as_json:
        typer.echo(json.dumps(result, default=str))
        return
    again = " (already erased: the first request)" if result.get("repeated") else ""
    typer.echo(f"privacy erase: request {result['id']} {result['status']}{again}")
    for part in ("app_db", "warehouse", "files", "models_flagged_for_retrain"):
        if part in result["report"]:
            typer.echo(f"  {part}: {json.dumps(result['report'][part], default=str)}")


def request_command(
    ctx: typer.Context, request_id: Annotated[str, typer.Argument(help="Request id")]
) -> None:
    """Show a privacy request (export or erasure) and what it did, as JSON."""
    from tenure.db.session import session_scope
    from tenure.errors import NotFound
    from tenure.privacy.erasure import get_request

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        found = get_request(session, request_id)
    if found is None:
        raise NotFound(f"privacy request: no request {request_id!r}")
    typer.echo(json.dumps(found, default=str))


def register_into(privacy_app: typer.Typer) -> None:
    """Add export, erase and request to a given `privacy` group."""
    privacy_app.command("export")(export_command)
    privacy_app.command("erase")(erase_command)
    privacy_app.command("request")(request_command)
