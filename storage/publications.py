"""Staff-approved publication of 办结 notes in building groups (SPEC §7)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlite_utils import Database

from storage import states
from storage.petitions import iso


def published(db: Database, petition: int, resolved_at: str) -> dict | None:
    """The publication approving this resolution of the petition, if any."""
    return next(db.query("SELECT * FROM group_publications WHERE petition = ? AND resolved_at = ?",
                         (petition, resolved_at)), None)


def record(db: Database, petition: int, resolved_at: str, text: str, approved_by: str, now: datetime) -> None:
    db.conn.execute("INSERT INTO group_publications (petition, resolved_at, text, approved_by, at)"
                    " VALUES (?,?,?,?,?)", (petition, resolved_at, text, approved_by, iso(now)))


def awaiting(db: Database, private_categories: Iterable[str], limit: int = 10) -> list[dict]:
    """Resolved public petitions of a building with a group whose 办结 note no staff has published yet,
    newest resolution first."""
    private = sorted(private_categories)
    marks = ",".join("?" * len(private)) or "''"
    return list(db.query(
        "SELECT p.* FROM petitions p JOIN buildings b ON b.id = p.building"
        f" WHERE p.state IN ({states.marks(states.DONE)}) AND p.resolved_at IS NOT NULL"
        " AND coalesce(p.resolution, '') != '' AND p.private = 0 AND coalesce(b.grp, '') != ''"
        f" AND p.category NOT IN ({marks})"
        " AND NOT EXISTS (SELECT 1 FROM group_publications g WHERE g.petition = p.id"
        " AND g.resolved_at = p.resolved_at)"
        " ORDER BY p.resolved_at DESC, p.id DESC LIMIT ?", (*private, limit)))
