"""Workbench accounts (one per roster staff userid) and the audit log of personal-data views.

Passwords are stored as argon2 hashes made by the caller (bot/web/desk/auth.py); this module keeps
rows. `epoch` grows with every password change: a session made before it is no longer valid."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database


def person(db: Database, userid: str) -> dict | None:
    """The roster staff row for `userid` with the grids they may see: a worker the grids they work
    in, a head the grids they lead (and work in); None when not on the roster."""
    rows = list(db.query("SELECT userid, name, role FROM staff WHERE userid = ?", [userid]))
    if not rows:
        return None
    grids = {r["grid"] for r in db.query("SELECT grid FROM grid_workers WHERE userid = ?", [userid])}
    grids |= {r["id"] for r in db.query("SELECT id FROM grids WHERE head = ?", [userid])}
    return {**rows[0], "grids": sorted(grids)}


def account(db: Database, userid: str) -> dict | None:
    rows = list(db.query("SELECT * FROM accounts WHERE userid = ?", [userid]))
    return rows[0] if rows else None


def set_password(db: Database, userid: str, password_hash: str, now: datetime) -> None:
    """A new password: failed count and lockout cleared, earlier sessions ended (epoch + 1)."""
    db.execute(
        "INSERT INTO accounts (userid, password_hash, failed, locked_until, epoch, updated_at)"
        " VALUES (?, ?, 0, NULL, 1, ?) ON CONFLICT (userid) DO UPDATE SET password_hash = excluded.password_hash,"
        " failed = 0, locked_until = NULL, epoch = accounts.epoch + 1, updated_at = excluded.updated_at",
        [userid, password_hash, now.isoformat(timespec="seconds")])


def end_sessions(db: Database, userid: str, now: datetime) -> None:
    """Logging out: every session of `userid` made before now is no longer valid (epoch + 1)."""
    db.execute(
        "INSERT INTO accounts (userid, password_hash, failed, locked_until, epoch, updated_at)"
        " VALUES (?, NULL, 0, NULL, 1, ?) ON CONFLICT (userid) DO UPDATE SET epoch = accounts.epoch + 1,"
        " updated_at = excluded.updated_at", [userid, now.isoformat(timespec="seconds")])


def failed(db: Database, userid: str, now: datetime, limit: int, locked_until: datetime) -> bool:
    """Count one wrong password; at `limit` the account is locked until `locked_until` (and the count
    starts again). True when this failure locked it."""
    db.execute("UPDATE accounts SET failed = failed + 1, updated_at = ? WHERE userid = ?",
               [now.isoformat(timespec="seconds"), userid])
    row = account(db, userid)
    if row is None or row["failed"] < limit:
        return False
    db.execute("UPDATE accounts SET failed = 0, locked_until = ? WHERE userid = ?",
               [locked_until.isoformat(timespec="seconds"), userid])
    return True


def address_failures(db: Database, address: str, since: datetime) -> int:
    """Wrong logins from `address` since `since`, by any instance."""
    return int(db.conn.execute("SELECT count(*) FROM login_failures WHERE address = ? AND at > ?",
                               (address, since.isoformat(timespec="seconds"))).fetchone()[0])


def address_failed(db: Database, address: str, now: datetime, forget_before: datetime) -> None:
    """One more wrong login from `address`; those before `forget_before` (of any address) are forgotten."""
    db.conn.execute("DELETE FROM login_failures WHERE at < ?", (forget_before.isoformat(timespec="seconds"),))
    db.conn.execute("INSERT INTO login_failures (address, at) VALUES (?, ?)",
                    (address, now.isoformat(timespec="seconds")))


def succeeded(db: Database, userid: str, now: datetime) -> None:
    db.execute("UPDATE accounts SET failed = 0, locked_until = NULL, updated_at = ? WHERE userid = ?",
               [now.isoformat(timespec="seconds"), userid])


def unlock(db: Database, userid: str, now: datetime) -> None:
    succeeded(db, userid, now)


def listing(db: Database) -> list[dict]:
    """Every roster staff member with their account state, for the admins' page."""
    return list(db.query(
        "SELECT s.userid, s.name, s.role, a.password_hash IS NOT NULL AS has_password, a.failed,"
        " a.locked_until, a.updated_at FROM staff s LEFT JOIN accounts a ON a.userid = s.userid"
        " ORDER BY s.role, s.userid"))


def audit(db: Database, at: datetime, actor: str, action: str, subject: str = "", detail: str = "",
          address: str = "") -> None:
    db.execute("INSERT INTO audit (at, actor, action, subject, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
               [at.isoformat(timespec="seconds"), actor, action, subject, detail, address])


def audit_log(db: Database, actor: str = "", action: str = "", limit: int = 200, before: int = 0) -> list[dict]:
    """The newest audit entries first, optionally one person's or one action's; `before`: an id to
    page back from."""
    where, args = ["1 = 1"], []
    if actor:
        where.append("actor = ?")
        args.append(actor)
    if action:
        where.append("action = ?")
        args.append(action)
    if before:
        where.append("id < ?")
        args.append(before)
    return list(db.query(f"SELECT * FROM audit WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                         [*args, limit]))
