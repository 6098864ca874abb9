"""Roles and the permission matrix (README "API and authentication" writes it out)."""

from __future__ import annotations

ROLES = ("admin", "manager", "csm", "analyst", "viewer")

_READ = (
    "accounts:read",
    "scores:read",
    "metrics:read",
    "segments:read",
    "alerts:read",
    "scorecards:read",
    "rules:read",
    "experiments:read",
    "plays:read",
    "loyalty:read",
    "reports:read",
)

# permission -> roles holding it; "alerts:act" is limited to a csm's own accounts elsewhere.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    **{permission: ROLES for permission in _READ},
    "events:read": ("admin", "manager", "csm", "analyst"),
    "alerts:act": ("admin", "manager", "csm"),
    "messages:read": ("admin", "manager", "csm"),  # a csm: only their own accounts' messages
    "alerts:act_any": ("admin", "manager"),
    "scorecards:write": ("admin", "manager"),
    "rules:write": ("admin", "manager"),
    "experiments:assign": ("admin", "manager"),
    "tasks:read": ("admin", "manager", "csm"),
    "tasks:act": ("admin", "manager", "csm"),
    "tasks:assign": ("admin", "manager"),
    "consent:write": ("admin", "manager"),
    "templates:read": ("admin", "manager"),
    "templates:write": ("admin", "manager"),
    "journeys:read": ("admin", "manager", "csm", "analyst"),
    "risks:read": ("admin", "manager", "csm", "analyst"),
    "journeys:write": ("admin", "manager"),
    "loyalty:redeem": ("admin", "manager", "csm"),
    "loyalty:approve": ("admin", "manager"),
    "users:manage": ("admin",),
    "keys:manage": ("admin",),
    "audit:read": ("admin",),
    "privacy:admin": ("admin",),
}


def can(role: str, permission: str) -> bool:
    """Return whether role holds permission (unknown permissions are held by nobody)."""
    return role in PERMISSIONS.get(permission, ())


def permissions_of(role: str) -> list[str]:
    """Return the permissions a role holds, sorted."""
    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)
