"""`tenure consume`: store the events the API published to the broker, ack after commit."""

from __future__ import annotations

import asyncio
import functools
import json
import signal
from dataclasses import asdict
from typing import Annotated

import typer

from tenure.cli.context import AppContext, app_context
from tenure.errors import ConfigError


def register(app: typer.Typer) -> None:
    """Add the `consume` command to the root app."""
    app.command("consume")(consume_command)


def consume_command(
    ctx: typer.Context,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=10_000, help="Broker messages per fetch")
    ] = 100,
    drain: Annotated[
        bool, typer.Option("--drain", help="Stop once no message is waiting (after catching up)")
    ] = False,
    realtime: Annotated[
        bool,
        typer.Option(
            "--realtime/--no-realtime", help="Refresh health and raise alerts as it stores"
        ),
    ] = True,
) -> None:
    """Store events from the event broker (TENURE_EVENT_BROKER_URL) until SIGTERM or Ctrl-C."""
    context: AppContext = app_context(ctx)
    settings = context.settings
    if not settings.event_broker_url:
        raise ConfigError(
            "tenure consume needs TENURE_EVENT_BROKER_URL (e.g. nats://127.0.0.1:4222)"
        )
    context.console.print(
        f"tenure consume: {settings.event_broker_url} stream {settings.event_broker_stream},"
        f" consumer {settings.event_broker_consumer}",
        highlight=False,
    )
    stats = asyncio.run(_run(context, batch, realtime, drain))
    context.out.print(json.dumps(asdict(stats)), highlight=False)


async def _run(context: AppContext, batch: int, realtime: bool, drain: bool) -> object:
    """Consume until a signal; run the health refresher and alert listener meanwhile."""
    # Imported here: the broker client, health and alerts load only for this command.
    from tenure.events.consumer import consume
    from tenure.events.landing import notify_landed
    from tenure.live_relay import start_relay

    settings, engine = context.settings, context.engine
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    refresher = listener = None
    if realtime:
        from tenure.alerts.flows import install_listener
        from tenure.health.refresher import ScoreRefresher
        from tenure.tasks import kick_delivery

        refresher = ScoreRefresher(engine, settings).start()
        listener = install_listener(
            settings, engine, on_opened=functools.partial(kick_delivery, settings)
        )

    def on_landed(landed: object) -> None:
        if refresher is not None:
            refresher.submit(landed.touched_accounts)  # type: ignore[attr-defined]
        notify_landed(landed)  # type: ignore[arg-type]

    relay = start_relay(settings, listen=False)  # what it stores reaches every API worker's /live
    try:
        return await consume(
            settings, engine, stop=stop, batch=batch, drain=drain, on_landed=on_landed
        )
    finally:
        if relay is not None:
            relay.stop()
        if refresher is not None:
            refresher.stop()
        if listener is not None:
            listener.stop()
