"""Community staff: their 帮助 (every staff command with an example), announcements (公告) to a
building, a grid or the whole community, now or at a set time (定时公告, 定时公告列表, 取消定时公告 N),
and the publication (公示 N) of a worker's 办结 note in the building group once staff approve it."""

from __future__ import annotations

import re
from datetime import datetime

from bot.router import Command, EventIs, Role, Router
from handlers import lifecycle, plain
from handlers.context import Ctx
from language import address, dates
from language.commands import Command as ParsedCommand
from language.texts import t
from language.words import pattern, words
from storage import announcements, org, petitions, publications, states

STAFF_COMMANDS = frozenset({"publish_note", "list_scheduled", "cancel_scheduled", "turnout"})
router = Router("staff", Role("staff", "admin"))
guide = Router("staff-guide", Role("staff", "admin"))


@guide.message(EventIs("subscribe", "enter_agent"))
def greet(ctx: Ctx, member: dict) -> None:
    ctx.say(t("staffcmd.help", name=member["name"]))


@guide.message(lambda e: e.msg.kind == "text" and (e.cmd is None or e.cmd.code == "help"))
def staff_help(ctx: Ctx, member: dict) -> None:
    """帮助 (or words that are no command): every staff command, one example each."""
    ctx.say(t("staffcmd.help", name=member["name"]))


Scope = tuple[str, str | None, list[dict], str]


def resolve_scope(ctx: Ctx, text: str) -> Scope | str:
    """(scope kind, scope id, buildings, the announcement text) for '公告 <scope> <text>', or what is
    wrong with it (a text to say: an unknown building or grid, no text)."""
    head, _, body = text.strip().partition(" ")
    body = body.strip()
    if not head:
        return t("staff.announce_usage")
    suffix = words("scope", "community_suffix")
    if not body and _named_scope(ctx, head):
        return t("staffcmd.announce_no_text")
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
    unknown = [part for part, b in zip(parts, found, strict=True) if b is None]
    if unknown or not found:
        return t("staffcmd.unknown_scope", name="、".join(unknown) or head)
    if not body:
        return t("staffcmd.announce_no_text")
    blds = list({b["id"]: b for b in found if b is not None}.values())
    if len(blds) == 1:
        return "building", blds[0]["id"], blds, body
    return "buildings", ",".join(b["id"] for b in blds), blds, body


def _named_scope(ctx: Ctx, head: str) -> bool:
    """`head` names the community or a grid (an announcement to it with no text is told so)."""
    return head in words("scope", "community") or any(head == c["name"] for c in _communities(ctx)) \
        or any(head in (g["id"], g["name"]) for g in org.grids(ctx.db))


def _communities(ctx: Ctx) -> list[dict]:
    return announcements.communities(ctx.db)


@router.message(Command("announce"))
def announce(ctx: Ctx, member: dict, rest: str) -> None:
    text = rest
    scope = resolve_scope(ctx, text)
    if isinstance(scope, str):
        ctx.say(scope)
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
    if parsed is None:
        ctx.say(t("staffcmd.schedule_no_time") if text.strip() else t("clock.schedule_usage"))
        return
    scope = resolve_scope(ctx, parsed[1])
    if isinstance(scope, str):
        ctx.say(scope)
        return
    send_at = parsed[0]
    if send_at <= ctx.now:
        ctx.say(t("clock.schedule_past"))
        return
    kind, scope_id, blds, body = scope
    aid = _record(ctx, member["userid"], kind, scope_id, body, len(blds), send_at=send_at)
    ctx.say(t("clock.announcement_scheduled", id=aid, at=plain.moment(send_at, ctx.now), count=len(blds)))


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


# --- 定时公告列表, 取消定时公告 N ------------------------------------------------------------------------

@router.message(Command("list_scheduled"))
def list_scheduled(ctx: Ctx) -> None:
    rows = announcements.scheduled(ctx.db)
    if not rows:
        ctx.say(t("staffcmd.scheduled_none"))
        return
    lines = [t("staffcmd.scheduled_line", id=r["id"], at=_at(ctx, r["send_at"]), scope=_scope_name(ctx, r),
               text=r["text"][:40]) for r in rows]
    ctx.say(t("staffcmd.scheduled_list", lines="\n".join(lines)))


@router.message(Command("cancel_scheduled"))
def cancel_scheduled(ctx: Ctx, cmd: ParsedCommand) -> None:
    m = pattern("number_only").fullmatch(cmd.rest) if cmd.number is None else None
    number = cmd.number if cmd.number is not None else (int(m.group(1)) if m else None)
    row = announcements.get(ctx.db, number) if number is not None else None
    if number is None:
        ctx.say(t("staffcmd.cancel_need_number"))
    elif row is None:
        ctx.say(t("staffcmd.cancel_no_such", id=number))
    elif row["cancelled_at"]:
        ctx.say(t("staffcmd.cancel_already", id=number))
    elif row["sent_at"]:
        key = "staffcmd.cancel_sent" if row["send_at"] else "staffcmd.cancel_not_scheduled"
        ctx.say(t(key, id=number, at=_at(ctx, row["sent_at"])))
    else:
        announcements.cancel(ctx.db, number, ctx.now)
        ctx.say(t("staffcmd.cancelled", id=number, at=_at(ctx, row["send_at"])))


def _at(ctx: Ctx, stamp: str | None) -> str:
    return plain.moment(stamp, ctx.now)


def _scope_name(ctx: Ctx, row: dict) -> str:
    """Where an announcement goes, as staff named it."""
    if row["scope_kind"] == "grid":
        g = org.grid(ctx.db, row["scope_id"])
        return g["name"] if g else str(row["scope_id"])
    if row["scope_kind"] in ("building", "buildings"):
        names = [lifecycle.building_name(ctx, bid) for bid in str(row["scope_id"] or "").split(",") if bid]
        return "、".join(names)
    return t("staffcmd.scope_community")


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
