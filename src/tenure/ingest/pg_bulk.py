"""Big PostgreSQL loads: set a table's foreign keys and secondary indexes aside, then rebuild.

A load that surely inserts more than BULK_ROWS new rows and at least as many as the table
already holds (a first import, or one that doubles the table) goes faster without per-row work: the
foreign-key trigger checks every new row one query at a time, and the secondary indexes take
each key at random. Inside the load's transaction the foreign keys are dropped and added back
(one anti-join validates all rows), and the unique constraints and indexes no other table
depends on are dropped and rebuilt by one sort each. The price is the lock: dropping a
foreign key takes ACCESS EXCLUSIVE on the table and on the table it references, so other
sessions' reads of both wait until the load commits (docs/scaling.md gives the figures).
Smaller loads keep the SHARE ROW EXCLUSIVE lock, under which readers go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg import Cursor

BULK_ROWS = 100_000  # new rows above which a load that at least doubles the table goes bulk

_DEFINITIONS = """
SELECT c.conname, c.contype, pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.conrelid = %(table)s::regclass AND c.contype IN ('f', 'u')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid
                  AND c.contype = 'u')
ORDER BY c.conname
"""
_INDEXES = """
SELECT i.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = %(table)s::regclass AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY i.relname
"""


@dataclass(frozen=True)
class SetAside:
    """What a bulk load dropped from a table and must put back: constraints and indexes."""

    table: str
    foreign_keys: list[tuple[str, str]]
    uniques: list[tuple[str, str]]
    indexes: list[tuple[str, str]]

    def drop_statements(self) -> list[str]:
        """Return the statements dropping the foreign keys, unique constraints and indexes."""
        named = [*self.foreign_keys, *self.uniques]
        out = [f'ALTER TABLE {self.table} DROP CONSTRAINT "{name}"' for name, _ in named]
        return out + [f'DROP INDEX "{name}"' for name, _ in self.indexes]

    def rebuild_statements(self) -> list[str]:
        """Return the statements rebuilding the indexes, then re-adding the constraints."""
        out = [f'ALTER TABLE {self.table} ADD CONSTRAINT "{n}" {d}' for n, d in self.uniques]
        out += [definition for _, definition in self.indexes]
        return out + [
            f'ALTER TABLE {self.table} ADD CONSTRAINT "{n}" {d}' for n, d in self.foreign_keys
        ]


def is_bulk(staged: int, existing: int, threshold: int | None = None) -> bool:
    """Return whether a load of `staged` rows into a table of `existing` ones should go bulk.

    At least staged - existing of the rows are new (whatever the keys): bulk when that many
    exceed the threshold and are no fewer than the rows already there, without a join to count.
    """
    new_at_least = staged - existing
    return (
        new_at_least > (BULK_ROWS if threshold is None else threshold) and new_at_least >= existing
    )


def set_aside(cursor: Cursor, table: str) -> SetAside:
    """Lock the table exclusively, drop its foreign keys and free secondary indexes; return them."""
    name = table.strip('"')
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(_DEFINITIONS, {"table": name})
    constraints = cursor.fetchall()
    cursor.execute(_INDEXES, {"table": name})
    aside = SetAside(
        table=table,
        foreign_keys=[(n, d) for n, kind, d in constraints if kind == "f"],
        uniques=[(n, d) for n, kind, d in constraints if kind == "u"],
        indexes=[tuple(row) for row in cursor.fetchall()],
    )
    for statement in aside.drop_statements():
        cursor.execute(statement)
    return aside


def put_back(cursor: Cursor, aside: SetAside) -> None:
    """Rebuild what set_aside dropped (the foreign keys validated by one query each)."""
    for statement in aside.rebuild_statements():
        cursor.execute(statement)
