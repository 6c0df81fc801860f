"""Followers of merged reports, topics (议题), votes and ballots, disclosure items: small queries."""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from storage.db import one
from storage.petitions import iso


def followers(db: Database, pid: int) -> list[str]:
    return [r["resident"] for r in db.query("SELECT resident FROM followers WHERE petition = ? ORDER BY at",
                                            (pid,))]


def add_follower(db: Database, pid: int, resident: str, source: int | None, now: datetime) -> None:
    db.conn.execute("INSERT OR IGNORE INTO followers (petition, resident, source, at) VALUES (?,?,?,?)",
                    (pid, resident, source, iso(now)))


def remove_followers_from(db: Database, pid: int, source: int) -> None:
    db.conn.execute("DELETE FROM followers WHERE petition = ? AND source = ?", (pid, source))


def household(resident: dict) -> str:
    """A household is a building and room; a resident who gave no room counts as one household."""
    if resident.get("building") and resident.get("room"):
        return f"{resident['building']}:{resident['room']}"
    return f"resident:{resident['openid']}"


def is_following(db: Database, pid: int, resident: str) -> bool:
    return db.conn.execute("SELECT 1 FROM followers WHERE petition = ? AND resident = ?",
                           (pid, resident)).fetchone() is not None


# `household` in SQL: one query per merged report instead of one per follower (it runs on every repeat)
_HOUSEHOLDS = """
SELECT count(DISTINCT CASE WHEN r.building <> '' AND r.room <> '' THEN r.building || ':' || r.room
                           ELSE 'resident:' || ids.resident END)
FROM (SELECT resident FROM petitions WHERE id = :pid
      UNION ALL SELECT resident FROM followers WHERE petition = :pid) AS ids
LEFT JOIN residents AS r ON r.openid = ids.resident"""


def households_raising(db: Database, pid: int) -> int:
    """Households behind petition `pid`: its resident's and its followers', as `household` counts them."""
    return int(db.conn.execute(_HOUSEHOLDS, {"pid": pid}).fetchone()[0])


# --- topics ---------------------------------------------------------------------------------------

def topic(db: Database, tid: int) -> dict | None:
    return one(db, "SELECT * FROM topics WHERE id = ?", (tid,))


def topic_for_petition(db: Database, pid: int) -> dict | None:
    return one(db, "SELECT * FROM topics WHERE petition = ?", (pid,))


def create_topic(db: Database, *, petition: int | None, title: str, actor: str, reason: str,
                 now: datetime) -> int:
    cur = db.conn.execute(
        "INSERT INTO topics (petition, title, status, opened_by, reason, created_at, updated_at)"
        " VALUES (?, ?, 'open', ?, ?, ?, ?)", (petition, title, actor, reason, iso(now), iso(now)))
    tid = int(cur.lastrowid or 0)
    topic_event(db, tid, actor, reason, now)
    return tid


def topic_event(db: Database, tid: int, actor: str, note: str, now: datetime, status: str | None = None) -> None:
    db.conn.execute("INSERT INTO topic_events (topic, at, actor, note) VALUES (?,?,?,?)",
                    (tid, iso(now), actor, note))
    if status:
        db.conn.execute("UPDATE topics SET status = ?, updated_at = ? WHERE id = ?", (status, iso(now), tid))


def topic_history(db: Database, tid: int) -> list[dict]:
    return list(db.query("SELECT * FROM topic_events WHERE topic = ? ORDER BY id", (tid,)))


# --- votes ------------------------------------------------------------------------------------------

def create_vote(db: Database, *, topic: int, question: str, options: list[str], buildings: list[str],
                deadline: datetime, participation: str, approval: str, actor: str, now: datetime) -> int:
    cur = db.conn.execute(
        "INSERT INTO votes (topic, question, options, buildings, deadline, participation, approval, status,"
        " created_by, created_at) VALUES (?,?,?,?,?,?,?, 'open', ?, ?)",
        (topic, question, json.dumps(options, ensure_ascii=False), json.dumps(buildings), iso(deadline),
         participation, approval, actor, iso(now)))
    return int(cur.lastrowid or 0)


