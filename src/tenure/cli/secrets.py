"""`tenure secrets`: webhook and SMTP secrets encrypted in the app DB, and key rotation."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Annotated

import typer

from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# cryptography, SQLAlchemy and the privacy service are imported inside the commands that use
# them, so `tenure secrets --help` does not load them (start-up time).

secrets_app = typer.Typer(
    help="Encrypted webhook and SMTP secrets, and key rotation.", no_args_is_help=True
)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
SECRET_ENV = "TENURE_SECRET_VALUE"


def register(app: typer.Typer) -> None:
    """Add the `secrets` commands to the root app."""
    app.add_typer(secrets_app, name="secrets")


def _secret_value(what: str) -> str:
    value = os.environ.get(SECRET_ENV)
    if value:
        return value
    if not os.isatty(0):
        raise InputError(f"set {SECRET_ENV} or run interactively to be prompted for the {what}")
    return typer.prompt(what, hide_input=True, confirmation_prompt=True)


def _audit(session: Session, action: str, target: str) -> None:
    from tenure.auth.service import audit

    actor = "cli:" + (os.environ.get("USER") or "unknown")
    audit(session, actor=actor, action=action, target=target)


@secrets_app.command("new-key")
def new_key_command() -> None:
    """Print a fresh Fernet key to put first in TENURE_SECRET_KEYS."""
    from tenure.privacy.secrets import new_key

    typer.echo(new_key())


@secrets_app.command("set-webhook")
def set_webhook_command(
    ctx: typer.Context,
    name: str,
    url: Annotated[str, typer.Option("--url", help="The endpoint alerts are POSTed to")],
) -> None:
    """Store an alert webhook (secret from TENURE_SECRET_VALUE or a prompt), encrypted."""
    from tenure.db.session import session_scope
    from tenure.privacy.secrets import put_secret

    if not url.startswith(("https://", "http://")):
        raise InputError(f"--url {url!r} is not an http(s) URL")
    context: AppContext = app_context(ctx)
    value = _secret_value("webhook secret")
    with session_scope(context.engine) as session:
        put_secret(
            session, context.settings, name=name, kind="webhook", value=value, public={"url": url}
        )
        _audit(session, "secret_set", f"webhook:{name}")
    context.out.print(f"secrets set-webhook: {name} stored (encrypted)")


@secrets_app.command("set-smtp")
def set_smtp_command(
    ctx: typer.Context,
    username: Annotated[str, typer.Option("--username", help="The SMTP login name")],
) -> None:
    """Store the SMTP login (password from TENURE_SECRET_VALUE or a prompt), encrypted."""
    from tenure.db.session import session_scope
    from tenure.privacy.secrets import SMTP_NAME, put_secret

    context: AppContext = app_context(ctx)
    value = _secret_value("SMTP password")
    with session_scope(context.engine) as session:
        put_secret(
            session,
            context.settings,
            name=SMTP_NAME,
            kind="smtp",
            value=value,
            public={"username": username},
        )
        _audit(session, "secret_set", SMTP_NAME)
    context.out.print("secrets set-smtp: SMTP login stored (encrypted)")


@secrets_app.command("list")
def list_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List stored secrets: name, kind, public part, dates (never the secret)."""
    from tenure.db.session import session_scope
    from tenure.privacy.secrets import list_secrets

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = list_secrets(session)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        context.out.print(f"{row['name']}\t{row['kind']}\t{json.dumps(row['public'])}")


@secrets_app.command("rotate")
def rotate_command(
    ctx: typer.Context,
    signing_key: Annotated[
        bool,
        typer.Option(
            "--signing-key",
            help="Also start a new token/cookie signing key (the old one verifies"
            " for signing_key_grace_hours)",
        ),
    ] = False,
) -> None:
    """Re-encrypt every stored secret with the newest key of TENURE_SECRET_KEYS."""
    from tenure.auth.keys import rotate_signing_key
    from tenure.db.session import session_scope
    from tenure.privacy.secrets import rotate_secrets

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        count = rotate_secrets(session, context.settings)
        _audit(session, "secrets_rotate", f"{count} stored secrets")
    context.out.print(f"secrets rotate: {count} stored secrets re-encrypted with the newest key")
    if signing_key:
        kept = rotate_signing_key(context.settings)
        with session_scope(context.engine) as session:
            _audit(session, "signing_key_rotate", "secret.key")
        context.out.print(
            f"secrets rotate: new signing key; {kept} retired key(s) still verify for"
            f" {context.settings.signing_key_grace_hours:g} h"
        )
