"""The single writer's transaction statements: one write transaction per batch (group commit), a
savepoint per item inside it, so that a failing item undoes only its own writes. The store thread
(bot/router.py) decides what goes into a batch; only these functions speak SQL for it."""

from __future__ import annotations

from sqlite_utils import Database


def begin(db: Database) -> None:
    """A write transaction, taking the write lock at once (no deadlock on upgrade later)."""
    db.conn.execute("BEGIN IMMEDIATE")


def commit(db: Database) -> None:
    db.conn.execute("COMMIT")


def rollback(db: Database) -> None:
    """Undo the open transaction, if SQLite has not rolled it back itself."""
    if db.conn.in_transaction:
        db.conn.execute("ROLLBACK")


def savepoint(db: Database, name: str) -> None:
    db.conn.execute(f"SAVEPOINT {name}")


def undo_savepoint(db: Database, name: str) -> None:
    """Undo what was written since the savepoint, and close it."""
    db.conn.execute(f"ROLLBACK TO {name}")
    db.conn.execute(f"RELEASE {name}")


def rollback_to(db: Database, name: str) -> None:
    """Undo what was written since the savepoint; the savepoint stays open."""
    db.conn.execute(f"ROLLBACK TO {name}")


def release(db: Database, name: str) -> None:
    db.conn.execute(f"RELEASE {name}")
