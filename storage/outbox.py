"""The persistent outbox: messages written in the same transaction as the change that causes them.

A row is claimed before it is sent (`claim`: status 'sending', the instance and until when), so that
of several instances on one store only one sends it; a claim that lapses (its instance died mid-send)
makes the row pending again. Every way a claimed row ends sets its status: sent, failed, or pending
again (a retry, a postponement)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import inserted_id, rows
from storage.instances import lock_destination, shared
from storage.petitions import iso


def enqueue(db: Database, target_kind: str, target_id: str, text: str, now: datetime,
            ref: str | None = None) -> int:
    return inserted_id(
        db, "INSERT INTO outbox (created_at, target_kind, target_id, text, ref, next_at)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (iso(now), target_kind, target_id, text, ref, iso(now)),
    )


def lapse(db: Database, now: datetime) -> int:
    """Claims that lapsed before `now` (their instance died mid-send) are given up: the rows are
    pending again; how many."""
    return db.conn.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND claim_until < ?",
                           (iso(now),)).rowcount


def claim(db: Database, now: datetime, owner: str, until: datetime, limit: int = 50) -> list[dict]:
    """The pending rows due at `now` (at most `limit`, oldest first), now claimed by `owner` until
    `until`; rows another instance is claiming at this moment are skipped, not waited for. `dest` is
    where a row went: none yet (`sending_to` names it once the row passes its rate limit)."""
    skip = " FOR UPDATE SKIP LOCKED" if shared(db) else ""
    found = rows(db, "UPDATE outbox SET status = 'sending', claimed_by = ?, claim_until = ?, dest = NULL WHERE id IN"
                 " (SELECT id FROM outbox WHERE status = 'pending' AND next_at <= ? ORDER BY id LIMIT ?"
                 f"{skip}) RETURNING *", (owner, iso(until), iso(now), limit))
    return sorted(found, key=lambda r: r["id"])


def release(db: Database, owner: str | None, ids: list[int] | None = None) -> int:
    """Claimed rows not sent after all: pending again, for whoever runs next. `owner`'s (it stops, or
    gives back the rows of a pass it did not try: `ids`); None: every claimed row (one process on the
    store, starting again)."""
    where, args = "status = 'sending'", []
    if owner is not None:
        where, args = where + " AND claimed_by = ?", [owner]
    if ids is not None:
        where += f" AND id IN ({','.join('?' for _ in ids)})"
        args += ids
    return db.conn.execute(f"UPDATE outbox SET status = 'pending' WHERE {where}", args).rowcount


def next_due_at(db: Database) -> str | None:
    rows = list(db.query("SELECT min(next_at) AS t FROM outbox WHERE status = 'pending'"))
    return rows[0]["t"] if rows else None


def mark_sent(db: Database, oid: int, now: datetime, via: str, dest: str | None = None) -> None:
    db.conn.execute("UPDATE outbox SET status = 'sent', sent_at = ?, via = ?, dest = ?,"
                    " attempts = attempts + 1 WHERE id = ?", (iso(now), via, dest, oid))


def mark_retry(db: Database, oid: int, now: datetime, delay: float, error: str, via: str | None = None) -> None:
    """One more failed attempt; the next one after `delay` seconds. `via`: the channel it was tried on
    (kept on the pending row, so the backlog of one API can be found when that API answers again)."""
    db.conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = attempts + 1, next_at = ?, last_error = ?,"
        " via = coalesce(?, via)"
        " WHERE id = ?",
        (iso(now + timedelta(seconds=delay)), error[:500], via, oid))


def mark_failed(db: Database, oid: int, error: str) -> None:
    db.conn.execute("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?"
                    " WHERE id = ?", (error[:500], oid))


def for_ref(db: Database, ref: str) -> list[dict]:
    return list(db.query("SELECT * FROM outbox WHERE ref = ? ORDER BY id", (ref,)))


def sent_since(db: Database, via: str, dest: str, since: datetime, now: datetime) -> list[str]:
    """When messages went out to one destination through one channel since `since`, oldest first,
    counting those on their way there (by any instance) as going out `now`. Holds the destination's
    lock until the transaction ends, so that no other instance counts meanwhile."""
    lock_destination(db, via, dest)
    sent = [r["sent_at"] for r in db.query(
        "SELECT sent_at FROM outbox WHERE status = 'sent' AND via = ? AND dest = ? AND sent_at > ?"
        " ORDER BY sent_at", (via, dest, iso(since)))]
    going = db.conn.execute("SELECT count(*) FROM outbox WHERE status = 'sending' AND via = ? AND dest = ?",
                            (via, dest)).fetchone()[0]
    return sent + [iso(now)] * int(going)


def sending_to(db: Database, oid: int, via: str, dest: str) -> None:
    """A claimed row will go to this destination: other instances count it against the rate limit."""
    db.conn.execute("UPDATE outbox SET via = ?, dest = ? WHERE id = ?", (via, dest, oid))


def postpone(db: Database, oid: int, until: datetime, via: str | None = None) -> None:
    """Wait for a rate limit or for an API that does not answer: not an attempt, not an error."""
    db.conn.execute("UPDATE outbox SET status = 'pending', next_at = ?, via = coalesce(?, via) WHERE id = ?",
                    (iso(until), via, oid))


def _in(vias: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in vias)


def resume(db: Database, vias: tuple[str, ...], now: datetime) -> int:
    """Pending rows waiting to be tried again on these channels are due now; returns how many."""
    cur = db.conn.execute(
        f"UPDATE outbox SET next_at = ? WHERE status = 'pending' AND next_at > ? AND via IN ({_in(vias)})",
        (iso(now), iso(now), *vias))
    return cur.rowcount


def probe(db: Database, vias: tuple[str, ...], now: datetime) -> int | None:
    """The pending row on these channels due soonest, made due now (to try whether the API answers)."""
    rows = list(db.query(
        f"SELECT id FROM outbox WHERE status = 'pending' AND next_at > ? AND via IN ({_in(vias)})"
        " ORDER BY next_at, id LIMIT 1", (iso(now), *vias)))
    if not rows:
        return None
    db.conn.execute("UPDATE outbox SET next_at = ? WHERE id = ?", (iso(now), rows[0]["id"]))
    return int(rows[0]["id"])


def resend(db: Database, now: datetime, oid: int | None = None) -> list[int]:
    """Failed rows (one, or all) back to pending, due now, attempts reset and the retry horizon
    starting again; returns their ids."""
    where, args = ("id = ? AND status = 'failed'", (oid,)) if oid is not None else ("status = 'failed'", ())
    ids = [int(r["id"]) for r in db.query(f"SELECT id FROM outbox WHERE {where} ORDER BY id", args)]
    db.conn.executemany(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_at = ?, retry_from = ?, via = NULL"
        " WHERE id = ? AND status = 'failed'", [(iso(now), iso(now), i) for i in ids])
    return ids
