"""Loyalty: an account's points and ledger, the rewards catalogue, redemptions and approvals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tenure.accounts.models import Account
from tenure.accounts.people import lines_for
from tenure.accounts.schemas import MAX_ID, Money, Reader
from tenure.api.deps import SessionDep, SettingsDep, bearer, client_ip, requires
from tenure.api.errors import responses
from tenure.api.openapi import answers
from tenure.api.services.fastredeem import redeem_json
from tenure.auth.service import audit
from tenure.auth.tokens import AuthenticationFailed, Principal, decode_access_token
from tenure.loyalty import leaderboard, rewards, statements
from tenure.loyalty.contact_wallets import contact_summary
from tenure.loyalty.schemas import (
    DecisionIn,
    LeaderboardChoiceIn,
    LeaderboardChoiceOut,
    LeaderboardLineOut,
    LedgerLineOut,
    LoyaltyAccountOut,
    LoyaltyContactOut,
    RedemptionIn,
    RedemptionOut,
    RewardOut,
)
from tenure.loyalty.service import require_program

router = APIRouter(prefix="/v1/loyalty", tags=["loyalty"])
PERSON = ("external_id", "name")
AccountId = Annotated[int, Path(ge=1, le=MAX_ID)]
RedemptionId = Annotated[int, Path(ge=1, le=MAX_ID)]
ContactId = Annotated[int, Path(ge=1, le=MAX_ID)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255,
           description="Repeat a request with the same key to get the same redemption"),
]  # fmt: skip


@router.get("/accounts/{account_id}", response_model=LoyaltyAccountOut,
            summary="An account's loyalty summary", responses=responses(404))  # fmt: skip
def loyalty_account(
    account_id: AccountId,
    session: SessionDep,
    settings: SettingsDep,
    principal: requires("loyalty:read"),
) -> dict[str, Any]:
    """Return balance, tier and progress, badges, expiring points, streak, challenges, contacts."""
    program = require_program(session)
    account = rewards.find_account(session, account_id)
    summary = statements.account_summary(session, program, account, Money.from_settings(settings))
    contacts = _masked(session, principal, account, summary["contacts"], PERSON)
    return {**summary, "contacts": contacts}


@router.get("/contacts/{contact_id}", response_model=LoyaltyContactOut,
            summary="A contact's own wallet", responses=responses(404))  # fmt: skip
def loyalty_contact(
    contact_id: ContactId, session: SessionDep, principal: requires("loyalty:read")
) -> dict[str, Any]:
    """Return the contact's balance, points expiring within 30 days and recent movements."""
    program = require_program(session)
    contact = leaderboard.find_contact(session, contact_id)
    account = rewards.find_account(session, contact.account_id)
    summary = contact_summary(session, contact, program.expiry_months)
    shown = _masked(session, principal, account, [summary], PERSON)[0]
    return {**shown, "ledger": _masked(session, principal, account, summary["ledger"], ("reason",))}


@router.get("/accounts/{account_id}/ledger", response_model=list[LedgerLineOut],
            summary="An account's points ledger", responses=responses(404))  # fmt: skip
