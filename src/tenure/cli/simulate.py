"""Placeholder for the `simulate` command group (filled in by its module)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add nothing yet."""
