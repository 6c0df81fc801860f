"""Residents: who they are, where they live, their conversation state (the inbound ledger is
storage/inbound.py, the chat log storage/chat.py)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from storage.db import one, returning
from storage.petitions import iso


def resident(db: Database, openid: str) -> dict | None:
    return one(db, "SELECT * FROM residents WHERE openid = ?", (openid,))


def ensure_resident(db: Database, openid: str, channel: str, now: datetime) -> dict:
    """The resident's row, created on first contact. A resident known before they wrote (the org file's
    [[residents]], a visit) is reached by the channel they write from: the Official Account once they
    write there."""
    row = resident(db, openid)
    if row is None:  # the new row as stored (defaults included) without reading it again
        row = returning(db, "INSERT INTO residents (openid, channel, created_at) VALUES (?, ?, ?) RETURNING *",
                        (openid, channel, iso(now)))
    elif channel == "oa" and row["channel"] != "oa":
        db.conn.execute("UPDATE residents SET channel = 'oa' WHERE openid = ?", (openid,))
        row = {**row, "channel": "oa"}
    return row or {}


def update_resident(db: Database, openid: str, **fields: object) -> None:
    assignments = ", ".join(f"{k} = ?" for k in fields)
    db.conn.execute(f"UPDATE residents SET {assignments} WHERE openid = ?", (*fields.values(), openid))


def conversation(row: dict) -> dict:
    return json.loads(row["conv"]) if row.get("conv") else {}


def set_conversation(db: Database, openid: str, state: dict | None) -> None:
    update_resident(db, openid, conv=json.dumps(state, ensure_ascii=False) if state else None)


def of_channel(db: Database, channel: str) -> list[dict]:
    """The residents reached through one channel ("oa", "sim"), oldest first."""
    return list(db.query("SELECT * FROM residents WHERE channel = ? ORDER BY created_at, openid", (channel,)))


def residents_of_building(db: Database, building: str) -> list[dict]:
    return list(db.query(
        "SELECT * FROM residents WHERE building = ? AND subscribed = 1 ORDER BY openid", (building,)))


def resident_names(db: Database) -> list[str]:
    """Every resident's name as given (to keep them out of group notices)."""
    return [r["name"] for r in db.query("SELECT name FROM residents WHERE name IS NOT NULL AND name != ''")]


def only_resident_of_room(db: Database, building: str, room: str) -> str | None:
    """The openid of the one resident bound to that room (subscribed or not); None when none or several are."""
    found = db.conn.execute("SELECT openid FROM residents WHERE building = ? AND room = ? LIMIT 2",
                            (building, room)).fetchall()
    return str(found[0][0]) if len(found) == 1 else None
