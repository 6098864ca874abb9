"""`tenure serve`: the API and dashboard under uvicorn."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

FACTORY = "tenure.api.server:app_from_environment"
WORKER_HEALTHCHECK_SECONDS = 60
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _check_tls(certfile: Path | None, keyfile: Path | None) -> None:
    if (certfile is None) != (keyfile is None):
        raise InputError("--ssl-certfile and --ssl-keyfile go together: give both or neither")
    for path in (certfile, keyfile):
        if path is not None and not path.is_file():
            raise InputError(f"TLS file not found: {path}")


@contextlib.contextmanager
def metrics_dir(data_dir: Path, workers: int) -> Iterator[Path | None]:
    """Give several workers one Prometheus multiprocess dir (wiped first, removed after).

    A dir the operator set in PROMETHEUS_MULTIPROC_DIR is used and emptied of old values but
    kept; otherwise the server makes one in the data dir and removes it when it stops.
    """
    if workers < 2:
        yield None
        return
    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="metrics-", dir=data_dir))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        if given is None:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(path, ignore_errors=True)


def start_embedded_worker(context: AppContext) -> Any:
    """Start the task consumer in threads of this process (embedded mode); return it."""
    # Imported here for start-up time, not a cycle: tenure.tasks loads Huey and redis-py
    # (0.4-0.9 s measured), which `tenure --help` and the other commands should not pay.
    from tenure.tasks import build_huey, register_tasks

    huey = build_huey(context.settings)
    register_tasks(huey, context.settings, context.engine)
    consumer = huey.create_consumer(
        workers=1, worker_type="thread", periodic=True, initial_delay=0.1, max_delay=2.0
    )
    consumer.start()
    return consumer


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes")] = 1,
    ssl_certfile: Annotated[Path | None, typer.Option("--ssl-certfile")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile")] = None,
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Run the task consumer in-process (default: yes unless TENURE_REDIS_URL is set)",
        ),
    ] = None,
) -> None:
    """Serve the API (OpenAPI at /docs) and the dashboard with uvicorn."""
    import uvicorn

    context: AppContext = app_context(ctx)
    _check_tls(ssl_certfile, ssl_keyfile)
    settings = context.settings
    context.engine  # noqa: B018 - migrate the app DB once, before the workers start
    os.environ["TENURE_DATA_DIR"] = str(settings.data_dir.resolve())
    scheme = "https" if ssl_certfile else "http"
    context.console.print(f"serving Tenure at {scheme}://{host}:{port}/ (API docs at /docs)")
    in_process = settings.redis_url is None if worker is None else worker
    consumer = start_embedded_worker(context) if in_process else None
    try:
        with metrics_dir(settings.data_dir.resolve(), workers):
            _run_uvicorn(
                uvicorn, host, port, workers, ssl_certfile, ssl_keyfile, settings.log_level
            )
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


def _run_uvicorn(
    uvicorn: Any,
    host: str,
    port: int,
    workers: int,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    log_level: str,
) -> None:
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        log_level=log_level.lower(),
        access_log=False,
        proxy_headers=False,
        # a worker importing the app on a busy machine can take more than uvicorn's default 5 s
        # to answer the supervisor's ping; a short timeout kills and restarts it in a loop
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the root app."""
    app.command("serve")(serve_command)
