"""`tenure worker`: run the task-queue consumer (alert deliveries, escalations, digests)."""

from __future__ import annotations

from typing import Annotated

import typer

from tenure.cli.context import AppContext, app_context


def register(app: typer.Typer) -> None:
    """Add the `worker` command to the root app."""
    app.command("worker")(worker_command)


def worker_command(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker threads")] = 2,
    periodic: Annotated[
        bool, typer.Option("--periodic/--no-periodic", help="Run the minute tick and the digest")
    ] = True,
) -> None:
    """Run the task consumer until interrupted (SQLite queue, or Redis with TENURE_REDIS_URL)."""
    # Imported here for start-up time, not a cycle: tenure.tasks loads Huey and redis-py
    # (0.4-0.9 s measured), which `tenure --help` and the other commands should not pay.
    from tenure.tasks import build_huey, register_tasks

    context: AppContext = app_context(ctx)
    huey = build_huey(context.settings)
    tasks = register_tasks(huey, context.settings, context.engine)
    tasks.deliver_alerts()  # drain whatever an earlier worker left behind, at once
    backend = "redis" if context.settings.redis_url else f"sqlite {huey.storage.filename}"
    context.console.print(
        f"tenure worker: {workers} threads on the {backend} queue", highlight=False
    )
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        initial_delay=0.1,
        max_delay=1.0,
        backoff=1.15,
    )
    consumer.run()
