"""The store's write probe for /healthz."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.petitions import iso


def probe(db: Database, now: datetime) -> None:
    """Rewrite the one row of `health_probe` (run inside a transaction that is then committed: a
    rolled-back write never reaches the WAL, so it would not notice a full disk)."""
    db.conn.execute("INSERT INTO health_probe (id, at) VALUES (1, ?)"
                    " ON CONFLICT (id) DO UPDATE SET at = excluded.at", (iso(now),))
