"""What the clocks read and write: due steps on petitions, periodic job runs, scheduled notices, visits."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import inserted_id
from storage.petitions import iso

# columns holding when a step is due; each is cleared or moved on by the step itself
DUE_COLUMNS = frozenset({"sign_remind_at", "feedback_remind_at", "resolve_remind_at", "escalate_at",
                         "followup_at", "autoclose_at"})


def due(db: Database, column: str, now: datetime, states: tuple[str, ...]) -> list[dict]:
    """Petitions in `states` whose `column` time has come, oldest first."""
    if column not in DUE_COLUMNS:
        raise ValueError(column)
    marks = ",".join("?" for _ in states)
    rows = db.query(f"SELECT * FROM petitions WHERE {column} IS NOT NULL AND state IN ({marks})"
                    f" ORDER BY {column}, id", states)
    return [r for r in rows if datetime.fromisoformat(r[column]) <= now]


def stale(db: Database, column: str, states: tuple[str, ...]) -> None:
    """Clear `column` on petitions that left `states` (the step no longer applies)."""
    if column not in DUE_COLUMNS:
        raise ValueError(column)
    marks = ",".join("?" for _ in states)
    db.conn.execute(f"UPDATE petitions SET {column} = NULL WHERE {column} IS NOT NULL"
                    f" AND state NOT IN ({marks})", states)


def set_fields(db: Database, pid: int, **fields: object) -> None:
    assignments = ", ".join(f"{k} = ?" for k in fields)
    db.conn.execute(f"UPDATE petitions SET {assignments} WHERE id = ?", (*fields.values(), pid))


def claim_run(db: Database, job: str, period: str, now: datetime, detail: str | None = None) -> bool:
    """Record that `job` ran for `period`; False when it already had (so it never runs twice)."""
    cur = db.conn.execute("INSERT INTO job_runs (job, period, at, detail) VALUES (?,?,?,?)"
                          " ON CONFLICT (job, period) DO NOTHING", (job, period, iso(now), detail))
    return cur.rowcount == 1


def runs(db: Database, job: str) -> list[dict]:
    return list(db.query("SELECT * FROM job_runs WHERE job = ? ORDER BY period", (job,)))


def due_announcements(db: Database, now: datetime) -> list[dict]:
    rows = db.query("SELECT * FROM announcements WHERE send_at IS NOT NULL AND sent_at IS NULL ORDER BY id")
    return [r for r in rows if datetime.fromisoformat(r["send_at"]) <= now]


def add_visit(db: Database, worker: str, building: str | None, room: str | None, note: str,
              now: datetime) -> int:
    return inserted_id(db, "INSERT INTO visits (worker, building, room, note, at) VALUES (?,?,?,?,?) RETURNING id",
                       (worker, building, room, note, iso(now)))


def link_visit(db: Database, visit: int, petition: int) -> None:
    db.conn.execute("UPDATE visits SET petition = ? WHERE id = ?", (petition, visit))


def visits_since(db: Database, worker: str, since: datetime) -> int:
    rows = db.query("SELECT at FROM visits WHERE worker = ?", (worker,))
    return sum(1 for r in rows if datetime.fromisoformat(r["at"]) >= since)
