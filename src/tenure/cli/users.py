"""`tenure users|clients|keys`: staff users, machine clients and tracking write keys."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.table import Table

from tenure.auth.roles import ROLES
from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

# SQLAlchemy and the auth service (password hashing) are imported inside the commands that use
# them, so `tenure users --help` and the other commands do not load them (start-up time).

users_app = typer.Typer(
    help="Staff users who log in to the API and dashboard.", no_args_is_help=True
)
clients_app = typer.Typer(help="Machine clients (OAuth2 client credentials).", no_args_is_help=True)
keys_app = typer.Typer(help="Write keys for Segment-style tracking.", no_args_is_help=True)

RoleOption = Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _password() -> str:
    password = os.environ.get("TENURE_PASSWORD")
    if password:
        return password
    if not os.isatty(0):
        raise InputError("set TENURE_PASSWORD or run interactively to be prompted for a password")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@users_app.command("create")
def create_user_command(
    ctx: typer.Context,
    email: str,
    role: RoleOption = "viewer",
    exist_ok: Annotated[
        bool, typer.Option("--exist-ok", help="Succeed without change if the user exists")
    ] = False,
) -> None:
    """Create a staff user (password from TENURE_PASSWORD or a prompt)."""
    from tenure.auth import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    if exist_ok and _user_exists(context, email):
        context.out.print(f"users create: {email.strip().lower()} exists (unchanged)")
        return
    password = _password()
    with session_scope(context.engine) as session:
        user = service.create_user(session, email, password, role)
        service.audit(session, actor=_actor(), action="user_create", target=user.email)
        email, role = user.email, user.role
    context.out.print(f"users create: {email} ({role})")


@users_app.command("disable")
def disable_user_command(ctx: typer.Context, email: str) -> None:
    """Disable a user: no more logins or refreshes (an issued access token lapses in minutes)."""
    from tenure.auth import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        user = service.disable_user(session, email)
        service.audit(session, actor=_actor(), action="user_disable", target=user.email)
    context.out.print(f"users disable: {email.strip().lower()}")


@users_app.command("list")
def list_users_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List staff users with role and lock-out state."""
    from sqlalchemy import select

    from tenure.auth.models import User
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = [
            {
                "email": u.email,
                "role": u.role,
                "active": u.active,
                "locked_until": u.locked_until.isoformat() if u.locked_until else None,
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in session.scalars(select(User).order_by(User.email))
        ]
    _print_rows(context, rows, "Users", as_json)


@clients_app.command("create")
def create_client_command(ctx: typer.Context, name: str, role: RoleOption = "viewer") -> None:
    """Create a machine client; prints its id and secret once."""
    from tenure.auth import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        client, secret = service.create_client(session, name, role)
        service.audit(session, actor=_actor(), action="client_create", target=client.client_id)
        client_id = client.client_id
    typer.echo(json.dumps({"client_id": client_id, "client_secret": secret, "role": role}))


@clients_app.command("disable")
def disable_client_command(ctx: typer.Context, client_id: str) -> None:
    """Disable a machine client: it can no longer get tokens."""
    from tenure.auth import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        service.disable_client(session, client_id)
        service.audit(session, actor=_actor(), action="client_disable", target=client_id)
    context.out.print(f"clients disable: {client_id}")


@clients_app.command("list")
def list_clients_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List machine clients (never their secrets)."""
    from sqlalchemy import select

    from tenure.auth.models import ApiClient
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = [
            {"client_id": c.client_id, "name": c.name, "role": c.role, "active": c.active}
            for c in session.scalars(select(ApiClient).order_by(ApiClient.name))
        ]
    _print_rows(context, rows, "Clients", as_json)


@keys_app.command("create")
def create_key_command(ctx: typer.Context, name: str) -> None:
    """Create a tracking write key; prints the key once."""
    from tenure.auth import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        row, key = service.create_write_key(session, name)
        service.audit(session, actor=_actor(), action="write_key_create", target=row.name)
    typer.echo(json.dumps({"name": name.strip(), "write_key": key}))


@keys_app.command("revoke")
def revoke_key_command(ctx: typer.Context, name: str) -> None:
    """Revoke a write key: tracking calls with it get 401 from now on."""
    from tenure.auth import service
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        service.revoke_write_key(session, name)
        service.audit(session, actor=_actor(), action="write_key_revoke", target=name)
    context.out.print(f"keys revoke: {name}")


@keys_app.command("list")
def list_keys_command(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List write keys by name and prefix."""
    from sqlalchemy import select

    from tenure.auth.models import WriteKey
    from tenure.db.session import session_scope

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        rows = [
            {"name": k.name, "prefix": k.prefix, "revoked": k.revoked_at is not None}
            for k in session.scalars(select(WriteKey).order_by(WriteKey.name))
        ]
    _print_rows(context, rows, "Write keys", as_json)


def _user_exists(context: AppContext, email: str) -> bool:
    from sqlalchemy import select

    from tenure.auth.models import User
    from tenure.db.session import session_scope

    with session_scope(context.engine) as session:
        found = session.scalar(select(User.id).where(User.email == email.strip().lower()))
    return found is not None


def _actor() -> str:
    return "cli:" + (os.environ.get("USER") or "unknown")


def _print_rows(context: AppContext, rows: list[dict], title: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=title)
    for column in rows[0] if rows else ["(none)"]:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    context.out.print(table)


def register(app: typer.Typer) -> None:
    """Add the `users`, `clients` and `keys` groups to the root app."""
    app.add_typer(users_app, name="users")
    app.add_typer(clients_app, name="clients")
    app.add_typer(keys_app, name="keys")
