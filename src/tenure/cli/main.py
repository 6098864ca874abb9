"""Root of the `tenure` command: global options, command groups, error → exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from tenure.cli.context import open_app_context
from tenure.cli.lazy import Command, LazyCommands, LazyEntry
from tenure.errors import TenureError

# Set on the root context when the arguments ask for a sub-command's help.
HELP_ONLY = "tenure.help_only"

# Every top-level command, in help order. A command's module (and what it imports: pandas,
# DuckDB, Ibis, scikit-learn, MLflow...) is imported only when that command is looked up, so
# `tenure --help` and `tenure GROUP --help` do not pay for the others; tests/test_cli_startup.py
# checks that this table matches what each module registers.
COMMANDS = (
    LazyEntry(
        "init",
        "tenure.cli.init",
        "Create the data directory, migrate the app DB and create the warehouse.",
    ),
    LazyEntry(
        "simulate",
        "tenure.cli.simulate",
        "Write accounts, contacts, billing, tickets, surveys, events and the churn ground truth.",
    ),
    LazyEntry(
        "worker",
        "tenure.cli.worker",
        "Run the task consumer until interrupted (SQLite queue, or Redis with TENURE_REDIS_URL).",
    ),
    LazyEntry(
        "serve",
        "tenure.cli.serve",
        "Serve the API (OpenAPI at /docs) and the dashboard with uvicorn.",
    ),
    LazyEntry(
        "scheduler",
        "tenure.cli.scheduler",
        "Run the daily pipeline at TENURE_PIPELINE_HOUR and the digests, catching up after downtime.",
    ),
    LazyEntry(
        "consume",
        "tenure.cli.consume",
        "Store events from the event broker (TENURE_EVENT_BROKER_URL) until SIGTERM or Ctrl-C.",
    ),
    LazyEntry(
        "import",
        "tenure.cli.imports",
        "Load files: accounts, contacts, subscriptions, invoices, tickets, surveys, spend, "
        "events, or a public data set / simulator folder.",
    ),
    LazyEntry("warehouse", "tenure.cli.warehouse", "The analytics warehouse (DuckDB)."),
    LazyEntry("pipeline", "tenure.cli.pipeline", "The daily pipeline."),
    LazyEntry(
        "dq",
        "tenure.cli.dq",
        "Data quality: how complete, valid, unique, linked and fresh the data is.",
    ),
    LazyEntry("metrics", "tenure.cli.metrics", "MRR movements and retention metrics."),
    LazyEntry(
        "analyze",
        "tenure.cli.analyze",
        "Churn analysis: signup cohorts, survival curves, hazards, drivers.",
    ),
    LazyEntry("segments", "tenure.cli.segments", "Rule segments, clusters, value × risk grid."),
    LazyEntry("model", "tenure.cli.model", "Churn models: evaluate, train, list, promote, report."),
    LazyEntry(
        "scores", "tenure.cli.scores", "Churn scores: riskiest accounts and per-account reasons."
    ),
    LazyEntry("health", "tenure.cli.health", "Account health scores, tiers, trends and backtests."),
    LazyEntry("alerts", "tenure.cli.alerts", "Alerts: inbox, lifecycle, delivery and rules."),
    LazyEntry(
        "journeys",
        "tenure.cli.journeys",
        "Email journeys: load, list, show, pause, resume, enrol, tick.",
    ),
    LazyEntry(
        "experiments",
        "tenure.cli.experiments",
        "Experiments: assignment, global holdout, exposures and statistics.",
    ),
    LazyEntry(
        "plays",
        "tenure.cli.plays",
        "Retention plays: triggers, holdouts, actions and measured effect.",
    ),
    LazyEntry("tasks", "tenure.cli.plays", "CSM tasks: each CSM's inbox of follow-ups from plays."),
    LazyEntry(
        "uplift",
        "tenure.cli.uplift",
        "Uplift models: cross-fitted Qini, AUUC and uplift at k on randomised data.",
    ),
    LazyEntry(
        "privacy", "tenure.cli.consent", "Privacy: consent, subject access exports and erasure."
    ),
    LazyEntry("messages", "tenure.cli.messages", "Messages: templates, test sends, delivery."),
    LazyEntry(
        "forecast",
        "tenure.cli.forecast",
        "Forecast MRR, customers and logo churn with intervals, beside a rolling backtest.",
    ),
    LazyEntry(
        "clv",
        "tenure.cli.clv",
        "Customer lifetime value for usage and one-off purchases (BG/NBD + Gamma-Gamma).",
    ),
    LazyEntry(
        "reports",
        "tenure.cli.reports",
        "Reports: ROI measured against holdouts, success scorecard, scheduled PDF reports.",
    ),
    LazyEntry(
        "risks", "tenure.cli.risks", "The risk register: account and programme risks, with history."
    ),
    LazyEntry(
        "loyalty",
        "tenure.cli.loyalty",
        "Loyalty: points ledger, rewards, tiers, badges, measured against a holdout.",
    ),
    LazyEntry("users", "tenure.cli.users", "Staff users who log in to the API and dashboard."),
    LazyEntry("clients", "tenure.cli.users", "Machine clients (OAuth2 client credentials)."),
    LazyEntry("keys", "tenure.cli.users", "Write keys for Segment-style tracking."),
    LazyEntry("audit", "tenure.cli.audit", "The tamper-evident audit log: verify, export, prune."),
    LazyEntry(
        "secrets",
        "tenure.cli.secrets",
        "Encrypted webhook and SMTP secrets, and key rotation.",
    ),
)


class TenureGroup(TyperGroup):
    """The root command group: lazy command modules; maps TenureError to its exit code."""

    def __init__(self, **attrs: Any) -> None:
        """Build the group; commands not built yet load from COMMANDS on first lookup."""
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands, COMMANDS)
        self.listing_help = False

    def list_commands(self, ctx: Any) -> list[str]:
        """Return the command names in help order, importing nothing."""
        return list(self.commands.keys())

    def get_command(self, ctx: Any, cmd_name: str) -> Command | None:
        """Return the command; while printing the root's help, a stub for unloaded ones."""
        lazy = self.commands
        if self.listing_help and isinstance(lazy, LazyCommands) and not lazy.is_loaded(cmd_name):
            return lazy.entries[cmd_name].stub()
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Print the help page from the table's one-line helps, importing no command module."""
        self.listing_help = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing_help = False

    def invoke(self, ctx: Any) -> Any:
        """Run the command; print Tenure errors plainly and exit with their code."""
        remaining = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        ctx.meta[HELP_ONLY] = any(arg in ctx.help_option_names for arg in remaining)
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
    if ctx.meta.get(HELP_ONLY):
        # `tenure GROUP [COMMAND] --help` prints and exits while parsing: skip reading settings
        # (pydantic, structlog); app_context() would still open them if a command asked.
        return
    ctx.obj = open_app_context(data_dir)


def main() -> None:
    """Run the CLI."""
    app()


__all__ = ["COMMANDS", "app", "main"]
