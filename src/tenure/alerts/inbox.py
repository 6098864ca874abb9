"""The alerts inbox: one page of alerts, most severe first, then by the account's MRR in force."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.alerts.models import Alert
from tenure.alerts.rules import SEVERITIES
from tenure.alerts.service import alert_filters
from tenure.errors import InputError

PAGE_SIZE = 50


@dataclass(frozen=True)
class InboxRow:
    """One alert of the inbox and its account's MRR in force (reporting minor units)."""

    alert: Alert
    mrr: int


@dataclass(frozen=True)
class InboxPage:
    """One page of the inbox, the number of matching alerts and where the page starts."""

    rows: list[InboxRow]
    total: int
    page: int
    pages: int
    size: int

    @property
    def first(self) -> int:
        """Return the 1-based position of the page's first alert (0 when empty)."""
        return (self.page - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """Return the 1-based position of the page's last alert (0 when empty)."""
        return self.first + len(self.rows) - 1 if self.rows else 0


def severity_rank() -> sa.ColumnElement[int]:
    """Return the severity's rank (critical 3 … low 0, unknown -1) as a SQL expression."""
    whens = [(Alert.severity == name, rank) for rank, name in enumerate(SEVERITIES)]
    return sa.case(*whens, else_=-1)


def inbox_page(
    *,
    db_session: Session,
    mrr: sa.Subquery,
    status: str | None = "active",
    owner: str | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> InboxPage:
    """Return a page of alerts ordered by severity, then MRR in force, then newest first.

    mrr is a subquery of (account_id, mrr) rows, the account read model's MRR in force; a page
    past the last one shows the last page.
    """
    if page < 1:
        raise InputError(f"page must be 1 or more, got {page}")
    conditions = alert_filters(status, owner)
    total = db_session.scalar(sa.select(sa.func.count()).select_from(Alert).where(*conditions))
    total = total or 0
    pages = max(1, -(-total // size))
    page = min(page, pages)
    money = sa.func.coalesce(mrr.c.mrr, 0)
    query = (
        sa.select(Alert, money)
        .outerjoin(mrr, mrr.c.account_id == Alert.account_id)
        .where(*conditions)
        .order_by(severity_rank().desc(), money.desc(), Alert.opened_at.desc(), Alert.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    rows = [InboxRow(alert, int(value)) for alert, value in db_session.execute(query)]
    return InboxPage(rows=rows, total=total, page=page, pages=pages, size=size)
