"""Experiments: list, results, and the assign / exposure calls a product makes per unit."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from tenure.api.deps import SessionDep, SettingsDep, get_principal, requires
from tenure.api.errors import Forbidden, responses
from tenure.api.openapi import answers
from tenure.auth.roles import can
from tenure.auth.service import write_key_valid
from tenure.auth.tokens import AuthenticationFailed
from tenure.experiments import results, service
from tenure.experiments.schemas import Method
from tenure.experiments.specs import AssignRequest, AssignResult, ExposureRequest

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])
ExperimentKey = Annotated[str, Path(min_length=1, max_length=64)]


class WriteKeyRefused(AuthenticationFailed):
    """The write key given for an assign call is unknown or revoked."""

    challenge = 'Basic realm="tenure tracking"'


def _basic_user(header: str) -> str | None:
    """Return the user name of an HTTP basic Authorization header (the write key), else None."""
    if not header.lower().startswith("basic "):
        return None
    try:
        return base64.b64decode(header[6:], validate=True).decode("utf-8").split(":")[0] or None
    except (binascii.Error, UnicodeDecodeError):
        return None


@answers(401, 403)
def assign_caller(request: Request, session: SessionDep) -> str:
    """Admit a tracking write key (HTTP basic) or a bearer token of a role that may assign."""
    key = _basic_user(request.headers.get("authorization", ""))
    if key is not None:
        found = write_key_valid(session, key)
        if found is None:
            raise WriteKeyRefused("the write key is not valid")
        return f"write-key:{found.name}"
    token = request.headers.get("authorization", "")
    bearer = token[7:] if token.lower().startswith("bearer ") else None
    principal = get_principal(request, session, bearer)
    if not can(principal.role, "experiments:assign"):
        raise Forbidden(
            f"the role {principal.role!r} does not have permission 'experiments:assign'"
        )
    return principal.subject


AssignCaller = Annotated[str, Depends(assign_caller)]


@router.get("", summary="List experiments")
def list_experiments(
    session: SessionDep,
    _: requires("experiments:read"),
    status: Annotated[str | None, Query(pattern="^(draft|running|stopped)$")] = None,
) -> list[dict[str, Any]]:
    """Return every experiment's definition, newest first."""
    found = service.list_experiments(db_session=session, status=status)
    return [results.describe(e) for e in found]


@router.get("/{key}/results", summary="An experiment's results", responses=responses(404))
def experiment_results(
    key: ExperimentKey,
    session: SessionDep,
    _: requires("experiments:read"),
    method: Method = Method.FREQUENTIST,
) -> dict[str, Any]:
    """Return units per variant, sample-size progress, SRM, lift and interval per metric, decision."""
    return results.experiment_results(db_session=session, key=key, method=method)


@router.post(
    "/{key}/assign",
    response_model=AssignResult,
    summary="Assign a unit",
    responses=responses(404, 409),
)
def assign(
    key: ExperimentKey,
    body: AssignRequest,
    session: SessionDep,
    settings: SettingsDep,
    _: AssignCaller,
) -> AssignResult:
    """Return the unit's variant; idempotent (the first answer sticks). `expose` logs exposure."""
    return service.assign(
        db_session=session, key=key, unit_id=body.unit_id, settings=settings, expose=body.expose
    )


@router.post(
    "/{key}/exposures",
    response_model=AssignResult,
    summary="Record an exposure",
    responses=responses(400, 404, 409),
)
def expose(
    key: ExperimentKey,
    body: ExposureRequest,
    session: SessionDep,
    settings: SettingsDep,
    _: AssignCaller,
) -> AssignResult:
    """Record that the unit saw its variant (first exposure wins); assigns it if needed."""
    return service.assign(
        db_session=session, key=key, unit_id=body.unit_id, settings=settings,
        expose=True, exposed_at=body.exposed_at,
    )  # fmt: skip
