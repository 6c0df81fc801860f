"""Petitions and their append-only event log. Every state change goes through `transition`."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage import states
from storage.db import one, returning

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


# columns whose integer twins (`*_ts`) the AFTER UPDATE trigger of migration 060 writes: an UPDATE
# that sets one of them must read the row again to return it as stored
_TS_SOURCES = frozenset({"created_at", "dispatched_at", "accepted_at", "resolved_at", "closed_at",
                         "clock_started_at", "sign_deadline", "resolve_deadline"})


def transition(
    db: Database, pid: int, target: str, *, actor: str, now: datetime, note: str | None = None,
    **changes: object,
) -> dict:
    """Move petition `pid` to `target` (checked against the state table) and log the event; returns
    the row as stored."""
    found = db.conn.execute("SELECT state FROM petitions WHERE id = ?", (pid,)).fetchone()
    if found is None:
        raise KeyError(pid)
    before = found[0]
    states.check(before, target)
    fields = {"state": target, "updated_at": iso(now), **changes}
    stamp = _STAMPS.get(target)
    if stamp and stamp not in changes:
        fields[stamp] = iso(now)
    assignments = ", ".join(f"{k} = ?" for k in fields)
    if _TS_SOURCES.isdisjoint(fields):  # no trigger changes the row after the UPDATE: RETURNING is it
        row = returning(db, f"UPDATE petitions SET {assignments} WHERE id = ? RETURNING *",
                        (*fields.values(), pid))
    else:
        db.conn.execute(f"UPDATE petitions SET {assignments} WHERE id = ?", (*fields.values(), pid))
        row = None
    add_event(db, pid, actor, before, target, note, now)
    return row if row is not None else get(db, pid) or {}


def create_merged(
    db: Database, *, resident: str, building: str | None, grid: str | None, category: str,
    text: str, now: datetime, into: int, actor: str, note: str,
) -> int:
    """A report filed and at once merged into open petition `into`: the same row and events as
    `create` followed by `transition(..., "merged", merged_into=into)` (submitted, then merged, both
    at `now`), written by one INSERT (the statistics triggers run once instead of three times)."""
    states.check("submitted", "merged")
    stamp = iso(now)
    cur = db.conn.execute(
        "INSERT INTO petitions (resident, building, grid, category, text, state, urgent, private,"
        " created_at, updated_at, merged_into) VALUES (?, ?, ?, ?, ?, 'merged', 0, 0, ?, ?, ?)",
        (resident, building, grid, category, text, stamp, stamp, into),
    )
    pid = int(cur.lastrowid or 0)
    db.conn.executemany(
        "INSERT INTO events (petition, at, actor, from_state, to_state, note) VALUES (?,?,?,?,?,?)",
        [(pid, stamp, resident, None, "submitted", text), (pid, stamp, actor, "submitted", "merged", note)])
    return pid


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
    """Open petitions per worker, counted for these workers only (index `petitions(state, worker)`:
    one range per (state, worker) pair, not every open petition of the community)."""
    load = dict.fromkeys(userids, 0)
    if not userids:
        return load
    marks = ",".join("?" for _ in load)
    for worker, n in db.conn.execute(
        f"SELECT worker, count(*) FROM petitions WHERE state IN ({_OPEN}) AND worker IN ({marks})"
        " GROUP BY worker", tuple(load),
    ):
        load[worker] = n
    return load


def returned_queue(db: Database) -> list[dict]:
    """The triage queue: petitions waiting for staff (not dispatched, returned, escalated), oldest first."""
    return list(db.query(f"SELECT * FROM petitions WHERE state IN ({states.marks(states.TRIAGE)}) ORDER BY id"))


def failed_inbound(db: Database, limit: int = 50) -> list[dict]:
    """Messages whose handling failed, kept for staff, newest first."""
    return list(db.query("SELECT at, channel, sender, kind, text FROM failed_inbound ORDER BY id DESC LIMIT ?",
                         (limit,)))


def pending_items(db: Database) -> list[dict]:
    """微心愿 and suggestions waiting for review."""
    return list(db.query("SELECT id, kind, text, created_at FROM items WHERE status = 'pending' ORDER BY id"))


def update(db: Database, pid: int, **fields: object) -> None:
    """Set these columns of one petition (names come from code, never from input)."""
    assignments = ", ".join(f"{k} = ?" for k in fields)
    db.conn.execute(f"UPDATE petitions SET {assignments} WHERE id = ?", (*fields.values(), pid))


def mark_feedback(db: Database, pid: int, now: datetime) -> None:
    """The first feedback counts; its reminder is off."""
    db.conn.execute("UPDATE petitions SET feedback_at = COALESCE(feedback_at, ?), feedback_remind_at = NULL"
                    " WHERE id = ?", (iso(now), pid))


def count_urge(db: Database, pid: int) -> None:
    db.conn.execute("UPDATE petitions SET urge_count = urge_count + 1 WHERE id = ?", (pid,))


def add_item(db: Database, kind: str, resident: str, building: str | None, text: str, now: datetime) -> int:
    """A 微心愿 or a suggestion, pending review."""
    cur = db.conn.execute(
        "INSERT INTO items (kind, resident, building, text, status, created_at) VALUES (?,?,?,?,?,?)",
        (kind, resident, building, text, "pending", iso(now)))
    return int(cur.lastrowid or 0)
