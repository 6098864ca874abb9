"""Smart alerts: the grouped inbox with each account's priority and whether a play can help."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tenure.accounts import service as accounts
from tenure.accounts.schemas import Money
from tenure.alerts.smart_inbox import AlertGroup, GroupPage, grouped_inbox
from tenure.config import Settings
from tenure.plays.account_plays import recommendations
from tenure.plays.next_play import has_positive_play, recommended


def group_page(
    *, db_session: Session, settings: Settings, day: date, status: str | None, owner: str | None,
    page: int = 1, size: int = 50,
) -> GroupPage:  # fmt: skip
    """Return a page of account groups ranked by MRR at risk, with each owner's budget marked."""
    money = Money.from_settings(settings)
    mrr = accounts.mrr_in_force_query(db_session=db_session, day=day, money=money).subquery()
    return grouped_inbox(
        db_session=db_session, mrr=mrr, day=day, budget=settings.alerts_daily_budget,
        status=status, owner=owner, page=page, size=size,
    )  # fmt: skip


def group_dict(group: AlertGroup, money: Money, plays: list[Any]) -> dict[str, Any]:
    """Return a group as JSON-ready values (alerts left as rows for the caller to show)."""
    best = recommended(plays)
    return {
        "account_id": group.account_id,
        "account_name": group.account_name,
        "owner": group.owner,
        "severity": group.severity,
        "priority": {
            "mrr_at_risk": money.major(group.mrr_at_risk),
            "mrr": money.major(group.mrr),
            "churn_probability": group.churn_probability,
            "positive_play": has_positive_play(plays),
        },
        "in_budget": group.in_budget,
        "rank_in_owner": group.rank_in_owner,
        "recommended_play": best.as_dict() if best else None,
        "alerts": group.alerts,
    }


def inbox_groups(
    *, db_session: Session, settings: Settings, day: date, status: str | None, owner: str | None,
    page: int = 1, size: int = 50,
) -> dict[str, Any]:  # fmt: skip
    """Return the smart inbox page: groups with priority, budget and the recommended play."""
    found = group_page(
        db_session=db_session, settings=settings, day=day, status=status, owner=owner,
        page=page, size=size,
    )  # fmt: skip
    money = Money.from_settings(settings)
    plays = recommendations(db_session, settings, day, [g.account_id for g in found.groups])
    return {
        "total": found.total,
        "page": found.page,
        "pages": found.pages,
        "size": found.size,
        "budget": found.budget,
        "groups": [group_dict(g, money, plays.get(g.account_id, [])) for g in found.groups],
    }


def reasons(account_name: str, messages: list[str]) -> list[str]:
    """Return an account's alert messages without the account-name prefix, in order, once each."""
    prefix = f"{account_name}: "
    return list(dict.fromkeys(m.removeprefix(prefix) for m in messages))
