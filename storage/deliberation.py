"""Followers of merged reports, topics (议题), votes and ballots, disclosure items: small queries."""

from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from storage.db import inserted_id, one, rows
from storage.petitions import iso
from storage.states import OPEN_STATES


def followers(db: Database, pid: int) -> list[str]:
    return [r["resident"] for r in db.query("SELECT resident FROM followers WHERE petition = ? ORDER BY at",
                                            (pid,))]


# the household key of a resident in SQL, as `household` makes it
_KEY = "CASE WHEN r.building <> '' AND r.room <> '' THEN r.building || ':' || r.room ELSE 'resident:' || {id} END"
_FOLLOW = f"""
INSERT INTO followers (petition, resident, source, at, household)
SELECT :pid, :res, :source, :at, {_KEY.format(id=":res")}
FROM (SELECT 1) AS one LEFT JOIN residents AS r ON r.openid = :res
WHERE TRUE
ON CONFLICT (petition, resident) DO NOTHING"""
# (the WHERE keeps SQLite from reading ON CONFLICT as the join's ON; PostgreSQL 15 wants the alias)
# one more household when no other follower and not the petition's own resident share the new one's
_ONE_MORE = f"""
UPDATE household_counts SET households = households + 1
WHERE petition = :pid
  AND NOT EXISTS (SELECT 1 FROM followers AS f WHERE f.petition = :pid AND f.resident <> :res
                  AND f.household = (SELECT household FROM followers WHERE petition = :pid AND resident = :res))
  AND (SELECT household FROM followers WHERE petition = :pid AND resident = :res) IS DISTINCT FROM
      (SELECT {_KEY.format(id="p.resident")} FROM petitions AS p LEFT JOIN residents AS r ON r.openid = p.resident
       WHERE p.id = :pid)"""


def add_follower(db: Database, pid: int, resident: str, source: int | None, now: datetime) -> None:
    args = {"pid": pid, "res": resident, "source": source, "at": iso(now)}
    if db.conn.execute(_FOLLOW, args).rowcount == 1:
        db.conn.execute(_ONE_MORE, args)


def remove_followers_from(db: Database, pid: int, source: int) -> None:
    db.conn.execute("DELETE FROM followers WHERE petition = ? AND source = ?", (pid, source))


def household(resident: dict) -> str:
    """A household is a building and room; a resident who gave no room counts as one household."""
    if resident.get("building") and resident.get("room"):
        return f"{resident['building']}:{resident['room']}"
    return f"resident:{resident['openid']}"


# the open states as literals, exactly as the partial index of migration 071 names them (SQLite uses a
# partial index only when the query repeats its WHERE term; bound parameters would not match)
_OPEN_LITERALS = ", ".join(f"'{s}'" for s in OPEN_STATES)


def open_candidates(db: Database, building: str, category: str, since: str,
                    limit: int) -> list[tuple[int, str]]:
    """(id, text) of the open petitions of a building and category filed since `since`, oldest first;
    only the newest `limit` of them, so the duplicate check of one report is bounded."""
    found = db.conn.execute(
        "SELECT id, text FROM petitions WHERE building = ? AND category = ? AND created_at >= ?"
        f" AND state IN ({_OPEN_LITERALS}) ORDER BY id DESC LIMIT ?", (building, category, since, limit)).fetchall()
    return [(int(pid), text) for pid, text in reversed(found)]


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
    """Households behind petition `pid`: its resident's and its followers', as `household` counts them
    (kept in `household_counts` as followers join; counted again when the row is missing)."""
    row = db.conn.execute("SELECT households FROM household_counts WHERE petition = ?", (pid,)).fetchone()
    if row is not None:
        return int(row[0])
    count = int(db.conn.execute(_HOUSEHOLDS, {"pid": pid}).fetchone()[0])
    db.conn.execute("INSERT INTO household_counts (petition, households) VALUES (?, ?)"
                    " ON CONFLICT (petition) DO UPDATE SET households = excluded.households", (pid, count))
    return count


# --- topics ---------------------------------------------------------------------------------------

def topic(db: Database, tid: int) -> dict | None:
    return one(db, "SELECT * FROM topics WHERE id = ?", (tid,))


def topic_for_petition(db: Database, pid: int) -> dict | None:
    return one(db, "SELECT * FROM topics WHERE petition = ?", (pid,))


