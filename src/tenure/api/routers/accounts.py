"""Accounts: the filtered, sorted list and the 360 view."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from tenure import clock
from tenure.accounts import service
from tenure.accounts.schemas import MAX_ID, AccountFilters, Money, Reader
from tenure.api.deps import SessionDep, SettingsDep, requires
from tenure.api.errors import responses
from tenure.api.schemas import Account360, AccountPage
from tenure.api.services.accounts import account_360_out, page_out
from tenure.history import service as history

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

Sort = Literal[
    "name",
    "-name",
    "mrr",
    "-mrr",
    "health",
    "-health",
    "churn",
    "-churn",
    "created_at",
    "-created_at",
]
AccountId = Annotated[int, Path(ge=1, le=MAX_ID, description="Tenure's account id")]


@router.get("", response_model=AccountPage, summary="List accounts", responses=responses(404))
def accounts(
    session: SessionDep,
    settings: SettingsDep,
    _: requires("accounts:read"),
    tier: Annotated[str | None, Query(max_length=32, description="Health tier")] = None,
    segment: Annotated[str | None, Query(max_length=128, description="Segment name")] = None,
    owner: Annotated[str | None, Query(max_length=255, description="CSM (account owner)")] = None,
    risk: Annotated[Literal["low", "medium", "high"] | None, Query()] = None,
    mrr_min: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    mrr_max: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name or external id")] = None,
    sort: Sort = "name",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Return accounts with MRR, latest health and churn risk; filter, sort and page them."""
    filters = AccountFilters(
        tier=tier or "",
        segment=segment or "",
        owner=owner or "",
        risk=risk or "",
        mrr_min=mrr_min,
        mrr_max=mrr_max,
        q=q or "",
        sort=sort,
        limit=limit,
        offset=offset,
    )
    page = service.list_accounts(
        db_session=session,
        filters=filters,
        money=Money.from_settings(settings),
        day=clock.now().date(),
    )
    return page_out(page)


@router.get(
    "/{account_id}", response_model=Account360, summary="Account 360", responses=responses(404)
)
def account(
    account_id: AccountId,
    session: SessionDep,
    settings: SettingsDep,
    principal: requires("accounts:read"),
) -> dict[str, Any]:
    """Return profile, MRR history, health and churn with reasons, events, tickets, alerts."""
    now = clock.now()
    view = service.account_360(
        db_session=session,
        account_id=account_id,
        reader=Reader(role=principal.role, email=principal.subject),
        money=Money.from_settings(settings),
        today=now.date(),
    )
    return account_360_out(view, now)


@router.get(
    "/{account_id}/score-history",
    summary="Score history of one account: weekly, then daily",
    responses=responses(404),
)
def score_history(
    account_id: AccountId, session: SessionDep, _: requires("scores:read")
) -> dict[str, Any]:
    """Return the account's health and churn history: weeks rolled up, then the daily window."""
    account = service.get_account(db_session=session, account_id=account_id)
    return {"account_id": account.id, **history.score_history(session, account.id)}
