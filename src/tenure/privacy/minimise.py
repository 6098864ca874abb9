"""Minimisation: direct identifiers are not copied into warehouse event rows (pure).

Features count events per account; no feature needs a person's email, phone or full name, so
those property keys are dropped on the way into the warehouse (the app-DB inbox keeps the
contact's email only until the event is moved, and erasure removes it there).
"""

from __future__ import annotations

import json
from typing import Any

IDENTIFYING_KEYS = (
    "email", "phone", "phone_number", "mobile", "first_name", "last_name", "full_name",
)  # fmt: skip


def minimised(properties: dict[str, Any] | None) -> dict[str, Any]:
    """Return event properties without direct-identifier keys (top level, any case)."""
    return {k: v for k, v in (properties or {}).items() if k.lower() not in IDENTIFYING_KEYS}


def minimised_sql(column: str) -> str:
    """Return DuckDB SQL giving a JSON column without the direct-identifier keys."""
    patch = json.dumps({key: None for key in IDENTIFYING_KEYS})
    variants = ", ".join(
        f'\'{{"{key.upper()}":null,"{key.capitalize()}":null}}\'' for key in IDENTIFYING_KEYS
    )
    cleaned = f"json_merge_patch(CAST({column} AS JSON), '{patch}', {variants})"
    return f"(CASE WHEN {column} IS NULL THEN NULL ELSE {cleaned} END)"
