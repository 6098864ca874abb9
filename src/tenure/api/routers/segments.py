"""Segments with their accounts, MRR, logo churn and NRR."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from tenure.accounts.schemas import Money
from tenure.api.deps import SessionDep, SettingsDep, requires
from tenure.api.errors import responses
from tenure.segments import service

router = APIRouter(prefix="/v1/segments", tags=["segments"])


@router.get("", summary="List segments")
def list_segments(
    session: SessionDep, settings: SettingsDep, _: requires("segments:read")
) -> list[dict[str, Any]]:
    """Return every segment's accounts, MRR, logo churn and NRR over the trailing month."""
    return service.segment_reports(db_session=session, money=Money.from_settings(settings))


@router.get("/{name}", summary="One segment", responses=responses(404))
def get_segment(
    name: Annotated[str, Path(min_length=1, max_length=128)],
    session: SessionDep,
    settings: SettingsDep,
    _: requires("segments:read"),
) -> dict[str, Any]:
    """Return one segment's figures, rule, member sample and stored dates."""
    return service.segment_detail(
        db_session=session, name=name, money=Money.from_settings(settings)
    )
