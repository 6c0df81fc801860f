"""`minsheng db copy`: move a community's store from one engine to another (SQLite to PostgreSQL),
every row of every table, in one transaction on the target.

What the target's own triggers derive as the rows arrive is not copied but rebuilt by them: the stats
rollups (petition_rollup, desk_weekly, desk_weekly_categories), the search index of petitions'
words, the org version stamp. The migrations ledger is the target's own. The target must be empty
(no petitions, no residents): copying into a store in use would mix two communities' numbers."""

from __future__ import annotations

from collections.abc import Iterator

from sqlite_utils import Database

from storage.db import transaction

DERIVED = frozenset({"migrations", "sqlite_sequence", "org_version", "petition_rollup", "desk_weekly",
                     "desk_weekly_categories", "petition_words"})
BATCH = 2_000


class CopyError(ValueError):
    """The copy cannot start (a target in use, a table the target lacks): nothing was written."""


def tables(db: Database) -> list[str]:
    """The source's tables to copy, in name order (the schema has no foreign keys to order by)."""
    names = [r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return [n for n in names if n not in DERIVED and not n.startswith(("sqlite_", "petition_words_"))]


def _columns(db: Database, table: str) -> list[str]:
    return [r[1] for r in db.conn.execute(f"PRAGMA table_info({table})")]


def _batches(db: Database, table: str, columns: list[str]) -> Iterator[list[tuple]]:
    cursor = db.conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
    while batch := cursor.fetchmany(BATCH):
        yield [tuple(row) for row in batch]


def _check_empty(target: Database) -> None:
    for table in ("petitions", "residents", "events"):
        if target.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
            raise CopyError(f"the target already holds {table}: copy into an empty, migrated store")


def copy(source: Database, target: Database) -> dict[str, int]:
    """Copy every table of `source` (SQLite) into `target`; returns rows copied per table. The target's
    identity counters continue after the copied ids, so new petitions get the next numbers."""
    _check_empty(target)
    counts: dict[str, int] = {}
    numbered: list[str] = []
    with transaction(target):
        for table in ("communities", "staff", "grids", "grid_workers", "buildings"):
            target.conn.execute(f"DELETE FROM {table}")   # the target's org comes from the source
        for table in tables(source):
            columns = _columns(source, table)
            if "id" in columns:
                numbered.append(table)
            insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            counts[table] = 0
            for batch in _batches(source, table, columns):
                target.conn.executemany(insert, batch)
                counts[table] += len(batch)
        if getattr(target, "dialect", "sqlite") == "postgresql":
            _continue_identities(target, numbered)
    if getattr(target, "dialect", "sqlite") == "postgresql":
        target.conn.execute("ANALYZE")   # the planner's statistics of the loaded tables, before any page
    return counts


def _continue_identities(target: Database, names: list[str]) -> None:
    """PostgreSQL's identity columns start after the highest id copied (SQLite's AUTOINCREMENT does so
    by itself)."""
    for table in names:   # tables with an id column; those that number it have a sequence
        seq = target.conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone()
        if seq and seq[0]:
            target.conn.execute(f"SELECT setval('{seq[0]}', coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
