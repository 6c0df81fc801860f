"""转人工: a resident's conversation handed to a grid worker (table `handoffs`, migration 131), and the
resident's recent lines of the chat log for the worker to read."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import inserted_id, one, rows
from storage.petitions import iso


def open_for_resident(db: Database, resident: str) -> dict | None:
    return one(db, "SELECT * FROM handoffs WHERE resident = ? AND closed_at IS NULL", (resident,))


def open_for_worker(db: Database, worker: str) -> list[dict]:
    return rows(db, "SELECT * FROM handoffs WHERE worker = ? AND closed_at IS NULL ORDER BY id", (worker,))


def get(db: Database, hid: int) -> dict | None:
    return one(db, "SELECT * FROM handoffs WHERE id = ?", (hid,))


def open_handoff(db: Database, resident: str, worker: str, building: str | None, now: datetime) -> int:
    """A new hand-off; one still open for the resident is closed first (one at a time)."""
    db.conn.execute("UPDATE handoffs SET closed_at = ?, closed_by = 'reopened' WHERE resident = ?"
                    " AND closed_at IS NULL", (iso(now), resident))
    return inserted_id(
        db, "INSERT INTO handoffs (resident, worker, building, opened_at, last_at) VALUES (?,?,?,?,?) RETURNING id",
        (resident, worker, building, iso(now), iso(now)))


def touch(db: Database, hid: int, now: datetime) -> None:
    db.conn.execute("UPDATE handoffs SET last_at = ? WHERE id = ?", (iso(now), hid))


def close(db: Database, hid: int, by: str, now: datetime) -> bool:
    """Close an open hand-off; False when it was already closed."""
    cur = db.conn.execute("UPDATE handoffs SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
                          (iso(now), by, hid))
    return cur.rowcount > 0


def recent_lines(db: Database, resident: str, since: datetime, limit: int) -> list[dict]:
    """What the resident wrote since `since` (the chat log), the last `limit` lines, oldest first."""
    found = rows(db, "SELECT text, at FROM chat_log WHERE kind = 'resident' AND person = ? AND direction = 'in'"
                     " AND at >= ? ORDER BY id DESC LIMIT ?", (resident, iso(since), limit))
    return list(reversed(found))
