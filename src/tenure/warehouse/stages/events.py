"""Pipeline stage `sync`: move the app-DB event inbox into the warehouse's events table."""

from __future__ import annotations

from tenure.events.service import sync_inbox
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog
from tenure.warehouse.connection import open_warehouse
from tenure.warehouse.spark import parse_url, uses_spark


@stage(
    "sync",
    reads=(catalog.EVENT_INBOX, catalog.ACCOUNTS, catalog.CONTACTS, catalog.IDENTITY_LINKS),
    writes=(catalog.WAREHOUSE_EVENTS, catalog.EVENT_INBOX),
)
def warehouse_events(context: StageContext) -> StageSummary:
    """Release held events whose user now resolves, then move the inbox, once each event.

    With the Spark warehouse URL set, the day-partitioned Parquet events are then brought up
    to date (only the days that changed are rewritten), so Spark's stages read today's events.
    """
    parquet = None
    with open_warehouse(context.settings) as warehouse:
        result = sync_inbox(
            engine=context.engine,
            warehouse=warehouse,
            unknown_account_days=context.settings.inbox_unknown_account_days,
            login_events=context.settings.health_login_events,
        )
        if uses_spark(context.settings):
            parquet = _export_parquet(warehouse.con, context.settings.warehouse_url or "")
    summary = {
        "moved": result.moved,
        "already_in_warehouse": result.already_in_warehouse,
        "waiting_for_account": result.waiting_for_account,
        "expired_unknown_account": result.expired_unknown_account,
    }
    return summary if parquet is None else summary | {"parquet": parquet}


def _export_parquet(con: object, url: str) -> dict[str, int]:
    """Rewrite the Parquet partitions of the days whose events changed; return the counts."""
    from tenure.warehouse.parquet_events import export_event_days, local_path

    directory = local_path(parse_url(url).events)
    return export_event_days(con, directory).summary()
