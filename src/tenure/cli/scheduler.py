"""`tenure scheduler`: the daily pipeline and digests on time, once, catching up missed days."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from tenure.cli.context import AppContext, app_context


def scheduler_command(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run what is due now (missed days too), then exit")
    ] = False,
    poll_seconds: Annotated[
        float, typer.Option("--poll-seconds", min=1.0, help="How often to look for due work")
    ] = 60.0,
) -> None:
    """Run the daily pipeline at TENURE_PIPELINE_HOUR and the digests, catching up after downtime."""
    # Imported here, not at the top: the jobs pull in the pipeline's stages (MLflow, Ibis).
    from tenure.live_relay import start_relay
    from tenure.scheduler.jobs import default_jobs
    from tenure.scheduler.runner import run_due, run_forever

    context: AppContext = app_context(ctx)
    settings, engine = context.settings, context.engine
    jobs = default_jobs(settings, engine)
    lease = settings.scheduler_lease_seconds
    relay = start_relay(settings, listen=False)  # the pipeline's health changes reach dashboards
    try:
        if once:
            for name, days in run_due(engine, jobs, lease).items():
                ran = ", ".join(str(d) for d in days) or "nothing due"
                context.out.print(f"{name}: {ran}", highlight=False)
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        context.console.print(
            f"tenure scheduler: pipeline at {settings.pipeline_hour:02d}:00 UTC, "
            f"digests at {settings.alert_digest_hour:02d}:00 UTC",
            highlight=False,
        )
        run_forever(engine, jobs, lease_seconds=lease, poll_seconds=poll_seconds, stop=stop)
    finally:
        if relay is not None:
            relay.stop()


def register(app: typer.Typer) -> None:
    """Add the `scheduler` command to the root app."""
    app.command("scheduler")(scheduler_command)