def create_topic(db: Database, *, petition: int | None, title: str, actor: str, reason: str,
                 now: datetime) -> int:
    tid = inserted_id(
        db, "INSERT INTO topics (petition, title, status, opened_by, reason, created_at, updated_at)"
        " VALUES (?, ?, 'open', ?, ?, ?, ?) RETURNING id", (petition, title, actor, reason, iso(now), iso(now)))
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
    return inserted_id(
        db, "INSERT INTO votes (topic, question, options, buildings, deadline, participation, approval, status,"
        " created_by, created_at) VALUES (?,?,?,?,?,?,?, 'open', ?, ?) RETURNING id",
        (topic, question, json.dumps(options, ensure_ascii=False), json.dumps(buildings), iso(deadline),
         participation, approval, actor, iso(now)))


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


def ballots(db: Database, vid: int) -> list[dict]:
    return rows(db, "SELECT * FROM ballots WHERE vote = ?", (vid,))


def eligible_households(db: Database, buildings: list[str]) -> int:
    """Households in scope now: the buildings' declared counts, else the households bound to them."""
    return sum(_building_electorate(db, bid) for bid in buildings)


def _building_electorate(db: Database, bid: str) -> int:
    declared = declared_households(db, bid)
    if declared:
        return declared
    return len({household(r) for r in rows(
        db, "SELECT openid, building, room FROM residents WHERE building = ? AND subscribed = 1", (bid,))})


def declared_households(db: Database, bid: str) -> int | None:
    """The household count the org file gives a building (None when it gives none)."""
    row = db.conn.execute("SELECT households FROM buildings WHERE id = ?", (bid,)).fetchone()
    return int(row[0]) if row and row[0] else None


# --- the electorate, fixed when a vote opens ----------------------------------------------------------

def open_roll(db: Database, vid: int, buildings: list[str], now: datetime) -> dict[str, int]:
    """Fix vote `vid`'s electorate: every resident bound in scope goes on its roll with the household
    they have now (none yet without a room); each building counts its declared households, else the
    households bound to it now. Returns {building: households}."""
    electorate: dict[str, int] = {}
    for bid in buildings:
        electorate[bid] = _building_electorate(db, bid)
        db.conn.execute(
            "INSERT INTO vote_roll (vote, resident, building, household, at)"
            " SELECT ?, openid, building, CASE WHEN room <> '' THEN building || ':' || room END, ?"
            " FROM residents WHERE building = ? AND subscribed = 1"
            " ON CONFLICT (vote, resident) DO NOTHING", (vid, iso(now), bid))
    db.conn.execute("UPDATE votes SET electorate = ? WHERE id = ?", (json.dumps(electorate), vid))
    return electorate


def electorate(db: Database, v: dict, now: datetime) -> dict[str, int]:
    """{building: households} of vote `v`; a vote opened before the roll existed is fixed now."""
    if v.get("electorate"):
        return {str(k): int(n) for k, n in json.loads(v["electorate"]).items()}
    return open_roll(db, v["id"], v["buildings"], now)


def roll_entry(db: Database, vid: int, resident: str) -> dict | None:
    return one(db, "SELECT * FROM vote_roll WHERE vote = ? AND resident = ?", (vid, resident))


def rolled_votes(db: Database, resident: str) -> set[int]:
    """Open votes whose roll holds `resident` (wherever they are bound now)."""
    return {int(r[0]) for r in db.conn.execute(
        "SELECT r.vote FROM vote_roll AS r JOIN votes AS v ON v.id = r.vote"
        " WHERE r.resident = ? AND v.status = 'open'", (resident,))}


def household_claimants(db: Database, vid: int, household_key: str) -> list[str]:
    """Residents the roll of vote `vid` ties to `household_key`."""
    return [r[0] for r in db.conn.execute(
        "SELECT resident FROM vote_roll WHERE vote = ? AND household = ? ORDER BY at, resident",
        (vid, household_key))]


def anchor(db: Database, vid: int, resident: str, building: str, household_key: str, now: datetime) -> None:
    """Tie `resident` to `household_key` for vote `vid` (at their first ballot, when the roll had none)."""
    db.conn.execute(
        "INSERT INTO vote_roll (vote, resident, building, household, at) VALUES (?,?,?,?,?)"
        " ON CONFLICT (vote, resident) DO UPDATE SET building = excluded.building,"
        " household = excluded.household WHERE vote_roll.household IS NULL",
        (vid, resident, building, household_key, iso(now)))


# --- ballots: one per person and one per household ---------------------------------------------------

def ballot_of(db: Database, vid: int, resident: str) -> dict | None:
    return one(db, "SELECT * FROM ballots WHERE vote = ? AND resident = ?", (vid, resident))


def household_ballot(db: Database, vid: int, household_key: str) -> dict | None:
    return one(db, "SELECT * FROM ballots WHERE vote = ? AND household = ?", (vid, household_key))


def ballots_in_building(db: Database, vid: int, building: str) -> int:
    return int(db.conn.execute("SELECT count(*) FROM ballots WHERE vote = ? AND building = ?",
                               (vid, building)).fetchone()[0])


