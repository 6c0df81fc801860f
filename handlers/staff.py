"""Community staff: announcements (公告) to a building, a grid or the whole community, and the
publication (公示 N) of a worker's 办结 note in the building group once staff approve it."""

from __future__ import annotations

import re
from datetime import datetime

from bot.router import Command, Role, Router
from handlers import lifecycle
from handlers.context import Ctx
from language import address, dates
from language.commands import Command as ParsedCommand
from language.texts import t
from language.words import words
from storage import announcements, org, petitions, publications, states

STAFF_COMMANDS = frozenset({"publish_note"})
router = Router("staff", Role("staff", "admin"))


def resolve_scope(ctx: Ctx, text: str) -> tuple[str, str | None, list[dict], str] | None:
    """(scope kind, scope id, buildings, the announcement text) for '公告 <scope> <text>'."""
    head, _, body = text.strip().partition(" ")
    body = body.strip()
    if not body:
        return None
    suffix = words("scope", "community_suffix")
    for word in words("scope", "community"):
        if head == word or (head.endswith(suffix) and any(c["name"] == head for c in _communities(ctx))):
            community = next((c for c in _communities(ctx) if c["name"] == head), None)
            blds = [b for b in org.buildings(ctx.db) if community is None or b["community"] == community["id"]]
            return "community", community["id"] if community else None, blds, body
    for g in org.grids(ctx.db):
        if head in (g["id"], g["name"]):
            return "grid", g["id"], org.buildings_of_grid(ctx.db, g["id"]), body
    parts = [part for part in re.split(r"[、,，/；;]", head) if part]
    found = [address.find_building(part, org.buildings(ctx.db)) for part in parts]
    if not found or any(b is None for b in found):
        return None
    blds = list({b["id"]: b for b in found if b is not None}.values())
    if len(blds) == 1:
        return "building", blds[0]["id"], blds, body
    return "buildings", ",".join(b["id"] for b in blds), blds, body


def _communities(ctx: Ctx) -> list[dict]:
    return announcements.communities(ctx.db)


@router.message(Command("announce"))
def announce(ctx: Ctx, member: dict, rest: str) -> None:
    text = rest
    scope = resolve_scope(ctx, text)
    if scope is None:
        ctx.say(t("staff.announce_usage"))
        return
    kind, scope_id, blds, body = scope
    aid = _record(ctx, member["userid"], kind, scope_id, body, len(blds), send_at=None)
    deliver(ctx, aid, blds, body)
    ctx.say(t("staff.announced", id=aid, count=len(blds)))


def _record(ctx: Ctx, author: str, kind: str, scope_id: str | None, body: str, count: int,
            send_at: datetime | None) -> int:
    """An announcement row; a scheduled one (send_at) is sent by the clock, an immediate one now."""
    return announcements.record(ctx.db, author, kind, scope_id, body, count, ctx.now, send_at)


def deliver(ctx: Ctx, aid: int, blds: list[dict], body: str) -> None:
    """One outbox row per group chat (or per building's fan-out to its residents)."""
    ctx.to_buildings(blds, t("group.announcement", text=body), ref=f"announcement:{aid}")


@router.message(Command("schedule_announce"))
def schedule_announce(ctx: Ctx, member: dict, rest: str) -> None:
    """定时公告 <time> <scope> <text>: recorded now, delivered by the clock at that time."""
    text = rest
    parsed = dates.parse(text, ctx.now)
    scope = resolve_scope(ctx, parsed[1]) if parsed else None
    if parsed is None or scope is None:
        ctx.say(t("clock.schedule_usage"))
        return
    send_at = parsed[0]
    if send_at <= ctx.now:
        ctx.say(t("clock.schedule_past"))
        return
    kind, scope_id, blds, body = scope
    aid = _record(ctx, member["userid"], kind, scope_id, body, len(blds), send_at=send_at)
    ctx.say(t("clock.announcement_scheduled", id=aid, at=send_at.strftime("%m-%d %H:%M"), count=len(blds)))


def buildings_in_scope(ctx: Ctx, kind: str, scope_id: str | None) -> list[dict]:
    """The buildings an announcement reaches, read when it is sent (the organisation may have changed)."""
    if kind == "building":
        b = org.building(ctx.db, scope_id)
        return [b] if b else []
    if kind == "grid" and scope_id:
        return org.buildings_of_grid(ctx.db, scope_id)
    return [b for b in org.buildings(ctx.db) if scope_id is None or b["community"] == scope_id]


def send_scheduled(ctx: Ctx, row: dict) -> None:
    """Deliver a scheduled announcement whose time has come, and mark it sent in the same transaction."""
    blds = buildings_in_scope(ctx, row["scope_kind"], row["scope_id"])
    announcements.mark_sent(ctx.db, row["id"], ctx.now, len(blds))
    deliver(ctx, row["id"], blds, row["text"])
    ctx.to_staff(row["author"], t("clock.announcement_sent", id=row["id"], count=len(blds)),
                 ref=f"announcement:{row['id']}")


# --- 公示 N: a 办结 note in the building group, approved by staff -------------------------------------

@router.message(Command("publish_note"))
def publish(ctx: Ctx, member: dict, cmd: ParsedCommand) -> None:
    """公示 lists the notes awaiting approval; 公示 N publishes N's note (公示 N 文字: staff's wording)."""
    if cmd.number is None:
        _list_awaiting(ctx)
        return
    p = petitions.get(ctx.db, cmd.number)
    if p is None:
        ctx.say(t("worker.no_such", id=cmd.number))
        return
    publish_note(ctx, member, p, cmd.rest)


def publish_note(ctx: Ctx, member: dict, p: dict, wording: str = "") -> None:
    """Staff authoring is approval: the note (or staff's own wording), masked by the scrubber all the
    same, goes to the building group as a follow-up of the 办结公示, once per resolution."""
    if p["state"] not in states.DONE or not p["resolved_at"]:
        ctx.say(t("privacy.not_resolved", id=p["id"]))
        return
    b = lifecycle.group_of(ctx, p)
    if b is None:
        ctx.say(t("privacy.not_public", id=p["id"]))
        return
    if publications.published(ctx.db, p["id"], p["resolved_at"]):
        ctx.say(t("privacy.already", id=p["id"]))
        return
    note = lifecycle.public_text(ctx, wording or p["resolution"] or "")
    publications.record(ctx.db, p["id"], p["resolved_at"], note, member["userid"], ctx.now)
    petitions.note(ctx.db, p["id"], actor=member["userid"], now=ctx.now,
                   text=t("privacy.published", id=p["id"], building=b["name"], note=note))
    ctx.to_group(b["id"], t("privacy.group_note", building=b["name"], id=p["id"],
                            category=lifecycle.category_name(p["category"]), note=note), ref=f"petition:{p['id']}")
    ctx.say(t("privacy.published", id=p["id"], building=b["name"], note=note))


def _list_awaiting(ctx: Ctx) -> None:
    rows = publications.awaiting(ctx.db, lifecycle.PRIVATE_CATEGORIES)
    if not rows:
        ctx.say(t("privacy.awaiting_empty"))
        return
    names = lifecycle.resident_names(ctx)
    lines = [t("privacy.awaiting_line", id=p["id"], building=lifecycle.building_name(ctx, p["building"]),
               category=lifecycle.category_name(p["category"]),
               note=lifecycle.public_text(ctx, p["resolution"], names)) for p in rows]
    ctx.say(t("privacy.awaiting", lines="\n".join(lines)))
