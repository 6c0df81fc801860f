"""Petitions as the office reads them: codes in words (handlers/plain.py), deadlines with the time left
or overdue, and the actions the viewer's role and the petition's state allow."""

from __future__ import annotations

from datetime import datetime

from handlers import plain
from language.texts import has, t
from storage import states

OFFICE = ("staff", "admin")


def span(seconds: float) -> str:
    """A stretch of time in days and hours, hours and minutes, or minutes."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("desk_orders.span_days", d=days, h=hours)
    if hours:
        return t("desk_orders.span_hours", h=hours, m=mins)
    return t("desk_orders.span_minutes", m=mins)


def current_due(p: dict) -> tuple[str, str] | None:
    """('sign' | 'resolve', ISO time) the petition is up against (storage.workorders.DUE), or None."""
    if p["state"] not in states.RUNNING:
        return None
    sign, resolve = p.get("sign_deadline"), p.get("resolve_deadline")
    if p["state"] == "assigned" and sign and (not resolve or sign <= resolve):
        return "sign", sign
    return ("resolve", resolve) if resolve else None


def left(stamp: str, now: datetime) -> tuple[str, bool]:
    """("剩 …" or "已超期 …", overdue?) for a deadline."""
    seconds = (datetime.fromisoformat(stamp) - now).total_seconds()
    if seconds < 0:
        return t("desk_orders.late", span=span(seconds)), True
    return t("desk_orders.left", span=span(seconds)), False


def due(p: dict, now: datetime) -> dict | None:
    """The deadline column of a row: what is due when, and the time left or overdue."""
    found = current_due(p)
    if found is None:
        return None
    kind, stamp = found
    text, late = left(stamp, now)
    return {"what": t(f"desk_orders.due_{kind}", at=plain.when(stamp)[5:]), "left": text, "late": late}


def rating(code: str | None) -> str:
    return t(f"rating_label.{code}") if code and has(f"rating_label.{code}") else ""


def row(p: dict, now: datetime) -> dict:
    """One line of the list (or the board)."""
    return {**p, "building_label": p.get("building_name") or t("common.unknown_building"),
            "category_label": plain.category_name(p["category"]), "state_label": states.label(p["state"]),
            "due": due(p, now), "rating_label": rating(p.get("rating")),
            "created": plain.when(p["created_at"])[5:],
            "sign_by": plain.when(p["sign_deadline"])[5:] if p.get("sign_deadline") else ""}


def actions(role: str, p: dict) -> list[str]:
    """The actions the page offers: what the role may do (handlers/worker.py: 派单 and 驳回 are for
    staff; a worker or head moves a petition to another worker with 转派) in the state it is in."""
    state, office = p["state"], role in OFFICE
    found = []
    if states.is_open(state) and states.can(state, "assigned"):
        found.append("dispatch" if office else "transfer")
    if office and states.can(state, "rejected"):
        found.append("reject")
    if states.is_open(state):
        found.append("progress")
    if states.can(state, "resolved"):
        found.append("resolve")
    if states.can(state, "escalated"):
        found.append("escalate")
    if states.can(state, "merged"):
        found.append("merge")
    if state == "merged" and p.get("merged_into"):
        found.append("unmerge")
    return found
