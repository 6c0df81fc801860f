"""Codes the store keeps (a worker's userid in an event, a rating, a topic's status) in the words people read."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from language.texts import has, t
from storage import org, states


def event_note(db: Database, event: dict) -> str:
    """An event's note as people read it: a dispatch names the worker, a rating says how it was rated."""
    note = str(event.get("note") or "")
    if not note:
        return ""
    if has(f"rating_label.{note}"):
        return t(f"rating_label.{note}")
    member = org.staff_member(db, note) if event.get("to_state") == "assigned" else None
    return member["name"] if member else note


def event_line(db: Database, event: dict) -> str:
    """One line of a petition's history after its time: a note alone (an event that left the state as
    it was), a reopening as such, else the state it moved to and its note."""
    note = event_note(db, event)
    before, after = event.get("from_state"), event.get("to_state")
    if before == after:
        return note
    label = t("plain.reopened") if before in states.DONE and after in states.OPEN_STATES else states.label(after)
    return f"{label} {note}".rstrip()


def topic_status(code: str | None) -> str:
    return t(f"topic_status.{code}") if code and has(f"topic_status.{code}") else ""


def item_kind(code: str | None) -> str:
    return t(f"item_kind.{code}") if code and has(f"item_kind.{code}") else ""


def building_name(db: Database, bid: str | None) -> str:
    b = org.building(db, bid)
    return b["name"] if b else t("common.unknown_building")


def grid_name(db: Database, gid: str | None) -> str:
    g = org.grid(db, gid)
    return g["name"] if g else t("plain.no_grid")


def staff_name(db: Database, userid: str | None) -> str:
    s = org.staff_member(db, userid) if userid else None
    return s["name"] if s else (t("plain.unknown_person") if userid else "—")


def category_name(code: str | None) -> str:
    return t(f"category.{code}") if code and has(f"category.{code}") else t("category.other")


def when(stamp: str | None) -> str:
    """A stored ISO time as office staff read it: "2026-12-03 10:00"."""
    return (stamp or "")[:16].replace("T", " ")


def moment(at: datetime | str | None, now: datetime) -> str:
    """A time as staff read it: "12-01 09:00" this year, "2027-01-05 09:00" in another year."""
    if at is None or at == "":
        return ""
    when_ = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when_.strftime("%m-%d %H:%M" if when_.year == now.year else "%Y-%m-%d %H:%M")
