"""Root of the `tenure` command: global options, command groups, error → exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tenure.cli import dq, imports, init, pipeline, simulate, warehouse
from tenure.cli.context import AppContext, build_settings
from tenure.errors import TenureError
from tenure.logging import configure_logging

app = typer.Typer(
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


for module in (init, simulate, imports, warehouse, pipeline, dq):
    module.register(app)


def main() -> None:
    """Run the CLI, mapping Tenure errors to a message and an exit code."""
    try:
        app(standalone_mode=False)
    except TenureError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted; nothing was half-written")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here in standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


__all__ = ["AppContext", "app", "main"]
