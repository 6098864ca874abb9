"""The dashboard's message templates page: every template and a preview for a chosen account."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tenure.api.errors import Forbidden
from tenure.auth.roles import can
from tenure.config import Settings
from tenure.errors import InputError
from tenure.messaging import preview, templates
from tenure.web.session import Viewer


def templates_context(
    db: Session, viewer: Viewer, settings: Settings, params: dict[str, str]
) -> dict[str, Any]:
    """Return the templates list and, when a template and an account are chosen, its preview."""
    if not can(viewer.role, "templates:read"):
        raise Forbidden(f"the role {viewer.role!r} may not read message templates")
    rows = [
        {"row": row, "versions": count, "email": row.kind == "email"}
        for row, count in templates.list_templates(db)
    ]
    name = (params.get("name") or "").strip()
    account = (params.get("account") or "").strip()
    version = (params.get("version") or "").strip()
    if version and not version.isdigit():
        raise InputError(f"version must be a whole number, got {version!r}")
    rendered = None
    if name and account:
        rendered = preview.preview(
            db, settings, name, account=account, version=int(version) if version else None
        )
    return {
        "templates": rows,
        "chosen": {"name": name, "account": account, "version": version},
        "rendered": rendered,
    }
