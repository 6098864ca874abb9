"""The hot path of `POST /v1/loyalty/redemptions`: one connection, Core statements, one commit.

The token's owner (role, active, revoked), the programme in force (parsed once per programme
row), the account and its arm are read first, with no write lock held; the write transaction
then holds only the redemption's statements (tenure.loyalty.rewards) and its audit entry, under
the database's writer lock (tenure.db.writer: on SQLite writers queue instead of sleeping in
the busy handler).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from tenure.accounts.models import Account
from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.auth.tokens import Principal, current_role_on
from tenure.config import Settings
from tenure.db.writer import writer_lock
from tenure.errors import NotFound
from tenure.loyalty.membership import require_member
from tenure.loyalty.models import LoyaltyEnrolment
from tenure.loyalty.rewards import redemption_dict, request_redemption
from tenure.loyalty.service import require_program
from tenure.privacy.audit import append_entry

PERMISSION = "loyalty:redeem"


def _account_statement() -> sa.Select:
    """Return the account by external id, else by numeric id, with its loyalty arm."""
    account, enrolment = Account.__table__, LoyaltyEnrolment.__table__
    by_external = account.c.external_id == sa.bindparam("reference")
    return (
        sa.select(account.c.id, account.c.external_id, enrolment.c.arm)
        .outerjoin(enrolment, enrolment.c.account_id == account.c.id)
        .where(sa.or_(by_external, account.c.id == sa.bindparam("number")))
        .order_by(sa.case((by_external, 0), else_=1))
        .limit(1)
    )


ACCOUNT = _account_statement()


def find_account(connection: sa.Connection, reference: int) -> Any:
    """Return the account (id, external_id, arm) by external id, else by id; NotFound."""
    found = connection.execute(ACCOUNT, {"reference": str(reference), "number": reference}).first()
    if found is None:
        raise NotFound(f"no account {reference!r} (give its external id or numeric id)")
    return found


@contextlib.contextmanager
def _one_writer(engine: sa.Engine, connection: sa.Connection) -> Iterator[None]:
    """Hold the database's writer lock from the first write to the commit (or the rollback)."""
    with writer_lock(engine):
        try:
            yield
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


def redeem_json(
    engine: sa.Engine,
    settings: Settings,
    principal: Principal,
    request: dict[str, Any],
) -> bytes:
    """Redeem for the caller and return the redemption as JSON bytes (committed first).

    request holds account_id, reward_key, idempotency_key and ip.
    """
    with engine.connect() as connection:
        role = current_role_on(connection, principal)
        if not can(role, PERMISSION):
            raise Forbidden(f"the role {role!r} does not have permission {PERMISSION!r}")
        program = require_program(connection)
        account = find_account(connection, request["account_id"])
        with _one_writer(engine, connection):
            if account.arm != "member":  # enrol it now (a write), or StateConflict if held out
                require_member(connection, program, settings, account)
            done = request_redemption(
                connection, program, account, request["reward_key"],
                actor=principal.subject, idempotency_key=request["idempotency_key"],
            )  # fmt: skip
            append_entry(connection, actor=principal.subject, action="loyalty_redeem",
                         target=f"redemption:{done.id}", ip=request["ip"])  # fmt: skip
    return json.dumps(redemption_dict(done), separators=(",", ":")).encode()
