"""The inbound ledger: every message handled (its key and the replies it got), those whose handling
failed (kept for staff), and the legacy `intake` table of an earlier version's journal."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import one
from storage.petitions import iso


def legacy_intake(db: Database) -> list[tuple[str, str]]:
    """(key, message JSON) rows an earlier version left in its `intake` table, oldest first."""
    return db.conn.execute("SELECT key, message FROM intake ORDER BY id").fetchall()


def forget_legacy(db: Database, key: str) -> None:
    db.conn.execute("DELETE FROM intake WHERE key = ?", (key,))


def known(db: Database, keys: list[str]) -> set[str]:
    """Which of these message keys are handled (in `inbound`) or kept as failed."""
    out: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        marks = ",".join("?" * len(chunk))
        out.update(k for (k,) in db.conn.execute(
            f"SELECT key FROM inbound WHERE key IN ({marks}) UNION SELECT key FROM failed_inbound"
            f" WHERE key IN ({marks})", chunk + chunk))
    return out


def mark_replied_late(db: Database, key: str) -> None:
    """Its replies went as messages: a retry gets "success", not the replies again."""
    db.conn.execute("UPDATE inbound SET replied_late = 1 WHERE key = ?", (key,))


def mark_answered_again(db: Database, key: str) -> None:
    db.conn.execute("UPDATE inbound SET answered_again = 1 WHERE key = ?", (key,))


def keep_failed(db: Database, key: str, channel: str, sender: str, kind: str, text: str, now: datetime) -> None:
    db.conn.execute("INSERT INTO failed_inbound (key, at, channel, sender, kind, text) VALUES (?,?,?,?,?,?)",
                    (key, iso(now), channel, sender, kind, text))


def seen(db: Database, key: str) -> dict | None:
    return one(db, "SELECT * FROM inbound WHERE key = ?", (key,))


def remember(db: Database, key: str, channel: str, sender: str, reply: str, now: datetime) -> None:
    db.conn.execute("INSERT INTO inbound (key, at, channel, sender, reply) VALUES (?, ?, ?, ?, ?)",
                    (key, iso(now), channel, sender, reply))
