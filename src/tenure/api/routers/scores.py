"""The prediction API: latest health and churn probability, with reasons, per account."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request, Response

from tenure.accounts.models import Account
from tenure.accounts.schemas import MAX_ID
from tenure.api.deps import SessionDep, bearer, requires
from tenure.api.errors import Forbidden, responses
from tenure.api.schemas import ScoreBatchIn, ScoreBatchOut, ScoreOut
from tenure.api.services.accounts import latest_scores
from tenure.api.services.fastscore import score_json
from tenure.auth.roles import can
from tenure.auth.tokens import AuthenticationFailed, decode_access_token

router = APIRouter(tags=["scores"])


@router.get(
    "/v1/accounts/{account_id}/score",
    response_model=ScoreOut,
    summary="Score of one account",
    responses=responses(401, 403, 404),
)
async def score(
    account_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    token: Annotated[str | None, Depends(bearer)] = None,
) -> Response:
    """Return the account's latest health and churn probability with reasons and model version.

    The hot path: the token is checked without a thread hop and one indexed query reads the
    account, both newest scores and the token's revocation.
    """
    if not token:
        raise AuthenticationFailed("this endpoint needs an access token: Authorization: Bearer …")
    principal = decode_access_token(request.app.state.settings, token)
    if not can(principal.role, "scores:read"):
        raise Forbidden(f"the role {principal.role!r} does not have permission 'scores:read'")
    body = score_json(request.app.state.engine, account_id, principal.jti)
    return Response(body, media_type="application/json")


@router.post("/v1/scores:batch", response_model=ScoreBatchOut, summary="Scores of many accounts")
def scores_batch(
    body: ScoreBatchIn, session: SessionDep, _: requires("scores:read")
) -> dict[str, Any]:
    """Return the latest scores of up to 1,000 accounts by id or external id."""
    wanted = sa.or_(Account.id.in_(body.ids), Account.external_id.in_(body.external_ids))
    found = session.execute(sa.select(Account.id, Account.external_id).where(wanted)).all()
    scores = latest_scores(session, [row.id for row in found])
    ids = {row.id for row in found}
    external = {row.external_id for row in found}
    missing = [str(i) for i in body.ids if i not in ids]
    missing += [e for e in body.external_ids if e not in external]
    return {
        "scores": [
            {"account_id": row.id, "external_id": row.external_id, **scores[row.id]}
            for row in found
        ],
        "not_found": missing,
    }
