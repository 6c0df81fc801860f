"""Staff announcements (公告, 定时公告): immediate or scheduled, with the buildings they reached."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import inserted_id, one, rows
from storage.petitions import iso


def communities(db: Database) -> list[dict]:
    return list(db.query("SELECT * FROM communities"))


def record(db: Database, author: str, kind: str, scope_id: str | None, body: str, count: int,
           now: datetime, send_at: datetime | None) -> int:
    """An announcement row; a scheduled one (send_at) is sent by the clock, an immediate one now."""
    return inserted_id(
        db, "INSERT INTO announcements (author, scope_kind, scope_id, text, created_at, buildings, send_at, sent_at)"
        " VALUES (?,?,?,?,?,?,?,?) RETURNING id",
        (author, kind, scope_id, body, iso(now), count, iso(send_at) if send_at else None,
         None if send_at else iso(now)))


def mark_sent(db: Database, aid: int, now: datetime, count: int) -> None:
    db.conn.execute("UPDATE announcements SET sent_at = ?, buildings = ? WHERE id = ? AND sent_at IS NULL",
                    (iso(now), count, aid))


def get(db: Database, aid: int) -> dict | None:
    return one(db, "SELECT * FROM announcements WHERE id = ?", (aid,))


def scheduled(db: Database) -> list[dict]:
    """Scheduled announcements still to be sent, soonest first."""
    return rows(db, "SELECT * FROM announcements WHERE send_at IS NOT NULL AND sent_at IS NULL"
                    " AND cancelled_at IS NULL ORDER BY send_at, id")


def cancel(db: Database, aid: int, now: datetime) -> None:
    """A scheduled announcement is not sent after all: its time moves to `cancelled_send_at`, so the
    clock (which sends those with a `send_at` and no `sent_at`) passes it by."""
    db.conn.execute("UPDATE announcements SET cancelled_at = ?, cancelled_send_at = send_at, send_at = NULL"
                    " WHERE id = ? AND sent_at IS NULL AND cancelled_at IS NULL", (iso(now), aid))
