"""The dashboard's plays pages: every play with its effect, one play's funnel, the task inbox."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.accounts.schemas import Money, Reader
from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.config import Settings
from tenure.errors import InputError
from tenure.plays import account_plays, effect, service, tasks
from tenure.rendering.charts import FALLBACK, figure
from tenure.web.session import Viewer
from tenure.web.task_actions import SNOOZE_DAYS


def _reader(viewer: Viewer) -> Reader:
    return Reader(role=viewer.role, email=viewer.email)


def _allowed(viewer: Viewer, permission: str) -> None:
    if not can(viewer.role, permission):
        raise Forbidden(f"the role {viewer.role!r} may not read {permission.split(':')[0]}")


def list_context(db: Session, viewer: Viewer, settings: Settings) -> dict[str, Any]:
    """Return every play with its trigger, holdout and measured effect."""
    _allowed(viewer, "plays:read")
    money = Money.from_settings(settings)
    rows = []
    for play in service.list_plays(db):
        runs = service.play_runs(db, play)  # read once: counted here and measured
        row = service.play_dict(play)
        row["treated_runs"] = sum(1 for r in runs if r.arm == "treated")
        row["holdout_runs"] = sum(1 for r in runs if r.arm == "holdout")
        row["effect"] = effect.measure(play, runs, money).as_dict()
        rows.append(row)
    return {"plays": rows, "currency": settings.reporting_currency.upper()}


def funnel_chart(funnel: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Return entered / judged / retained per arm as grouped bars."""
    stages = ["entered", "judged", "retained"]
    data = [
        {"type": "bar", "name": arm, "x": stages, "y": [counts[s] for s in stages],
         "marker": {"color": FALLBACK[i]}}
        for i, (arm, counts) in enumerate(funnel.items())
    ]  # fmt: skip
    return figure(data, barmode="group", yaxis={"title": {"text": "accounts"}})


def detail_context(db: Session, viewer: Viewer, settings: Settings, key: str) -> dict[str, Any]:
    """Return one play: its definition, funnel per arm, effect and ROI, and its open tasks."""
    _allowed(viewer, "plays:read")
    play = service.get_play(db, key)
    runs = service.play_runs(db, play)
    funnel = {}
    for arm in ("treated", "holdout"):
        mine = [r for r in runs if r.arm == arm]
        judged = [r for r in mine if r.status == "ended"]
        funnel[arm] = {"entered": len(mine), "judged": len(judged),
                       "retained": sum(1 for r in judged if r.retained)}  # fmt: skip
    measured = effect.measure(play, runs, Money.from_settings(settings))
    run_ids = {r.id for r in runs}
    found = tasks.list_tasks(db, status="open", limit=500)
    open_tasks = tasks.shown_tasks(
        db, _reader(viewer), [f for f in found if f[0].play_run_id in run_ids]
    )
    return {
        "play": service.play_dict(play),
        "funnel": funnel,
        "funnel_chart": funnel_chart(funnel),
        "effect": measured.as_dict(),
        "tasks": open_tasks if can(viewer.role, "tasks:read") else [],
        "currency": settings.reporting_currency.upper(),
    }


def tasks_context(db: Session, viewer: Viewer, status: str | None) -> dict[str, Any]:
    """Return the viewer's task inbox (a manager sees every CSM's)."""
    _allowed(viewer, "tasks:read")
    if status not in (None, "open", "snoozed", "done"):
        raise InputError(f"status must be open, snoozed or done, got {status!r}")
    owner = viewer.email if viewer.role == "csm" else None
    found = tasks.list_tasks(db, owner=owner, status=status or "open", limit=500)
    return {
        "tasks": tasks.shown_tasks(db, _reader(viewer), found),
        "status": status or "open",
        "outcomes": tasks.OUTCOMES,
        "snooze_days": SNOOZE_DAYS,
    }


def account_panel(
    db: Session, viewer: Viewer, settings: Settings, account_id: int, day: date
) -> dict[str, Any] | None:
    """Return the account 360's plays panel (None when the viewer may not read plays)."""
    if not can(viewer.role, "plays:read"):
        return None
    panel = account_plays.account_plays(db, settings, account_id, day)
    visible = account_plays.visible_tasks(
        panel["tasks"], may_read=can(viewer.role, "tasks:read"), role=viewer.role,
        reader=viewer.email,
    )  # fmt: skip
    account = db.get(Account, account_id)
    panel["tasks"] = tasks.shown_task_lines(db, _reader(viewer), account, visible)
    panel["currency"] = settings.reporting_currency.upper()
    return panel
