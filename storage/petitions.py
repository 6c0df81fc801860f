"""Petitions and their append-only event log. Every state change goes through `transition`."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage import states
from storage.db import inserted_id, one, returning
from storage.instances import lock_petition

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
    """A new petition, submitted, and its first event; returns the row as stored. The INSERT writes
    the epoch twin of created_at itself (so migration 122's trigger has nothing to rewrite) and
    RETURNING hands the row back without reading it again."""
    stamp = iso(now)
    row = returning(
        db,
        "INSERT INTO petitions (resident, building, grid, category, text, state, urgent, private,"
        " created_at, updated_at, created_ts) VALUES (?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, unixepoch(?))"
        " RETURNING *",
        (resident, building, grid, category, text, int(urgent), int(private), stamp, stamp, stamp),
    )
    if row is None:  # an INSERT without a conflict clause writes its row or raises
        raise RuntimeError("petition not written")
    add_event(db, int(row["id"]), actor or resident, None, "submitted", text, now)
    return row


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


# the ISO columns with an integer twin (`*_ts`, migration 060), and the twin's name
_TWINS = {"created_at": "created_ts", "dispatched_at": "dispatched_ts", "accepted_at": "accepted_ts",
          "resolved_at": "resolved_ts", "closed_at": "closed_ts", "clock_started_at": "clock_started_ts",
          "sign_deadline": "sign_deadline_ts", "resolve_deadline": "resolve_deadline_ts"}
_TWIN_NAMES = frozenset(_TWINS.values())


def _may_follow(target: str) -> str:
    """The states `target` may follow (storage.states.TRANSITIONS) as an SQL predicate on `state`:
    literals compared one by one (codes, never input; an IN list would build a temporary b-tree)."""
    before = sorted({a for a, b in states.TRANSITIONS if b == target})
    return "(" + " OR ".join(f"state = '{s}'" for s in before) + ")" if before else "FALSE"


_FOLLOWS = {target: _may_follow(target) for target in states.STATES}


def _log_transition(db: Database, pid: int, target: str, actor: str, note: str | None, stamp: str) -> str:
    """Write the event of moving `pid` to `target` and return the state it leaves: one statement that
    reads the state and writes the event only when the move is allowed. Raises KeyError (no such
    petition) or TransitionError (not allowed), with nothing written, as reading the state first did."""
    lock_petition(db, pid)
    found = db.conn.execute(
        "INSERT INTO events (petition, at, actor, from_state, to_state, note)"
        f" SELECT id, ?, ?, state, ?, ? FROM petitions WHERE id = ? AND {_FOLLOWS.get(target, 'FALSE')}"
        " RETURNING from_state", (stamp, actor, target, note, pid)).fetchall()
    if found:
        return str(found[0][0])
    row = db.conn.execute("SELECT state FROM petitions WHERE id = ?", (pid,)).fetchone()
    if row is None:
        raise KeyError(pid)
    before = str(row[0])
    states.check(before, target)
    db.conn.execute(  # not reached while _FOLLOWS agrees with states.TRANSITIONS
        "INSERT INTO events (petition, at, actor, from_state, to_state, note) VALUES (?,?,?,?,?,?)",
        (pid, stamp, actor, before, target, note))
    return before


def _set_clause(fields: dict[str, object]) -> tuple[str, tuple] | None:
    """`SET ...` for `fields` that leaves every epoch twin right when an ISO time is among them (the
    twins of the others from their unchanged columns), so no trigger rewrites the row after it; None
    when a time is neither text nor None (SQLite would compute its twin from the stored text) or a
    twin is set by name."""
    timed = [k for k in fields if k in _TWINS]
    if not timed:
        return ", ".join(f"{k} = ?" for k in fields), tuple(fields.values())
    if any(k in _TWIN_NAMES for k in fields) or not all(
            fields[k] is None or isinstance(fields[k], str) for k in timed):
        return None
    twins = [f"{twin} = unixepoch(?)" if iso_column in fields else f"{twin} = unixepoch({iso_column})"
             for iso_column, twin in _TWINS.items()]
    return (", ".join([f"{k} = ?" for k in fields] + twins),
            (*fields.values(), *(fields[k] for k in _TWINS if k in fields)))


def transition(
    db: Database, pid: int, target: str, *, actor: str, now: datetime, note: str | None = None,
    **changes: object,
) -> dict:
    """Move petition `pid` to `target` (checked against the state table) and log the event; returns
    the row as stored.

    Two statements: the event (written only when the move is allowed, see `_log_transition`), then an
    UPDATE whose RETURNING is the row as stored (see `_set_clause`)."""
    stamp = iso(now)
    _log_transition(db, pid, target, actor, note, stamp)
    fields = {"state": target, "updated_at": stamp, **changes}
    column = _STAMPS.get(target)
    if column and column not in changes:
        fields[column] = stamp
    clause = _set_clause(fields)
    if clause is not None:
        row = returning(db, f"UPDATE petitions SET {clause[0]} WHERE id = ? RETURNING *", (*clause[1], pid))
        if row is not None:
            return row
    else:
        assignments = ", ".join(f"{k} = ?" for k in fields)
        db.conn.execute(f"UPDATE petitions SET {assignments} WHERE id = ?", (*fields.values(), pid))
    return get(db, pid) or {}


def create_merged(
    db: Database, *, resident: str, building: str | None, grid: str | None, category: str,
    text: str, now: datetime, into: int, actor: str, note: str,
) -> int:
    """A report filed and at once merged into open petition `into`: the same row and events as
    `create` followed by `transition(..., "merged", merged_into=into)` (submitted, then merged, both
    at `now`), written by one INSERT (the statistics triggers run once instead of three times)."""
    states.check("submitted", "merged")
    stamp = iso(now)
    pid = inserted_id(
        db, "INSERT INTO petitions (resident, building, grid, category, text, state, urgent, private,"
        " created_at, updated_at, merged_into, created_ts)"
        " VALUES (?, ?, ?, ?, ?, 'merged', 0, 0, ?, ?, ?, unixepoch(?)) RETURNING id",
        (resident, building, grid, category, text, stamp, stamp, into, stamp),
    )
    db.conn.execute(  # both events in one statement (one AUTOINCREMENT bookkeeping, one statement run)
        "INSERT INTO events (petition, at, actor, from_state, to_state, note)"
        " VALUES (?, ?, ?, NULL, 'submitted', ?), (?, ?, ?, 'submitted', 'merged', ?)",
        (pid, stamp, resident, text, pid, stamp, actor, note))
    return pid


def note(db: Database, pid: int, *, actor: str, now: datetime, text: str) -> None:
    """A note (progress, urge, reason) that does not change the state: the event reads the state in
    the statement that writes it."""
    cur = db.conn.execute(
        "INSERT INTO events (petition, at, actor, from_state, to_state, note)"
        " SELECT id, ?, ?, state, state, ? FROM petitions WHERE id = ?", (iso(now), actor, text, pid))
    if cur.rowcount == 0:
        raise KeyError(pid)
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


def open_urgent(db: Database) -> list[dict]:
    """Urgent petitions not yet resolved (emergencies), oldest first."""
    return list(db.query(f"SELECT * FROM petitions WHERE urgent = 1 AND state IN ({_OPEN}) ORDER BY id"))


def failed_inbound(db: Database, limit: int = 50) -> list[dict]:
    """Messages whose handling failed, kept for staff, newest first."""
    return list(db.query("SELECT at, channel, sender, kind, text FROM failed_inbound ORDER BY id DESC LIMIT ?",
                         (limit,)))


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
    return inserted_id(
        db, "INSERT INTO items (kind, resident, building, text, status, created_at) VALUES (?,?,?,?,?,?) RETURNING id",
        (kind, resident, building, text, "pending", iso(now)))
