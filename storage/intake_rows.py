"""The intake journal in the database (PostgreSQL, several instances; bot/journal_db.py drives it).

A callback's message is a row of `intake` before anything is answered. The row names the instance
holding it (`owner`) and until when (`lease_until`, the database's clock in epoch seconds, so the
instances' own clocks do not matter). The holder renews its leases while it lives; it deletes a row in
the transaction that handles the message (with its `inbound` record), and only while it still holds
it. A row whose lease has lapsed (its instance died) is taken over by whichever instance sweeps first
(`FOR UPDATE SKIP LOCKED`). A retry reaching an instance that does not hold the message marks the row
`late`: its replies then go as messages, whoever handles it."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.instances import lock_sender
from storage.petitions import iso

_UNTIL = "extract(epoch from clock_timestamp()) + ?"


def journal(db: Database, owner: str, lease: float, now: datetime,
            records: list[tuple[str, str, str]]) -> set[str]:
    """Insert (key, sender, message JSON) rows held by `owner` for `lease` seconds, in one statement
    (committed on return: the connection is in autocommit mode); the keys inserted now (the others
    are journalled already, by this or another instance)."""
    values = ", ".join(f"(?, ?, ?, ?, ?, {_UNTIL})" for _ in records)
    args: list[object] = []
    for key, sender, message in records:
        args += [key, iso(now), message, sender, owner, lease]
    cur = db.conn.execute(f"INSERT INTO intake (key, at, message, sender, owner, lease_until) VALUES {values}"
                          " ON CONFLICT (key) DO NOTHING RETURNING key", args)
    return {key for (key,) in cur.fetchall()}


def held_by(db: Database, keys: list[str], owner: str) -> set[str]:
    """Which of these keys `owner` holds."""
    marks = ",".join("?" for _ in keys)
    cur = db.conn.execute(f"SELECT key FROM intake WHERE key IN ({marks}) AND owner = ?", (*keys, owner))
    return {key for (key,) in cur.fetchall()}


def mark_late(db: Database, keys: list[str]) -> set[str]:
    """A retry reached this instance while another holds the message: whoever handles it sends its
    replies as messages. The keys still journalled (rows locked in id order, as `renew` locks them)."""
    marks = ",".join("?" for _ in keys)
    cur = db.conn.execute(f"UPDATE intake SET late = 1 WHERE id IN (SELECT id FROM intake WHERE key IN ({marks})"
                          " ORDER BY id FOR UPDATE) RETURNING key", keys)
    return {key for (key,) in cur.fetchall()}


def renew(db: Database, owner: str, lease: float) -> int:
    """This instance lives: its rows are held `lease` seconds more (those its writer is deleting right
    now are skipped, not waited for)."""
    return db.conn.execute(f"UPDATE intake SET lease_until = {_UNTIL} WHERE id IN (SELECT id FROM intake"
                           " WHERE owner = ? ORDER BY id FOR UPDATE SKIP LOCKED)", (lease, owner)).rowcount


def abandon(db: Database, keys: list[str], owner: str) -> int:
    """Rows this instance could not handle (the database failed it every time): no longer held, so the
    next sweep of any instance, this one included, takes them over."""
    marks = ",".join("?" for _ in keys)
    return db.conn.execute(f"UPDATE intake SET owner = NULL, lease_until = 0 WHERE key IN ({marks}) AND owner = ?",
                           (*keys, owner)).rowcount


def take_over(db: Database, owner: str, lease: float, limit: int = 200) -> list[tuple[str, str]]:
    """Rows whose lease has lapsed (or that no instance ever held: a copied or older store), oldest
    first, now held by `owner`, their replies to go as messages: (key, message JSON)."""
    cur = db.conn.execute(
        f"UPDATE intake SET owner = ?, lease_until = {_UNTIL}, late = 1 WHERE id IN ("
        " SELECT id FROM intake WHERE (lease_until IS NULL OR lease_until < extract(epoch from clock_timestamp()))"
        " AND owner IS DISTINCT FROM ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING id, key, message",
        (owner, lease, owner, limit))
    return [(key, message) for _, key, message in sorted(cur.fetchall())]


def release(db: Database, owner: str) -> int:
    """This instance stops: its rows (journalled, not handled) may be taken over at once."""
    return db.conn.execute("UPDATE intake SET lease_until = 0 WHERE owner = ?", (owner,)).rowcount


def take(db: Database, key: str, sender: str, owner: str) -> tuple[bool, bool]:
    """In the transaction that handles the message: wait for the sender's lock, then remove its row if
    this instance still holds it. (held, late): not held means another instance took it over (and
    handles it, or did)."""
    lock_sender(db, sender)
    row = db.conn.execute("DELETE FROM intake WHERE key = ? AND owner = ? RETURNING late", (key, owner)).fetchone()
    return (row is not None, bool(row and row[0]))


def backlog(db: Database) -> tuple[int, int]:
    """(rows journalled, rows whose lease has lapsed): for /healthz."""
    row = db.conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE lease_until IS NULL OR lease_until < extract(epoch from"
        " clock_timestamp())) FROM intake").fetchone()
    return int(row[0]), int(row[1])
