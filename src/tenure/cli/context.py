"""What every command needs: settings, the app-DB engine, a console."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tenure.config import Settings


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
    # Settings load pydantic; imported here so a group's --help does not (start-up time).
    from tenure.config import Settings

    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    return Settings(**overrides)


def open_app_context(data_dir: Path | None) -> AppContext:
    """Return the context of one CLI invocation: settings read, logging configured."""
    # structlog loads here, with the settings, not when a command module is imported.
    from tenure.logging import configure_logging

    settings = build_settings(data_dir)
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return AppContext(settings=settings)


def app_context(ctx: typer.Context) -> AppContext:
    """Return the AppContext stored on the root Typer context, opening it if still unset."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = open_app_context(root.params.get("data_dir"))
    return root.obj
