"""`tenure users` commands (being built)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `users` commands to the root app (none yet)."""
    del app