def _vote_row(row: dict | None) -> dict | None:
    if row is not None:
        row["options"] = json.loads(row["options"])
        row["buildings"] = json.loads(row["buildings"])
    return row


def vote(db: Database, vid: int) -> dict | None:
    return _vote_row(one(db, "SELECT * FROM votes WHERE id = ?", (vid,)))


def open_votes(db: Database) -> list[dict]:
    return [v for r in db.query("SELECT * FROM votes WHERE status = 'open' ORDER BY id")
            if (v := _vote_row(r)) is not None]


def due_votes(db: Database, now: datetime) -> list[dict]:
    return [v for v in open_votes(db) if v["deadline"] <= iso(now)]


def cast(db: Database, vid: int, household_key: str, resident: str, option: int, now: datetime) -> bool:
    """Record a household's ballot; True when it replaced an earlier one."""
    earlier = one(db, "SELECT 1 FROM ballots WHERE vote = ? AND household = ?", (vid, household_key))
    db.conn.execute("INSERT OR REPLACE INTO ballots (vote, household, resident, option, at) VALUES (?,?,?,?,?)",
                    (vid, household_key, resident, option, iso(now)))
    return earlier is not None


def ballots(db: Database, vid: int) -> list[dict]:
    return list(db.query("SELECT * FROM ballots WHERE vote = ?", (vid,)))


def eligible_households(db: Database, buildings: list[str]) -> int:
    """Households in scope: the buildings' declared counts, else the households bound to them."""
    total = 0
    for bid in buildings:
        b = one(db, "SELECT households FROM buildings WHERE id = ?", (bid,))
        if b and b["households"]:
            total += int(b["households"])
        else:
            total += len({household(r) for r in db.query(
                "SELECT * FROM residents WHERE building = ? AND subscribed = 1", (bid,))})
    return total


def close_vote(db: Database, vid: int, result: dict) -> None:
    db.conn.execute("UPDATE votes SET status = 'closed', result = ? WHERE id = ?",
                    (json.dumps(result, ensure_ascii=False), vid))


def closed_votes(db: Database) -> list[dict]:
    rows = [v for r in db.query("SELECT * FROM votes WHERE status = 'closed' ORDER BY id DESC")
            if (v := _vote_row(r)) is not None]
    for v in rows:
        v["result"] = json.loads(v["result"] or "{}")
    return rows


# --- disclosure ---------------------------------------------------------------------------------------

def add_disclosure(db: Database, *, kind: str, title: str, body: str | None, requester: str | None,
                   status: str, due_at: datetime | None, now: datetime) -> int:
    cur = db.conn.execute(
        "INSERT INTO disclosures (kind, title, body, requester, status, due_at, created_at) VALUES (?,?,?,?,?,?,?)",
        (kind, title, body, requester, status, iso(due_at) if due_at else None, iso(now)))
    return int(cur.lastrowid or 0)


def disclosure(db: Database, did: int) -> dict | None:
    return one(db, "SELECT * FROM disclosures WHERE id = ?", (did,))


def answer_disclosure(db: Database, did: int, answer: str, actor: str, now: datetime) -> None:
    db.conn.execute("UPDATE disclosures SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?"
                    " WHERE id = ?", (answer, actor, iso(now), did))


def public_disclosures(db: Database) -> list[dict]:
    return list(db.query("SELECT id, kind, title, body, status, due_at, answer, answered_at, created_at"
                         " FROM disclosures ORDER BY id DESC"))


def overdue_requests(db: Database, now: datetime) -> list[dict]:
    return list(db.query(
        "SELECT * FROM disclosures WHERE kind = 'request' AND status = 'pending' AND due_at <= ?"
        " AND overdue_notified_at IS NULL ORDER BY id", (iso(now),)))


def mark_overdue_notified(db: Database, did: int, now: datetime) -> None:
    db.conn.execute("UPDATE disclosures SET overdue_notified_at = ? WHERE id = ?", (iso(now), did))
