"""Opening the database, the schema and transactions.

Durability: WAL with synchronous=FULL: every COMMIT fsyncs the WAL, so a message is on disk before its
callback is acknowledged, through a kill -9 *and* a power loss or kernel crash. With synchronous=NORMAL
(in WAL mode) a COMMIT only writes the WAL into the OS page cache and fsyncs at checkpoints: that still
survives kill -9 of the process (the page cache belongs to the kernel, tests/test_crash.py would pass),
but a power loss can drop the last transactions, i.e. messages already acknowledged to WeChat, which
WeChat will not send again. We keep FULL: the router commits a batch of messages at once (group
commit, storage/writer.py), so the fsync is paid per batch, not per message; measured in bench/README.md.

Temporary storage in memory (temp_store=MEMORY): every write inside a savepoint (one per message in a
group commit, one per nested `transaction`) first copies each page it changes into the savepoint's
sub-journal, which SQLite spills to a temporary file past 64 KiB; a report changes about 30 pages, so
it paid ≈45 writes to a temporary file (≈50 µs of CPU per report in bench/bench_store.py). In memory, a
sub-journal lives as long as its transaction and holds the pages the transaction changed, and the
small temporary b-trees of a statement (`IN (...)` lists, DISTINCT) are not files either.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.utils import dedupe_keys

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply each storage/migrations/NNN_*.sql once, in order; returns the names applied now."""
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {r[0] for r in conn.execute("SELECT name FROM migrations")}
    applied = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(path.read_text(encoding="utf-8")):
                conn.execute(statement)
            conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, datetime('now'))", (path.name,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(path.name)
    return applied


def _statements(script: str) -> list[str]:
    """Split a migration into statements (triggers keep their inner semicolons)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


class Store(Database):
    """sqlite-utils' Database, with plain SELECTs run straight on the connection.

    `Database.query` parses each statement's first keyword and wraps it in a SAVEPOINT (so a statement
    that returns no rows can be undone before its ValueError); a SELECT cannot write, so it skips both.
    On the per-message path that wrapper cost more than most of the queries it wrapped.

    `conn` is a sqlite3.Connection, or on PostgreSQL a storage.pg.PgConnection that offers the same
    calls; `dialect` says which ("sqlite" or "postgresql"). On PostgreSQL every statement runs
    straight (a SAVEPOINT outside a transaction is an error there, not an implicit BEGIN)."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn)
        self.dialect: str = getattr(conn, "dialect", "sqlite")

    def query(self, sql: str, params: Sequence | dict[str, Any] | None = None) -> Generator[dict, None, None]:
        if self.dialect == "sqlite" and (not _SELECT.match(sql) or self._tracer):
            return super().query(sql, params)
        cursor = self.conn.execute(sql, params) if params is not None else self.conn.execute(sql)
        if cursor.description is None:   # as sqlite-utils says it (on PostgreSQL the write is done)
            raise ValueError("query() can only be used with SQL that returns rows - use execute() for other statements")
        keys = _keys(cursor)
        return (dict(zip(keys, row, strict=True)) for row in cursor)


_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)


def sqlite_path(target: str | Path) -> str | None:
    """The SQLite file a store target names (a path, ':memory:' or sqlite:///path); None for a
    postgresql:// URL."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        return None
    if text.startswith("sqlite://"):
        return text.removeprefix("sqlite://").removeprefix("/") or ":memory:"
    return text


def open_db(target: str | Path) -> Database:
    """Open (creating if needed) the store at `target`: a SQLite path (':memory:' gives a throwaway
    one) or sqlite:///path, or a postgresql:// URL. The engine's migrations are applied."""
    path = sqlite_path(target)
    if path is None:
        return _open_pg(str(target))
    store = Store(_open_sqlite(path))
    migrate(store.conn)
    from storage import org  # storage.org reads through this module

    org.watch_writes(store)   # for org.pinned
    return store


def _open_pg(url: str) -> Database:
    from storage import pg, pg_schema

    conn = pg.PgConnection.connect(url)
    pg_schema.apply(conn.raw)
    return Store(conn)


def migrate_target(target: str | Path) -> list[str]:
    """Apply the engine's migrations to the store at `target`; the names applied now."""
    path = sqlite_path(target)
    if path is None:
        from storage import pg, pg_schema

        conn = pg.PgConnection.connect(str(target))
        try:
            return pg_schema.apply(conn.raw)
        finally:
            conn.close()
    lite = _open_sqlite(path)
    try:
        return migrate(lite)
    finally:
        lite.close()


def _open_sqlite(path: str) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA temp_store=MEMORY")  # see "Temporary storage" above
    return conn


def open_reader(target: str | Path) -> Database | None:
    """A read-only connection to the store at `target` for pages (WAL lets it read beside the writer);
    None for ':memory:', which only its one connection can see."""
    path = sqlite_path(target)
    if path is None:
        from storage import pg

        return Store(pg.PgConnection.connect(str(target), read_only=True))
    if path == ":memory:":
        return None
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, check_same_thread=False,
                           isolation_level=None, timeout=10)
    conn.execute("PRAGMA query_only=ON")
    conn.execute("PRAGMA temp_store=MEMORY")
    return Store(conn)


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction. Nested use is a savepoint of the outer one: when the block raises, only
    its own writes are undone (the outer transaction, e.g. the router's batch, goes on)."""
    conn = db.conn
    if conn.in_transaction:
        conn.execute("SAVEPOINT nested")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled the whole transaction back
                conn.execute("ROLLBACK TO nested")
                conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _keys(cursor: sqlite3.Cursor) -> list[str]:
    keys = [d[0] for d in cursor.description]
    return keys if len(set(keys)) == len(keys) else dedupe_keys(keys)  # as sqlite-utils names them


def one(db: Database, sql: str, params: tuple | dict = ()) -> dict | None:
    """The first row of a SELECT as a dict (None when there is none).

    Straight on the connection: sqlite-utils' `db.query` wraps every statement in a SAVEPOINT and
    parses its first keyword, which on the per-message path cost more than the queries themselves."""
    cursor = db.conn.execute(sql, params)
    row = cursor.fetchone()
    return None if row is None else dict(zip(_keys(cursor), row, strict=True))


def rows(db: Database, sql: str, params: tuple | dict = ()) -> list[dict]:
    """Every row of a SELECT as dicts, like `list(db.query(...))` without its per-statement savepoint."""
    cursor = db.conn.execute(sql, params)
    keys = _keys(cursor)
    return [dict(zip(keys, row, strict=True)) for row in cursor]


def returning(db: Database, sql: str, params: tuple | dict = ()) -> dict | None:
    """The row a write `... RETURNING *` reports (None when it wrote none). Every row is fetched, so
    the statement is finished, never left in progress. RETURNING shows the row as the statement wrote
    it: columns that AFTER triggers set are not in it (see storage.petitions)."""
    cursor = db.conn.execute(sql, params)
    found = cursor.fetchall()
    return dict(zip(_keys(cursor), found[0], strict=True)) if found else None


def inserted_id(db: Database, sql: str, params: tuple | dict = ()) -> int:
    """The id of the row an `INSERT ... RETURNING id` wrote: `cursor.lastrowid` is SQLite's alone (psycopg
    has none), RETURNING is both engines'. Every row is fetched, so the statement is finished."""
    return int(db.conn.execute(sql, params).fetchall()[0][0])
