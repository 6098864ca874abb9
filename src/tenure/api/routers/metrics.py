"""Retention metrics as the pipeline stored them: month summary, movements, cohorts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query

from tenure.api.deps import SessionDep, requires
from tenure.api.errors import responses
from tenure.errors import InputError, NotFound
from tenure.metrics import serving
from tenure.metrics.models import MetricsMonth

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])
# Months from 1900-01 to 9999-12: the pattern admits only real months.
MONTH = r"^(19\d\d|[2-9]\d\d\d)-(0[1-9]|1[0-2])$"
Month = Annotated[str | None, Query(pattern=MONTH, description="YYYY-MM")]


def _month(text: str | None) -> date | None:
    if text is None:
        return None
    year, month = (int(part) for part in text.split("-"))
    if not 1 <= month <= 12 or not 1900 <= year <= 9999:
        raise InputError(f"month must be YYYY-MM with a real month, got {text!r}")
    return date(year, month, 1)


@router.get("/summary", summary="One month's retention figures", responses=responses(404))
def summary(session: SessionDep, _: requires("metrics:read"), month: Month = None) -> dict:
    """Return a month's MRR bridge, churn rates, GRR/NRR, ARPA, LTV (default: the newest)."""
    day = _month(month)
    if day is None:
        day = session.scalar(sa.select(sa.func.max(MetricsMonth.month)))
        if day is None:
            raise NotFound("no metrics stored yet; run `tenure pipeline run`")
    return serving.stored_month(session, day)


@router.get("/movements", summary="MRR movements by month")
def movements(
    session: SessionDep,
    _: requires("metrics:read"),
    start: Annotated[str | None, Query(alias="from", pattern=MONTH)] = None,
    end: Annotated[str | None, Query(alias="to", pattern=MONTH)] = None,
) -> dict[str, Any]:
    """Return the stored months between from and to (inclusive), oldest first."""
    months = serving.stored_months(session, _month(start), _month(end))
    return {"months": months}


@router.get("/cohorts", summary="Signup cohorts", responses=responses(404))
def cohorts(session: SessionDep, _: requires("metrics:read")) -> dict[str, Any]:
    """Return logo and MRR retention by signup-month cohort."""
    return serving.stored_snapshot(session, "cohorts")
