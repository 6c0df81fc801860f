"""Reads for the office pages of the workbench (/admin/announcements … /admin/deliveries) that the other
storage modules lack, and the two writes of those pages that are no chat command (a suggestion marked
handled, a roster import). Every list is bounded (LIMIT) and read through an index (migration 160):
none of these pages reads the petitions table beyond single rows by id."""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from storage import deliberation, org
from storage.db import one, rows, transaction
from storage.petitions import iso
from storage.roster import Org

PAGE = 100


def _marks(values: list) -> str:
    return ",".join("?" * len(values)) or "NULL"


# --- announcements -------------------------------------------------------------------------------------

def announcements(db: Database, limit: int = PAGE, before: int = 0) -> list[dict]:
    """Newest first (older than id `before`, when given), each with `state`: scheduled, sent or cancelled."""
    found = rows(db, "SELECT * FROM announcements WHERE id < ? ORDER BY id DESC LIMIT ?",
                 (before or 2**62, limit))
    for a in found:
        a["state"] = "cancelled" if a["cancelled_at"] else "sent" if a["sent_at"] else "scheduled"
    return found


def deliveries(db: Database, refs: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    """{ref: {building: {status: count}}} for outbox rows of these refs to groups and buildings' residents
    (a building without a group is fanned out to its residents: those rows count for their building).
    A resident's building is looked up row by row (a primary-key read each): PostgreSQL otherwise hashes
    every resident for the join, ten times slower at 200,000 residents."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    if not refs:
        return out
    for r in rows(db, f"""
            SELECT o.ref, CASE WHEN o.target_kind IN ('group', 'fanout') THEN o.target_id
                               ELSE coalesce((SELECT r.building FROM residents AS r WHERE r.openid = o.target_id),
                                             '') END AS building,
                   o.target_kind, o.status, count(*) AS n
            FROM outbox AS o
            WHERE o.ref IN ({_marks(refs)}) AND o.target_kind IN ('group', 'fanout', 'resident')
            GROUP BY 1, 2, 3, 4""", tuple(refs)):
        if r["target_kind"] == "fanout" and r["status"] == "sent":
            continue   # handed on to the residents' own rows
        per = out.setdefault(r["ref"], {}).setdefault(r["building"], {})
        per[r["status"]] = per.get(r["status"], 0) + r["n"]
    return out


def ref_targets(db: Database, ref: str) -> list[dict]:
    """Outbox rows of one ref (what a test or a page checks was queued), oldest first."""
    return rows(db, "SELECT id, target_kind, target_id, status FROM outbox WHERE ref = ? ORDER BY id", (ref,))


# --- 亲邻议事 -------------------------------------------------------------------------------------------

def topics(db: Database, limit: int = PAGE) -> list[dict]:
    """Newest first, with the petition each was opened from (its building and state) and its votes' count."""
    return rows(db, """
        SELECT t.*, p.building AS petition_building, p.state AS petition_state,
               (SELECT count(*) FROM votes AS v WHERE v.topic = t.id) AS votes
        FROM topics AS t LEFT JOIN petitions AS p ON p.id = t.petition
        ORDER BY t.id DESC LIMIT ?""", (limit,))


def votes(db: Database, limit: int = PAGE) -> list[dict]:
    """Newest first, each with `turnout`: {building: (ballots, households)} against the electorate fixed
    at the opening (a vote older than the roll: households as they are now), `voted`, `eligible`, and
    for a closed vote its stored `result`."""
    found = rows(db, "SELECT * FROM votes ORDER BY id DESC LIMIT ?", (limit,))
    for v in found:
        v["options"] = json.loads(v["options"])
        v["buildings"] = json.loads(v["buildings"])
        v["result"] = json.loads(v["result"]) if v["result"] else None
        if v["electorate"]:
            electorate = {str(k): int(n) for k, n in json.loads(v["electorate"]).items()}
        else:
            electorate = {bid: deliberation.eligible_households(db, [bid]) for bid in v["buildings"]}
        cast = dict(db.conn.execute("SELECT building, count(*) FROM ballots WHERE vote = ? GROUP BY building",
                                    (v["id"],)).fetchall())
        v["turnout"] = {bid: (min(cast.get(bid, 0), n), n) for bid, n in electorate.items()}
        v["voted"] = sum(c for c, _ in v["turnout"].values())
        v["eligible"] = sum(electorate.values())
    return found


# --- items: 微心愿 and suggestions (需求清单) --------------------------------------------------------------

def items(db: Database, kind: str, status: str | None = None, limit: int = PAGE) -> list[dict]:
    """Items of one kind (wish, suggestion), newest first, with the building's name and, for a wish,
    the name of the party member who claimed it (no other personal data)."""
    where, args = ("i.kind = ?", [kind]) if status is None else ("i.kind = ? AND i.status = ?", [kind, status])
    return rows(db, f"""
        SELECT i.id, i.kind, i.building, b.name AS building_name, i.text, i.status, i.created_at,
               i.updated_at, i.review_note, i.claimed_by, c.name AS claimed_by_name
        FROM items AS i LEFT JOIN buildings AS b ON b.id = i.building
             LEFT JOIN residents AS c ON c.openid = i.claimed_by
        WHERE {where} ORDER BY i.id DESC LIMIT ?""", (*args, limit))


def item_counts(db: Database, kind: str) -> dict[str, int]:
    return dict(db.conn.execute("SELECT status, count(*) FROM items WHERE kind = ? GROUP BY status",
                                (kind,)).fetchall())


def mark_suggestion(db: Database, iid: int, status: str, now: datetime) -> bool:
    """A suggestion's status as staff set it (pending, handled); False when there is no such suggestion."""
    cur = db.conn.execute("UPDATE items SET status = ?, updated_at = ? WHERE id = ? AND kind = 'suggestion'",
                          (status, iso(now), iid))
    return cur.rowcount > 0


# --- disclosure ----------------------------------------------------------------------------------------

def disclosures(db: Database, kind: str, limit: int = PAGE) -> list[dict]:
    """Items of one kind (proactive, request) newest first; a request with its requester's name (staff only)."""
    return rows(db, """
        SELECT d.*, r.name AS requester_name FROM disclosures AS d
        LEFT JOIN residents AS r ON r.openid = d.requester
        WHERE d.kind = ? ORDER BY d.id DESC LIMIT ?""", (kind, limit))


# --- the roster ----------------------------------------------------------------------------------------

def roster(db: Database) -> dict:
    """Staff, grids (with their workers), buildings (with their bound residents counted)."""
    bound = dict(db.conn.execute("SELECT building, count(*) FROM residents WHERE building IS NOT NULL"
                                 " AND building <> '' GROUP BY building").fetchall())
    grids = org.grids(db)
    for g in grids:
        g["workers"] = org.grid_workers(db, g["id"])
    buildings = org.buildings(db)
    for b in buildings:
        b["aliases"] = json.loads(b["aliases"] or "[]")
        b["bound"] = bound.get(b["id"], 0)
    return {"communities": rows(db, "SELECT id, name FROM communities ORDER BY id"), "staff": org.staff_list(db), "grids": grids,
            "buildings": buildings}


def bound_residents(db: Database, building: str | None = None, limit: int = 200, offset: int = 0) -> list[dict]:
    """Residents bound to a building (one building, or all), by building and room, a page at a time
    (a resident with no room first: SQLite's order of NULLs, which PostgreSQL puts last unless told)."""
    cols = "openid, name, building, unit, room, phone, role, subscribed"
    if building:
        return rows(db, f"SELECT {cols} FROM residents WHERE building = ? ORDER BY room NULLS FIRST, openid LIMIT ? OFFSET ?",
                    (building, limit, offset))
    return rows(db, f"SELECT {cols} FROM residents WHERE building > '' ORDER BY building, room NULLS FIRST, openid"
                    " LIMIT ? OFFSET ?", (limit, offset))


def import_roster(db: Database, parsed: Org) -> dict[str, int]:
    """Store a parsed roster in one transaction; storage.org.store validates it against the store first
    (every problem in one OrgError, and nothing written)."""
    with transaction(db):
        return org.store(db, parsed)


# --- deliveries ----------------------------------------------------------------------------------------

def failed_deliveries(db: Database, limit: int = 200) -> list[dict]:
    """Failed outbox rows, newest first, with the resident's name and building for a resident row."""
    return rows(db, """
        SELECT o.id, o.created_at, o.target_kind, o.target_id, o.text, o.ref, o.attempts, o.last_error,
               r.name AS resident_name, r.building AS resident_building
        FROM outbox AS o LEFT JOIN residents AS r ON o.target_kind = 'resident' AND r.openid = o.target_id
        WHERE o.status = 'failed' ORDER BY o.id DESC LIMIT ?""", (limit,))


def outbox_row(db: Database, oid: int) -> dict | None:
    return one(db, "SELECT id, status, attempts, target_kind, target_id FROM outbox WHERE id = ?", (oid,))
