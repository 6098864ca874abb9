"""Pipeline stage `sync`: move the app-DB event inbox into the warehouse's events table."""

from __future__ import annotations

from tenure.events.service import sync_inbox
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog
from tenure.warehouse.connection import open_warehouse


@stage(
    "sync",
    reads=(catalog.EVENT_INBOX, catalog.ACCOUNTS, catalog.CONTACTS, catalog.IDENTITY_LINKS),
    writes=(catalog.WAREHOUSE_EVENTS, catalog.EVENT_INBOX),
)
def warehouse_events(context: StageContext) -> StageSummary:
    """Release held events whose user now resolves, then move the inbox, once each event."""
    with open_warehouse(context.settings) as warehouse:
        result = sync_inbox(
            engine=context.engine,
            warehouse=warehouse,
            unknown_account_days=context.settings.inbox_unknown_account_days,
            login_events=context.settings.health_login_events,
        )
    return {
        "moved": result.moved,
        "already_in_warehouse": result.already_in_warehouse,
        "waiting_for_account": result.waiting_for_account,
        "expired_unknown_account": result.expired_unknown_account,
    }
