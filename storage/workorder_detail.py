"""What the workbench shows of one petition (its resident, events, chat thread, followers and merged
petitions) and its board of emergencies and overdue petitions. Each read is a lookup by key or a short
walk of an index: none grows with the number of petitions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage import states
from storage.db import one, rows
from storage.petitions import iso
from storage.workorders import DUE, rows_of

BOARD_SHOWN = 20
THREAD_SHOWN = 200
# the chat around a petition starts a little before it was filed (what the resident said to file it)
THREAD_BEFORE = timedelta(minutes=30)

_OPEN = states.marks(states.OPEN_STATES)
_RUNNING = states.marks(states.RUNNING)


def petition(db: Database, pid: int) -> dict | None:
    """The petition with its building, grid and worker names and its resident's particulars."""
    return one(db, "SELECT p.*, b.name AS building_name, g.name AS grid_name, s.name AS worker_name,"
                   " r.name AS resident_name, r.unit AS resident_unit, r.room AS resident_room,"
                   " r.phone AS resident_phone FROM petitions AS p"
                   " LEFT JOIN buildings AS b ON b.id = p.building LEFT JOIN grids AS g ON g.id = p.grid"
                   " LEFT JOIN staff AS s ON s.userid = p.worker LEFT JOIN residents AS r ON r.openid = p.resident"
                   " WHERE p.id = ?", (pid,))


def timeline(db: Database, pid: int) -> list[dict]:
    """Every event in order, with the actor's name where the actor is on the staff roster or a resident."""
    return rows(db, "SELECT e.*, s.name AS staff_name, r.name AS resident_name, r.openid AS resident_id"
                    " FROM events AS e LEFT JOIN staff AS s ON s.userid = e.actor"
                    " LEFT JOIN residents AS r ON r.openid = e.actor WHERE e.petition = ? ORDER BY e.id", (pid,))


def thread(db: Database, p: dict, now: datetime) -> list[dict]:
    """The resident's chat (what they said, what the bot and the office told them) from a little before
    the petition was filed until it was closed (or now), oldest first, at most THREAD_SHOWN lines; never
    what they said about their previous or next petition (filed after the previous one, before the next
    one): another petition may be another grid's, and its words are not this one's reader's."""
    start = iso(datetime.fromisoformat(p["created_at"]) - THREAD_BEFORE)
    end = iso(datetime.fromisoformat(p["closed_at"]) + timedelta(days=1) if p.get("closed_at") else now)
    previous, following = db.conn.execute(
        "SELECT (SELECT max(created_at) FROM petitions WHERE resident = :r AND id < :id),"
        " (SELECT min(created_at) FROM petitions WHERE resident = :r AND id > :id)",
        {"r": p["resident"], "id": p["id"]}).fetchone()
    low = "at > ?" if previous and previous >= start else "at >= ?"
    high = "at < ?" if following and following <= end else "at <= ?"
    return rows(db, f"SELECT direction, text, at FROM chat_log WHERE kind = 'resident' AND person = ?"
                    f" AND {low} AND {high} ORDER BY id LIMIT ?",
                (p["resident"], max(start, previous or start), min(end, following or end), THREAD_SHOWN))


def followers(db: Database, pid: int) -> list[dict]:
    """Households following the petition (their reports merged into it), with where they live."""
    return rows(db, "SELECT f.resident, f.source, f.at, r.name, r.room, b.name AS building_name"
                    " FROM followers AS f LEFT JOIN residents AS r ON r.openid = f.resident"
                    " LEFT JOIN buildings AS b ON b.id = r.building WHERE f.petition = ? ORDER BY f.at", (pid,))


def merged(db: Database, pid: int) -> list[dict]:
    """The petitions merged into this one (index of migration 142)."""
    return rows(db, "SELECT id, state, created_at, text FROM petitions WHERE merged_into = ? ORDER BY id", (pid,))


def grid_workers(db: Database, grid: str | None) -> list[dict]:
    """Who a petition of `grid` may be dispatched to: the grid's workers and its head, by name; for a
    petition without a grid (an observer's report far from any building), every worker and head."""
    if not grid:
        return rows(db, "SELECT userid, name, role FROM staff WHERE role IN ('worker', 'head')"
                        " ORDER BY role = 'head', name")
    return rows(db, "SELECT s.userid, s.name, s.role FROM staff AS s WHERE s.userid IN"
                    " (SELECT userid FROM grid_workers WHERE grid = ? UNION SELECT head FROM grids WHERE id = ?)"
                    " ORDER BY s.role = 'head', s.name", (grid, grid))


def _scope(scope: frozenset[str] | None) -> tuple[str, tuple]:
    if scope is None:
        return "", ()
    names = sorted(scope)
    return (" AND grid IN (" + ", ".join("?" for _ in names) + ")" if names else " AND 0"), tuple(names)


def urgent_open(db: Database, scope: frozenset[str] | None, limit: int = BOARD_SHOWN) -> list[dict]:
    """Open urgent petitions (emergencies), newest first: a walk of the open ones (index of 142)."""
    where, params = _scope(scope)
    found = [r[0] for r in db.conn.execute(
        f"SELECT id FROM petitions INDEXED BY petitions_desk_open WHERE state IN ({_OPEN}) AND urgent = 1{where}"
        " ORDER BY created_ts DESC, id DESC LIMIT ?", (*params, limit))]
    return _with_signing(db, rows_of(db, found))


def triage(db: Database, limit: int = BOARD_SHOWN) -> list[dict]:
    """Petitions waiting for the office (not dispatched, returned, escalated), the oldest first: a walk
    of the open ones (index of 142)."""
    marks = ", ".join("?" * len(states.TRIAGE))
    found = [r[0] for r in db.conn.execute(
        f"SELECT id FROM petitions INDEXED BY petitions_desk_open WHERE state IN ({_OPEN}) AND state IN ({marks})"
        " ORDER BY created_ts, id LIMIT ?", (*states.TRIAGE, limit))]
    return rows_of(db, found)


def overdue(db: Database, scope: frozenset[str] | None, now: datetime, limit: int = BOARD_SHOWN
            ) -> tuple[list[dict], int]:
    """Running petitions past their deadline, the longest overdue first, and how many there are
    (counted up to 1000: more reads "1000+")."""
    where, params = _scope(scope)
    sql = (f"FROM petitions INDEXED BY petitions_desk_due WHERE state IN ({_RUNNING}) AND {DUE} < ?{where}")
    found = [r[0] for r in db.conn.execute(f"SELECT id {sql} ORDER BY {DUE}, id LIMIT ?",
                                           (int(now.timestamp()), *params, limit))]
    total = db.conn.execute(f"SELECT count(*) FROM (SELECT 1 {sql} LIMIT 1001) AS late",
                            (int(now.timestamp()), *params)).fetchone()[0]
    return _with_signing(db, rows_of(db, found)), int(total)


def _with_signing(db: Database, found: list[dict]) -> list[dict]:
    """Each row with whether its worker has signed for it since it was last dispatched."""
    for r in found:
        r["signed"] = r["state"] not in ("submitted", "assigned", "returned")
    return found
