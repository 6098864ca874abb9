"""Bulk posting of a window's earnings: one driver-level executemany a chunk, the rest in SQL.

The pipeline stage earns a window of days as one Arrow table (account_id, rule, points,
source_key, ts). Each chunk's movements go in with one executemany of driver-ready values
(times formatted by Arrow in the column type's own storage format, not one Python call per
value), skipping source keys already posted; everything else is derived from the chunk's new
movements inside the database: both entries and the lots with INSERT … SELECT, the wallets
created and credited with one upsert of the per-account sums. The chunk's movements are found
again by id range and marker (actor, posting time).
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.loyalty.ledger import insert_for
from tenure.loyalty.models import LoyaltyEntry, LoyaltyLot, LoyaltyMovement, LoyaltyWallet

CHUNK = 100_000
MOVEMENT_COLUMNS = ("account_id", "kind", "points", "rule", "source_key", "occurred_at",
                    "posted_at", "actor", "written_off")  # fmt: skip
UTC_US = pa.timestamp("us", tz="UTC")


def post_earning_table(session: Session, table: pa.Table, expiry_months: int, actor: str) -> int:
    """Post an Arrow table of earnings in bulk; return how many were new (not yet posted)."""
    if table.num_rows == 0:
        return 0
    connection = session.connection()
    now = clock.now()
    posted = 0
    for offset in range(0, table.num_rows, CHUNK):
        chunk = table.slice(offset, CHUNK)
        posted += _post_chunk(connection, chunk, expiry_months, actor, now)
    return posted


def _post_chunk(connection: Any, chunk: pa.Table, expiry_months: int, actor: str, now) -> int:
    """Insert one chunk's new movements, then derive their entries, lots and wallet credits."""
    movements = LoyaltyMovement.__table__
    before_id = connection.execute(
        sa.select(sa.func.coalesce(sa.func.max(movements.c.id), 0))
    ).scalar_one()
    connection.exec_driver_sql(movement_insert_sql(connection.dialect),
                               movement_rows(chunk, actor, now, connection.dialect))  # fmt: skip
    # No indexed column in the marker: SQLite would otherwise walk the whole (kind, ...) index
    # instead of the chunk's rowid range (a scan that grows with the ledger)
    mine = sa.and_(movements.c.id > before_id, movements.c.actor == actor,
                   movements.c.posted_at == now)  # fmt: skip
    posted = connection.execute(sa.select(sa.func.count()).where(mine)).scalar_one()
    if posted:
        _entries_from_movements(connection, mine)
        _lots_from_movements(connection, mine, expiry_months)
        _credit_wallets(connection, mine, now)
    return posted


def movement_insert_sql(dialect: Any) -> str:
    """Return the driver-level INSERT of earn movements that skips posted source keys."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(MOVEMENT_COLUMNS))
    return (
        f"INSERT INTO {LoyaltyMovement.__tablename__} ({', '.join(MOVEMENT_COLUMNS)}) "
        f"VALUES ({marks}) ON CONFLICT (source_key) DO NOTHING"
    )


def driver_times(column: pa.ChunkedArray | pa.Array, dialect: Any) -> list[Any]:
    """Return UTC times as the driver takes them for a UTCDateTime column of this dialect."""
    column = column.cast(UTC_US)
    if dialect.name == "sqlite":  # SQLAlchemy's SQLite DATETIME storage format, naive UTC
        return pc.strftime(column, format="%Y-%m-%d %H:%M:%S").to_pylist()
    return column.to_pylist()


def movement_rows(chunk: pa.Table, actor: str, now, dialect: Any) -> list[tuple]:
    """Return the chunk's movements as driver-ready tuples in MOVEMENT_COLUMNS order."""
    column_type = LoyaltyMovement.__table__.c.posted_at.type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    posted_at = process(now) if process is not None else now
    return list(
        zip(chunk["account_id"].to_pylist(), repeat("earn"), chunk["points"].to_pylist(),
            chunk["rule"].to_pylist(), chunk["source_key"].to_pylist(),
            driver_times(chunk["ts"], dialect), repeat(posted_at), repeat(actor), repeat(0))
    )  # fmt: skip


def _entries_from_movements(connection: Any, mine: Any) -> None:
    """Write both entries of the selected movements with INSERT … SELECT (wallet, liability)."""
    movements, entries = LoyaltyMovement.__table__, LoyaltyEntry.__table__
    columns = ["movement_id", "ledger_account", "account_id", "amount"]
    wallet = sa.select(movements.c.id, sa.literal("wallet"), movements.c.account_id,
                       movements.c.points).where(mine)  # fmt: skip
    counter = sa.select(movements.c.id, sa.literal("liability"), sa.null(),
                        -movements.c.points).where(mine)  # fmt: skip
    connection.execute(entries.insert().from_select(columns, wallet))
    connection.execute(entries.insert().from_select(columns, counter))


def expiry_date(dialect: Any, occurred_at: Any, months: int) -> Any:
    """Return SQL for the UTC date `months` after occurred_at's (clamped to the month's end)."""
    if dialect.name == "postgresql":
        day = sa.cast(sa.func.timezone("UTC", occurred_at), sa.Date)
        return sa.cast(day + sa.func.make_interval(0, months), sa.Date)
    day = sa.func.substr(occurred_at, 1, 10)  # the stored text's date: no fraction to round up
    later = sa.func.date(day, f"+{months} months")  # SQLite rolls over past the month's end
    same_day = sa.func.strftime("%d", later) == sa.func.strftime("%d", day)
    return sa.case((same_day, later), else_=sa.func.date(later, "start of month", "-1 day"))


def _lots_from_movements(connection: Any, mine: Any, expiry_months: int) -> None:
    """Open one lot per selected movement, expiring expiry_months after its UTC day."""
    movements, lots = LoyaltyMovement.__table__, LoyaltyLot.__table__
    expires = expiry_date(connection.dialect, movements.c.occurred_at, expiry_months)
    source = sa.select(movements.c.account_id, movements.c.id, movements.c.points,
                       movements.c.points, movements.c.occurred_at, expires).where(mine)  # fmt: skip
    columns = ["account_id", "movement_id", "points", "remaining", "earned_at", "expires_on"]
    connection.execute(lots.insert().from_select(columns, source))


def _credit_wallets(connection: Any, mine: Any, now) -> None:
    """Create missing wallets and credit each with its selected movements' sum (one upsert)."""
    movements, wallets = LoyaltyMovement.__table__, LoyaltyWallet.__table__
    account = (movements.c.account_id + 0).label("account_id")  # + 0: group the range, not
    sums = (  # the whole (account_id, kind) index
        sa.select(account, sa.func.sum(movements.c.points),
                  sa.literal(now, LoyaltyWallet.updated_at.type))
        .where(mine)
        .group_by(account)
    )  # fmt: skip
    stmt = insert_for(connection, wallets).from_select(
        ["account_id", "balance", "updated_at"], sums
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={"balance": wallets.c.balance + stmt.excluded.balance,
              "updated_at": stmt.excluded.updated_at},
    )  # fmt: skip
    connection.execute(stmt)
