"""Pipeline stage `recent`: the app DB's serving copy of each account's latest product events.

The server never opens the warehouse file, so the account 360 reads its "Recent events" and
daily counts per event name from two small app-DB tables that this stage replaces each run:
each account's last `recent_events_per_account` events and, per event name, its daily counts
over the last `recent_events_days` days up to the as-of day (nothing after it).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.models import Account
from tenure.db.bulk import bulk_insert_columns
from tenure.db.session import session_scope
from tenure.events.models import EventDailyCounts, RecentEvent
from tenure.stage import StageContext, StageSummary, stage
from tenure.warehouse import catalog
from tenure.warehouse.connection import open_warehouse

LATEST_EVENTS_SQL = f"""
SELECT e.account_id, e.message_id, e.contact_external_id, e.name, e.ts,
       coalesce(e.properties, '{{}}') AS properties, e.source
FROM {catalog.EVENTS} AS e SEMI JOIN serving_accounts AS a ON e.account_id = a.account_id
WHERE e.ts >= $start AND e.ts < $end
QUALIFY row_number() OVER (PARTITION BY e.account_id ORDER BY e.ts DESC, e.message_id DESC)
    <= $per_account
"""

DAILY_COUNTS_SQL = f"""
SELECT account_id, name, json_group_object(day, n)::VARCHAR AS counts, sum(n)::BIGINT AS total
FROM (
    SELECT e.account_id, e.name, strftime(e.ts, '%Y-%m-%d') AS day, count(*) AS n
    FROM {catalog.EVENTS} AS e SEMI JOIN serving_accounts AS a ON e.account_id = a.account_id
    WHERE e.ts >= $start AND e.ts < $end
    GROUP BY ALL
)
GROUP BY account_id, name
"""


def serving_window(as_of: date, days: int) -> tuple[datetime, datetime]:
    """Return [start, end): the `days` whole UTC days ending with the as-of day."""
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    return end - timedelta(days=days), end


def read_serving_copy(
    con: Any, account_ids: list[int], as_of: date, *, per_account: int, days: int
) -> tuple[pa.Table, pa.Table]:
    """Return (latest events, daily counts by name) from the warehouse, as Arrow tables."""
    start, end = serving_window(as_of, days)
    con.register("serving_accounts", pa.table({"account_id": pa.array(account_ids, pa.int64())}))
    try:
        window = {"start": start, "end": end}
        latest = con.execute(
            LATEST_EVENTS_SQL, {**window, "per_account": per_account}
        ).to_arrow_table()
        daily = con.execute(DAILY_COUNTS_SQL, window).to_arrow_table()
    finally:
        con.unregister("serving_accounts")
    return latest, daily


def replace_serving_copy(db_session: Session, latest: pa.Table, daily: pa.Table) -> None:
    """Replace both serving tables with the given rows in the session's transaction."""
    db_session.execute(sa.delete(RecentEvent))
    db_session.execute(sa.delete(EventDailyCounts))
    connection = db_session.connection()
    events = latest.to_pydict()
    events["properties"] = [json.loads(p) for p in events["properties"]]
    bulk_insert_columns(connection, RecentEvent.__table__, events)
    counts = daily.to_pydict()
    counts["counts"] = [json.loads(c) for c in counts["counts"]]
    bulk_insert_columns(connection, EventDailyCounts.__table__, counts)


@stage(
    "recent",
    reads=(catalog.WAREHOUSE_EVENTS, catalog.ACCOUNTS),
    writes=(catalog.RECENT_EVENTS, catalog.EVENT_DAILY_COUNTS),
)
def recent_events_copy(context: StageContext) -> StageSummary:
    """Replace the 360's serving copy of each account's latest events and daily counts."""
    settings = context.settings
    with session_scope(context.engine) as db_session:
        account_ids = list(db_session.scalars(sa.select(Account.id)))
        with open_warehouse(settings, read_only=True) as warehouse:
            latest, daily = read_serving_copy(
                warehouse.con,
                account_ids,
                context.as_of,
                per_account=settings.recent_events_per_account,
                days=settings.recent_events_days,
            )
        replace_serving_copy(db_session, latest, daily)
    return {"events": latest.num_rows, "daily_counts": daily.num_rows}