def cast(db: Database, vid: int, household_key: str, building: str, resident: str, option: int,
         now: datetime) -> None:
    """A new ballot: fails (IntegrityError) rather than take over another household's ballot."""
    db.conn.execute("INSERT INTO ballots (vote, household, building, resident, option, at) VALUES (?,?,?,?,?,?)",
                    (vid, household_key, building, resident, option, iso(now)))


def change(db: Database, vid: int, resident: str, option: int, now: datetime) -> None:
    """The person who cast a ballot changes it (the latest before the deadline counts)."""
    db.conn.execute("UPDATE ballots SET option = ?, at = ? WHERE vote = ? AND resident = ?",
                    (option, iso(now), vid, resident))


def record_conflict(db: Database, vid: int, household_key: str, resident: str, now: datetime) -> bool:
    """Note that `resident` claimed a household another resident holds; True the first time."""
    cur = db.conn.execute("INSERT INTO vote_conflicts (vote, household, resident, at) VALUES (?,?,?,?)"
                          " ON CONFLICT (vote, household, resident) DO NOTHING",
                          (vid, household_key, resident, iso(now)))
    return cur.rowcount > 0


def vote_conflicts(db: Database, vid: int) -> list[dict]:
    """Households of vote `vid` that a second resident claimed."""
    return rows(db, "SELECT DISTINCT household FROM vote_conflicts WHERE vote = ? ORDER BY household", (vid,))


_SEP = "\x1f"   # between the names of one room (a parameter: PostgreSQL reads char(31) as a type)


def room_conflicts(db: Database, limit: int = 500) -> list[dict]:
    """Rooms two or more subscribed residents are bound to now, for staff to check (/admin/deliveries):
    building, building_name, room, claimants (count), residents (openids), names (as known). The rooms
    claimed more than once are found in the (building, room) index alone (migration 160), and only
    their residents are read, and the walk stops after the first 2 × `limit` such rooms (a room whose
    second claimant unsubscribed drops out after): the page answers in milliseconds however many rooms
    are claimed twice."""
    found = rows(db, """
        WITH twice AS (SELECT building, room FROM residents WHERE building > '' AND room > ''
                       GROUP BY building, room HAVING count(*) > 1 ORDER BY building, room LIMIT :limit * 2)
        SELECT r.building, max(b.name) AS building_name, r.room, count(*) AS claimants,
               group_concat(r.openid, :sep) AS residents,
               group_concat(coalesce(r.name, ''), :sep) AS names
        FROM twice AS w JOIN residents AS r ON r.building = w.building AND r.room = w.room
             LEFT JOIN buildings AS b ON b.id = r.building
        WHERE r.subscribed = 1
        GROUP BY r.building, r.room HAVING count(*) > 1 ORDER BY r.building, r.room LIMIT :limit""",
        {"limit": limit, "sep": _SEP})
    for row in found:
        row["residents"] = row["residents"].split(_SEP)
        row["names"] = [n for n in row["names"].split(_SEP) if n]
    return found


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
    return inserted_id(
        db, "INSERT INTO disclosures (kind, title, body, requester, status, due_at, created_at)"
        " VALUES (?,?,?,?,?,?,?) RETURNING id",
        (kind, title, body, requester, status, iso(due_at) if due_at else None, iso(now)))


def disclosure(db: Database, did: int) -> dict | None:
    return one(db, "SELECT * FROM disclosures WHERE id = ?", (did,))


def answer_disclosure(db: Database, did: int, answer: str, actor: str, now: datetime) -> None:
    db.conn.execute("UPDATE disclosures SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?"
                    " WHERE id = ?", (answer, actor, iso(now), did))


def public_disclosures(db: Database) -> list[dict]:
    """What /public may show: staff's title and body of their own items, a request's number, state and
    staff's answer; never a requester, nor a request's own text."""
    return rows(db, "SELECT id, kind, CASE WHEN kind = 'proactive' THEN title END AS title,"
                    " CASE WHEN kind = 'proactive' THEN body END AS body, status, due_at,"
                    " CASE WHEN status = 'answered' THEN answer END AS answer, answered_at, created_at"
                    " FROM disclosures ORDER BY id DESC")


def overdue_requests(db: Database, now: datetime) -> list[dict]:
    return list(db.query(
        "SELECT * FROM disclosures WHERE kind = 'request' AND status = 'pending' AND due_at <= ?"
        " AND overdue_notified_at IS NULL ORDER BY id", (iso(now),)))


def mark_overdue_notified(db: Database, did: int, now: datetime) -> None:
    db.conn.execute("UPDATE disclosures SET overdue_notified_at = ? WHERE id = ?", (iso(now), did))
