"""`tenure privacy consent show|set`: a contact's consent per purpose and topic, and its changes.

The privacy issue owns the `privacy` group; this module adds its `consent` commands through
`register_into(privacy_app)`, and `register(app)` creates the group to test them alone.
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.errors import NotFound

consent_app = typer.Typer(
    help="Consent per contact, channel and purpose (marketing, transactional, topics).",
    no_args_is_help=True,
)
ContactArg = Annotated[str, typer.Argument(help="Contact id, external id or email")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _contact(session, ref: str):
    """Return the contact a reference names: numeric id, external id or email."""
    import sqlalchemy as sa

    from tenure.accounts.models import Contact

    query = sa.select(Contact).where(
        sa.or_(Contact.external_id == ref, sa.func.lower(Contact.email) == ref.strip().lower())
    )
    found = session.get(Contact, int(ref)) if ref.isdigit() else None
    found = found or session.scalars(query.order_by(Contact.id)).first()
    if found is None:
        raise NotFound(f"privacy consent: no contact with id, external id or email {ref!r}")
    return found


def _print_state(context: AppContext, contact, state: dict, as_json: bool) -> None:
    if as_json:
        payload = {"contact_id": contact.id, "email": contact.email, "consent": state}
        typer.echo(json.dumps(payload))
        return
    table = Table(title=f"Consent of {contact.email or contact.external_id} (email)")
    for column in ("purpose", "granted", "source", "at", "text_version"):
        table.add_column(column)
    for purpose, row in sorted(state.items()):
        table.add_row(
            purpose, "yes" if row["granted"] else "no", row["source"], str(row["at"] or "—"),
            row["text_version"] or "—",
        )  # fmt: skip
    context.out.print(table)


@consent_app.command("show")
def show_command(ctx: typer.Context, contact: ContactArg, as_json: AsJson = False) -> None:
    """Show the consent in force for a contact, per purpose and topic."""
    from tenure.db.session import session_scope
    from tenure.messaging import consent

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as session:
        row = _contact(session, contact)
        _print_state(context, row, consent.consent_state(session, row), as_json)


@consent_app.command("set")
def set_command(
    ctx: typer.Context,
    contact: ContactArg,
    granted: Annotated[bool, typer.Option("--grant/--revoke", help="Grant or withdraw consent")],
    purpose: Annotated[
        str, typer.Option("--purpose", help="marketing, transactional or a topic")
    ] = "marketing",
    text_version: Annotated[
        str | None, typer.Option("--text-version", help="Version of the consent wording")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Record a consent decision for a contact (source cli); the newest decision holds."""
    from tenure.auth.service import audit
    from tenure.db.session import session_scope
    from tenure.messaging import consent

    context: AppContext = app_context(ctx)
    actor = os.environ.get("USER", "cli")
    with session_scope(context.engine) as session:
        row = _contact(session, contact)
        consent.record_consent(
            session, row, purpose=purpose, granted=granted, source="cli",
            text_version=text_version, actor=actor,
        )  # fmt: skip
        audit(
            session, actor=actor, action="consent_record", target=f"contact:{row.id}",
            detail={"purpose": purpose, "granted": granted},
        )  # fmt: skip
        _print_state(context, row, consent.consent_state(session, row), as_json)


def register_into(privacy_app: typer.Typer) -> None:
    """Add the `consent` commands to a given `privacy` group."""
    privacy_app.add_typer(consent_app, name="consent")


def register(app: typer.Typer) -> None:
    """Create the `privacy` group (consent, export, erase, request) and add it to the root app."""
    from tenure.cli import privacy_requests

    privacy_app = typer.Typer(
        help="Privacy: consent, subject access exports and erasure.", no_args_is_help=True
    )
    register_into(privacy_app)
    privacy_requests.register_into(privacy_app)
    app.add_typer(privacy_app, name="privacy")
