"""Reports: ROI measured against holdouts, the risk register, the graded success scorecard."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from tenure import clock
from tenure.api.deps import SessionDep, SettingsDep, requires
from tenure.reports.risks import open_risks
from tenure.reports.roi import roi_lines
from tenure.reports.scorecard import scorecard_dicts

router = APIRouter(tags=["reports"])


@router.get("/v1/reports/roi", summary="ROI per play, journey, loyalty and the programme")
def roi(
    session: SessionDep, settings: SettingsDep, _: requires("reports:read")
) -> list[dict[str, Any]]:
    """Return the ROI lines: MRR kept vs holdout with its interval, cost, ROI, 12-month value."""
    return [line.as_dict() for line in roi_lines(session, settings, clock.now().date())]


@router.get("/v1/reports/scorecard", summary="The success criteria graded A–F")
def scorecard(
    session: SessionDep, settings: SettingsDep, _: requires("reports:read")
) -> list[dict[str, Any]]:
    """Return each criterion's baseline, current figure, change, target, grade and evidence."""
    return scorecard_dicts(session, settings, clock.now().date())


@router.get("/v1/risks", summary="The risk register")
def risks(
    session: SessionDep,
    _: requires("risks:read"),
    kind: Literal["account", "programme"] | None = None,
    status: Literal["open", "closed", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Return risks (open by default): account risks by exposure, then programme risks."""
    return open_risks(session, kind=kind, status=status, limit=limit)
