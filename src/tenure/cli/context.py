"""What every command needs: settings, the app-DB engine, a console."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from tenure.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class AppContext:
    """Shared state of one CLI invocation, built lazily."""

    settings: Settings
    console: Console = field(default_factory=lambda: Console(stderr=True))
    out: Console = field(default_factory=lambda: Console(soft_wrap=True))

    @cached_property
    def engine(self) -> Engine:
        """Return the app-DB engine, migrated to the newest schema."""
        # SQLAlchemy and Alembic load here, not at start-up: `--help` and commands that never
        # open the app DB skip them (start-up time, not an import cycle).
        from tenure.db.migrate import migrate
        from tenure.db.session import get_engine

        engine = get_engine(self.settings)
        migrate(engine)
        return engine


def build_settings(data_dir: Path | None) -> Settings:
    """Return settings with the --data-dir override applied."""
    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    return Settings(**overrides)


def app_context(ctx: typer.Context) -> AppContext:
    """Return the AppContext stored on the root Typer context."""
    return ctx.find_root().obj
