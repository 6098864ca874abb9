"""The hot path of the prediction API: one indexed query per score lookup, no ORM objects."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from tenure.accounts.models import Account
from tenure.auth.models import RevokedToken
from tenure.auth.tokens import AuthenticationFailed
from tenure.churn.models import ChurnScore
from tenure.errors import NotFound
from tenure.health.models import HealthScore

HEALTH = ("as_of", "scorecard", "score", "tier", "reason", "change_7d", "change_30d", "measures")
CHURN = ("as_of", "probability", "risk_tier", "model_version", "horizon_days", "reasons")


def _newest(model: Any) -> Any:
    return (
        sa.select(model.id)
        .where(model.account_id == Account.id)
        .order_by(model.as_of.desc())
        .limit(1)
        .correlate(Account)
        .scalar_subquery()
    )


@lru_cache(maxsize=1)
def score_statement() -> sa.Select:
    """Return the one query: account, newest health, newest churn, and token revocation."""
    health = sa.orm.aliased(HealthScore)
    churn = sa.orm.aliased(ChurnScore)
    revoked = sa.select(RevokedToken.jti).where(RevokedToken.jti == sa.bindparam("jti"))
    columns = [getattr(health, c).label(f"h_{c}") for c in HEALTH]
    columns += [getattr(churn, c).label(f"c_{c}") for c in CHURN]
    return (
        sa.select(
            Account.id, Account.external_id, revoked.exists().label("revoked"), health.id, *columns
        )
        .select_from(Account)
        .outerjoin(health, health.id == _newest(HealthScore))
        .outerjoin(churn, churn.id == _newest(ChurnScore))
        .where(Account.id == sa.bindparam("account_id"))
    )


def _part(row: Any, prefix: str, names: tuple[str, ...]) -> dict[str, Any] | None:
    values = {name: getattr(row, f"{prefix}_{name}") for name in names}
    if values["as_of"] is None:
        return None
    return values


def _default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def score_json(engine: sa.Engine, account_id: int, jti: str | None) -> bytes:
    """Return the score document of an account as JSON bytes; check the token is not revoked."""
    with engine.connect() as conn:
        row = conn.execute(score_statement(), {"account_id": account_id, "jti": jti or ""}).first()
    if row is not None and row.revoked:
        raise AuthenticationFailed("the access token has been revoked")
    if row is None:
        raise NotFound(f"no account with id {account_id}")
    document = {
        "account_id": row.id,
        "external_id": row.external_id,
        "health": _part(row, "h", HEALTH),
        "churn": _part(row, "c", CHURN),
    }
    return json.dumps(document, default=_default, separators=(",", ":")).encode()
