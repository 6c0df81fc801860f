"""The chat log: what each person (resident, staff member, building group) said and was told, as the
simulator shows it and staff may read it."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.petitions import iso


def log_chat(db: Database, kind: str, person: str, direction: str, text: str, now: datetime) -> None:
    db.conn.execute("INSERT INTO chat_log (kind, person, direction, text, at) VALUES (?,?,?,?,?)",
                    (kind, person, direction, text, iso(now)))


def log_exchange(db: Database, kind: str, person: str, said: str | None, replies: list[str],
                 now: datetime) -> None:
    """What `person` said (None: nothing to log, e.g. an event) and the replies they got, in that order,
    in one statement: the same rows as `log_chat` for each, one after the other. Logged once a message
    is handled, these are the same rows with the same ids as logging what was said before handling it,
    as long as nothing else writes the chat log meanwhile (handling a message does not: deliveries log
    what they send in their own jobs)."""
    lines = ([("in", said)] if said is not None else []) + [("out", reply) for reply in replies]
    if not lines:
        return
    stamp = iso(now)
    db.conn.execute(
        "INSERT INTO chat_log (kind, person, direction, text, at) VALUES "
        + ", ".join("(?, ?, ?, ?, ?)" for _ in lines),
        [value for direction, text in lines for value in (kind, person, direction, text, stamp)])


def chat_after(db: Database, kind: str, person: str, after: int, limit: int = 200) -> list[dict]:
    return list(db.query(
        "SELECT id, direction, text, at FROM chat_log WHERE kind = ? AND person = ? AND id > ?"
        " ORDER BY id LIMIT ?", (kind, person, after, limit)))
