"""The dashboard's account pages: query-string filters in, template context out.

Presentation only: every number comes from the account read model (`tenure.accounts.service`),
which the API uses too; MRR is MRR in force (`tenure.accounts.mrr`) in reporting major units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tenure.accounts import schemas
from tenure.accounts import service as accounts
from tenure.accounts.schemas import AccountRow, AccountView, Money, Reader
from tenure.errors import InputError
from tenure.history import service as history
from tenure.metrics.months import month_text
from tenure.rendering import charts

PAGE_SIZE = 25
HISTORY_MONTHS = 12
RECENT = 15
# the dashboard's sort choices: label, and the read model's sort
SORTS = {
    "name": "name",
    "mrr": "mrr desc",
    "risk": "churn desc",
    "at_risk": "MRR at risk desc",
    "health": "health asc",
}
_BOOK_SORTS = {"name": "name", "mrr": "-mrr", "risk": "-churn", "at_risk": "-at_risk"}
_BOOK_SORTS |= {"health": "health"}


@dataclass
class AccountFilters:
    """The accounts list's filters, as given in the query string."""

    q: str = ""
    tier: str = ""
    owner: str = ""
    risk: str = ""
    mrr_min: float | None = None
    mrr_max: float | None = None
    sort: str = "at_risk"
    page: int = 1

    def query(self, **changes: Any) -> dict[str, Any]:
        """Return the filters as query parameters (empty ones left out), with changes applied."""
        values = {**self.__dict__, **changes}
        return {k: v for k, v in values.items() if v not in ("", None)}

    def book(self, page: int) -> schemas.AccountFilters:
        """Return the read model's filters for one page of PAGE_SIZE rows."""
        return schemas.AccountFilters(
            q=self.q, tier=self.tier, owner=self.owner, risk=self.risk,
            mrr_min=self.mrr_min, mrr_max=self.mrr_max, sort=_BOOK_SORTS[self.sort],
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
        )  # fmt: skip


@dataclass
class AccountPage:
    """One page of the accounts list."""

    rows: list[AccountRow]
    total: int
    filters: AccountFilters
    pages: int = 1


def _number(params: Mapping[str, str], name: str) -> float | None:
    text = (params.get(name) or "").strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name} must be a number, got {text!r}") from None
    if value < 0 or value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{name} must be a non-negative number, got {text!r}")
    return value


def parse_filters(params: Mapping[str, str]) -> AccountFilters:
    """Return the filters of a query string, or raise InputError naming the bad parameter."""
    sort = params.get("sort") or "at_risk"
    if sort not in SORTS:
        raise InputError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    page_text = (params.get("page") or "1").strip()
    if not page_text.isdigit() or int(page_text) < 1 or len(page_text) > 6:
        raise InputError(f"page must be a whole number from 1, got {page_text!r}")
    risk = params.get("risk") or ""
    if risk and risk not in ("low", "medium", "high"):
        raise InputError(f"risk must be low, medium or high, got {risk!r}")
    return AccountFilters(
        q=(params.get("q") or "").strip()[:100],
        tier=(params.get("tier") or "").strip()[:32],
        owner=(params.get("owner") or "").strip()[:255],
        risk=risk,
        mrr_min=_number(params, "mrr_min"),
        mrr_max=_number(params, "mrr_max"),
        sort=sort,
        page=int(page_text),
    )


def list_accounts(
    *, db_session: Session, filters: AccountFilters, money: Money, day: date
) -> AccountPage:
    """Return one page of the book (a page past the end shows the last page)."""
    found = accounts.list_accounts(
        db_session=db_session, filters=filters.book(filters.page), money=money, day=day
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    if filters.page > pages:
        filters.page = pages
        found = accounts.list_accounts(
            db_session=db_session, filters=filters.book(pages), money=money, day=day
        )
    return AccountPage(rows=found.rows, total=found.total, filters=filters, pages=pages)


def mrr_labels(view: AccountView) -> list[str]:
    """Return the MRR chart's labels: each month-end's month, then "now"."""
    return ["now" if p.month is None else month_text(p.month) for p in view.mrr_history]


def with_weeks(
    weeks: list[dict[str, Any]], field: str, daily: list[tuple[date, float]]
) -> list[tuple[date, float]]:
    """Return a chart series: the weekly means before the first daily point, then the days."""
    first = daily[0][0] if daily else date.max
    older = [
        (date.fromisoformat(w["week"]), w[field])
        for w in weeks
        if w[field] is not None and date.fromisoformat(w["week"]) < first
    ]
    return older + daily


def account_context(
    *, db_session: Session, account_id: int, reader: Reader, money: Money, today: date
) -> dict[str, Any]:
    """Return the account page's context: the 360 the reader may see, with its charts."""
    view = accounts.account_360(
        db_session=db_session, account_id=account_id, reader=reader, money=money, today=today,
        history=400, months=HISTORY_MONTHS, events=RECENT,
    )  # fmt: skip
    weeks = history.weekly_points(db_session, account_id)  # before the app DB's daily window
    health = with_weeks(weeks, "health_score", [(h.as_of, h.score) for h in view.health_history])
    churn = with_weeks(
        weeks, "churn_probability", [(c.as_of, c.probability) for c in view.churn_history]
    )
    mrr_chart = charts.line_history(
        mrr_labels(view), [p.mrr for p in view.mrr_history], name="MRR", colour="#2563eb"
    )
    health_chart = churn_chart = None
    if len(health) > 1:
        health_chart = charts.line_history(
            [day for day, _ in health], [v for _, v in health],
            name="health", colour="#16a34a", range=[0, 100],
        )  # fmt: skip
    if len(churn) > 1:
        churn_chart = charts.line_history(
            [day for day, _ in churn], [v for _, v in churn], name="churn probability",
            colour="#dc2626", fmt=".1%", tickformat=".0%", rangemode="tozero",
        )  # fmt: skip
    return {
        **view.__dict__,
        "health": view.health,
        "churn": view.churn,
        "subscriptions": view.subscriptions[-8:][::-1],
        "tickets": view.tickets[:RECENT],
        "mrr_chart": mrr_chart,
        "health_chart": health_chart,
        "churn_chart": churn_chart,
    }
