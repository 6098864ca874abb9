"""Root of the `tenure` command: global options, command groups, error → exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from tenure.cli import (
    alerts,
    analyze,
    dq,
    health,
    imports,
    init,
    metrics,
    model,
    pipeline,
    scores,
    segments,
    serve,
    simulate,
    users,
    warehouse,
    worker,
)
from tenure.cli.context import AppContext, build_settings
from tenure.errors import TenureError
from tenure.logging import configure_logging


class TenureGroup(TyperGroup):
    """The root command group: maps TenureError to a message and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; print Tenure errors plainly and exit with their code."""
        try:
            return super().invoke(ctx)
        except TenureError as exc:
            Console(stderr=True, soft_wrap=True).print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False
            )
            ctx.exit(exc.exit_code)


app = typer.Typer(
    cls=TenureGroup,
    name="tenure",
    help="Tenure: customer retention for SaaS, with honest numbers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", envvar="TENURE_DATA_DIR", help="Data directory (./.tenure)"),
    ] = None,
) -> None:
    """Tenure: customer retention for SaaS, with honest numbers."""
    settings = build_settings(data_dir)
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    ctx.obj = AppContext(settings=settings)


COMMAND_MODULES = (
    init,
    simulate,
    imports,
    warehouse,
    pipeline,
    dq,
    metrics,
    analyze,
    segments,
    model,
    scores,
    health,
    alerts,
    worker,
    serve,
    users,
)
for module in COMMAND_MODULES:
    module.register(app)


def main() -> None:
    """Run the CLI."""
    app()


__all__ = ["AppContext", "app", "main"]
