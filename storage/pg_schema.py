"""The PostgreSQL schema: storage/migrations/pg/NNN_*.sql applied once each, in order, as
storage/db.py `migrate` applies the SQLite ones (see storage/migrations/pg/README.md).

Each file runs in its own transaction, under a transaction-level advisory lock, so several instances
starting together on one database apply it once: the second waits, then finds it recorded.
psycopg is imported only where a connection is given (SQLite deployments do not need it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "pg"
# pg_advisory_xact_lock key of the migrations (any constant; "minsheng" in ASCII, shortened)
_LOCK = 0x6D696E7368656E67

_LEDGER = "CREATE TABLE IF NOT EXISTS migrations (name text PRIMARY KEY, applied_at text NOT NULL)"


def files() -> list[Path]:
    """The PG migrations, in the order they are applied."""
    return sorted(MIGRATIONS.glob("*.sql"))


def applied(conn: psycopg.Connection) -> set[str]:
    """The names of the migrations this database has recorded."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(_LEDGER)
        return {row[0] for row in conn.execute("SELECT name FROM migrations")}


def apply(conn: psycopg.Connection) -> list[str]:
    """Apply each storage/migrations/pg/NNN_*.sql not yet recorded, in order, one transaction each;
    returns the names applied now."""
    done = applied(conn)
    now: list[str] = []
    for path in files():
        if path.name in done:
            continue
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            if conn.execute("SELECT 1 FROM migrations WHERE name = %s", (path.name,)).fetchone():
                continue  # another instance applied it while this one waited
            conn.execute(path.read_text(encoding="utf-8").encode())  # a script: no parameters
            conn.execute("INSERT INTO migrations (name, applied_at) VALUES"
                         " (%s, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'))", (path.name,))
        now.append(path.name)
    return now
