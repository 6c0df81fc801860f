"""Messages held back from a flooding sender: kept for staff, never handled one by one."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.petitions import iso


def hold(db: Database, key: str, channel: str, sender: str, kind: str, text: str, now: datetime) -> None:
    db.conn.execute("INSERT INTO held_inbound (key, at, channel, sender, kind, text) VALUES (?,?,?,?,?,?)",
                    (key, iso(now), channel, sender, kind, text))


def by_sender(db: Database, limit: int = 20) -> list[dict]:
    """Per sender: how many messages are held, the first and last time, and the latest text."""
    return list(db.query(
        "SELECT sender, channel, count(*) AS count, min(at) AS first_at, max(at) AS last_at,"
        " (SELECT text FROM held_inbound l WHERE l.sender = h.sender ORDER BY id DESC LIMIT 1) AS last_text"
        " FROM held_inbound h GROUP BY sender, channel ORDER BY max(id) DESC LIMIT ?", (limit,)))
