"""The chat log: what each person (resident, staff member, building group) said and was told, as the
simulator shows it and staff may read it."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.petitions import iso


def log_chat(db: Database, kind: str, person: str, direction: str, text: str, now: datetime) -> None:
    db.conn.execute("INSERT INTO chat_log (kind, person, direction, text, at) VALUES (?,?,?,?,?)",
                    (kind, person, direction, text, iso(now)))


def chat_after(db: Database, kind: str, person: str, after: int, limit: int = 200) -> list[dict]:
    return list(db.query(
        "SELECT id, direction, text, at FROM chat_log WHERE kind = ? AND person = ? AND id > ?"
        " ORDER BY id LIMIT ?", (kind, person, after, limit)))
