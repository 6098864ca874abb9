"""`tenure alerts` commands (being built)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `alerts` commands to the root app (none yet)."""
    del app
