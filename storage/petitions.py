"""Petitions and their append-only event log. Every state change goes through `transition`."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage import states
from storage.db import one

_OPEN = ",".join(f"'{s}'" for s in states.OPEN_STATES)


_last_iso: tuple[datetime | None, str] = (None, "")


def iso(now: datetime) -> str:
    """`now` as ISO 8601 to the second. A message stamps many rows with the same `now`: the last
    one is remembered (datetimes are immutable, so the same object has the same text)."""
    global _last_iso
    last, text = _last_iso
    if now is last:
        return text
    text = now.isoformat(timespec="seconds")
    _last_iso = (now, text)
    return text


def get(db: Database, pid: int) -> dict | None:
    return one(db, "SELECT * FROM petitions WHERE id = ?", (pid,))


def create(
    db: Database, *, resident: str, building: str | None, grid: str | None, category: str,
    text: str, now: datetime, urgent: bool = False, private: bool = False, actor: str | None = None,
) -> dict:
    stamp = iso(now)
    cur = db.conn.execute(
        "INSERT INTO petitions (resident, building, grid, category, text, state, urgent, private,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?)",
        (resident, building, grid, category, text, int(urgent), int(private), stamp, stamp),
    )
    pid = int(cur.lastrowid or 0)
    add_event(db, pid, actor or resident, None, "submitted", text, now)
    return get(db, pid) or {}


def add_event(
    db: Database, pid: int, actor: str, from_state: str | None, to_state: str, note: str | None,
    now: datetime,
) -> None:
    db.conn.execute(
        "INSERT INTO events (petition, at, actor, from_state, to_state, note) VALUES (?,?,?,?,?,?)",
        (pid, iso(now), actor, from_state, to_state, note),
    )


_STAMPS = {"assigned": "dispatched_at", "accepted": "accepted_at", "resolved": "resolved_at",
           "closed": "closed_at"}


def transition(
    db: Database, pid: int, target: str, *, actor: str, now: datetime, note: str | None = None,
    **changes: object,
) -> dict:
    """Move petition `pid` to `target` (checked against the state table) and log the event."""
    row = get(db, pid)
    if row is None:
        raise KeyError(pid)
    states.check(row["state"], target)
    fields = {"state": target, "updated_at": iso(now), **changes}
    stamp = _STAMPS.get(target)
    if stamp and stamp not in changes:
        fields[stamp] = iso(now)
    assignments = ", ".join(f"{k} = ?" for k in fields)
    db.conn.execute(f"UPDATE petitions SET {assignments} WHERE id = ?", (*fields.values(), pid))
    add_event(db, pid, actor, row["state"], target, note, now)
    return get(db, pid) or {}


def note(db: Database, pid: int, *, actor: str, now: datetime, text: str) -> None:
    """A note (progress, urge, reason) that does not change the state."""
    row = get(db, pid)
    if row is None:
        raise KeyError(pid)
    add_event(db, pid, actor, row["state"], row["state"], text, now)
    db.conn.execute("UPDATE petitions SET updated_at = ? WHERE id = ?", (iso(now), pid))


def history(db: Database, pid: int) -> list[dict]:
    return list(db.query("SELECT * FROM events WHERE petition = ? ORDER BY id", (pid,)))


def open_for_resident(db: Database, openid: str) -> list[dict]:
    return list(db.query(
        f"SELECT * FROM petitions WHERE resident = ? AND state IN ({_OPEN}) ORDER BY id", (openid,)))


def recent_for_resident(db: Database, openid: str, limit: int = 5) -> list[dict]:
    return list(db.query(
        "SELECT * FROM petitions WHERE resident = ? ORDER BY id DESC LIMIT ?", (openid, limit)))


def resolved_for_resident(db: Database, openid: str) -> list[dict]:
    return list(db.query(
        "SELECT * FROM petitions WHERE resident = ? AND state = 'resolved' ORDER BY id DESC", (openid,)))


def open_for_worker(db: Database, userid: str) -> list[dict]:
    return list(db.query(
        f"SELECT * FROM petitions WHERE worker = ? AND state IN ({_OPEN}) ORDER BY id", (userid,)))


def open_load(db: Database, userids: list[str]) -> dict[str, int]:
    load = dict.fromkeys(userids, 0)
    for row in db.query(
        f"SELECT worker, count(*) AS n FROM petitions WHERE state IN ({_OPEN}) GROUP BY worker"
    ):
        if row["worker"] in load:
            load[row["worker"]] = row["n"]
    return load


def returned_queue(db: Database) -> list[dict]:
    return list(db.query(
        "SELECT * FROM petitions WHERE state IN ('returned', 'submitted', 'escalated') ORDER BY id"))
