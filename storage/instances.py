"""Several instances on one PostgreSQL database: the locks that keep two of them from doing one thing
at once. Each is a transaction-level advisory lock, released by the transaction's COMMIT or ROLLBACK
(so a killed instance holds none). On SQLite one process with one writer thread does everything in
turn: every lock here is granted at once, without a statement."""

from __future__ import annotations

from sqlite_utils import Database

# advisory lock keys: any constants (storage/pg_schema.py holds another, for migrations); a hashed
# sender or destination uses hashtextextended's seed to keep its kind apart
_CLOCK = 0x6D696E73636C6B31
_SENDER_SEED = 1
_DESTINATION_SEED = 2


def shared(db: Database) -> bool:
    """True when other instances may write to this store at the same time (PostgreSQL)."""
    return getattr(db.conn, "dialect", "sqlite") == "postgresql"


def lock_sender(db: Database, sender: str) -> None:
    """Wait until no other instance handles a message of `sender`: one conversation is never handled
    by two instances at once (held until this transaction ends)."""
    if shared(db):
        db.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, ?))", (sender, _SENDER_SEED))


def lock_petition(db: Database, pid: int) -> None:
    """Wait until no other instance moves this petition: its state is read after their commit (a
    resident's cancel on one instance and a worker's 办结 on another are never both applied)."""
    if shared(db):
        db.conn.execute("SELECT 1 FROM petitions WHERE id = ? FOR UPDATE", (pid,))


def lock_destination(db: Database, via: str, dest: str) -> None:
    """Wait until no other instance counts or claims sends to this destination (a robot's rate limit)."""
    if shared(db):
        db.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, ?))",
                        (f"{via} {dest}", _DESTINATION_SEED))


def clock_turn(db: Database) -> bool:
    """True when this instance runs the clock jobs now; False while another instance runs them (its
    tick covers this due moment: it commits before the lock is free again)."""
    if not shared(db):
        return True
    row = db.conn.execute("SELECT pg_try_advisory_xact_lock(?)", (_CLOCK,)).fetchone()
    return bool(row[0])