def loyalty_ledger(
    account_id: AccountId,
    session: SessionDep,
    principal: requires("loyalty:read"),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[dict[str, Any]]:
    """Return the account's movements of points, newest first (people masked by role)."""
    account = rewards.find_account(session, account_id)
    lines = statements.ledger_lines(session, account.id, limit, offset)
    return _masked(session, principal, account, lines, ("reason",))


@router.get("/accounts/{account_id}/leaderboard", response_model=list[LeaderboardLineOut],
            summary="The account's contact leaderboard (opted-in contacts only)",
            responses=responses(404))  # fmt: skip
def loyalty_leaderboard(
    account_id: AccountId, session: SessionDep, principal: requires("loyalty:read")
) -> list[dict[str, Any]]:
    """Return the account's opted-in contacts ranked by recent points (people masked by role)."""
    program = require_program(session)
    account = rewards.find_account(session, account_id)
    board = leaderboard.account_leaderboard(session, program, account.id)
    return _masked(session, principal, account, board, leaderboard.PERSON_FIELDS)


def _masked(
    session: Any, principal: Principal, account: Account, lines: list, fields: tuple
) -> list[dict[str, Any]]:
    """Return an account's lines with people masked unless the principal may see them."""
    reader = Reader(role=principal.role, email=principal.subject)
    return lines_for(session, reader, [(line, account.id, account.owner) for line in lines], fields)


@router.put("/contacts/{contact_id}/leaderboard", response_model=LeaderboardChoiceOut,
            summary="Opt a contact in to (or out of) their account's leaderboard",
            responses=responses(404))  # fmt: skip
def leaderboard_choice(
    contact_id: ContactId,
    body: LeaderboardChoiceIn,
    request: Request,
    session: SessionDep,
    principal: requires("loyalty:redeem"),
) -> dict[str, Any]:
    """Record the contact's choice; only opted-in contacts appear on a leaderboard."""
    contact = leaderboard.find_contact(session, contact_id)
    leaderboard.set_opt_in(session, contact, body.opt_in, principal.subject)
    action = "loyalty_leaderboard_opt_in" if body.opt_in else "loyalty_leaderboard_opt_out"
    audit(session, actor=principal.subject, action=action, target=f"contact:{contact.id}",
          ip=client_ip(request))  # fmt: skip
    account = session.get(Account, contact.account_id)
    line = {"contact_id": contact.id, "external_id": contact.external_id, "opt_in": body.opt_in}
    return _masked(session, principal, account, [line], ("external_id",))[0]


@router.get("/rewards", response_model=list[RewardOut], summary="The rewards catalogue")
def loyalty_rewards(session: SessionDep, _: requires("loyalty:read")) -> list[dict[str, Any]]:
    """Return the active rewards with their price in points and stock."""
    return rewards.list_rewards(session)


@answers(401)
async def token_caller(
    request: Request, token: Annotated[str | None, Depends(bearer)] = None
) -> Principal:
    """Return the caller by its token's signature and expiry, without a thread hop.

    The owner's current role, its being active and the token's revocation are checked with
    the redemption's own reads (tenure.api.services.fastredeem).
    """
    if not token:
        raise AuthenticationFailed("this endpoint needs an access token: Authorization: Bearer …")
    principal = decode_access_token(request.app.state.settings, token)
    request.state.principal = principal
    return principal


@router.post("/redemptions", response_model=RedemptionOut, summary="Redeem a reward",
             responses=responses(400, 403, 404, 409))  # fmt: skip
async def redeem(
    body: RedemptionIn,
    request: Request,
    principal: Annotated[Principal, Depends(token_caller)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Redeem a reward (409 when the balance or stock is short; dear ones wait for approval).

    Requires loyalty:redeem. The whole redemption is one call in the threadpool: a few Core
    statements and one commit (tenure.api.services.fastredeem).
    """
    wanted = {"account_id": body.account_id, "reward_key": body.reward_key,
              "idempotency_key": idempotency_key, "ip": client_ip(request)}  # fmt: skip
    state = request.app.state
    done = await run_in_threadpool(redeem_json, state.engine, state.settings, principal, wanted)
    return Response(done, media_type="application/json")


@router.get("/redemptions", response_model=list[RedemptionOut], summary="Redemptions")
def list_redemptions(
    session: SessionDep,
    _: requires("loyalty:approve"),
    status: Annotated[str | None, Query(pattern="^(pending|fulfilled|rejected)$")] = None,
) -> list[dict[str, Any]]:
    """Return redemptions, newest first (status=pending: those waiting for approval)."""
    return [rewards.redemption_dict(r) for r in rewards.list_redemptions(session, status)]


def _decide(request: Request, session: Any, principal: Any, redemption_id: int,
            approve: bool, body: DecisionIn | None) -> dict[str, Any]:  # fmt: skip
    done = rewards.decide_redemption(
        session, redemption_id, approve=approve, actor=principal.subject,
        note=body.note if body else None,
    )  # fmt: skip
    action = "loyalty_approve" if approve else "loyalty_reject"
    audit(session, actor=principal.subject, action=action,
          target=f"redemption:{redemption_id}", ip=client_ip(request))  # fmt: skip
    return rewards.redemption_dict(done)


@router.post("/redemptions/{redemption_id}/approve", response_model=RedemptionOut,
             summary="Approve a pending redemption", responses=responses(404, 409))  # fmt: skip
def approve(
    redemption_id: RedemptionId,
    request: Request,
    session: SessionDep,
    principal: requires("loyalty:approve"),
    body: DecisionIn | None = None,
) -> dict[str, Any]:
    """Approve and fulfil a pending redemption (409 if the balance or stock is now short)."""
    return _decide(request, session, principal, redemption_id, True, body)


@router.post("/redemptions/{redemption_id}/reject", response_model=RedemptionOut,
             summary="Reject a pending redemption", responses=responses(404, 409))  # fmt: skip
def reject(
    redemption_id: RedemptionId,
    request: Request,
    session: SessionDep,
    principal: requires("loyalty:approve"),
    body: DecisionIn | None = None,
) -> dict[str, Any]:
    """Reject a pending redemption."""
    return _decide(request, session, principal, redemption_id, False, body)
