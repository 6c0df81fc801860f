"""Community staff: announcements (公告) to a building, a grid or the whole community."""

from __future__ import annotations

from bot import address
from bot.texts import t
from handlers.context import Ctx
from storage import org, petitions

COMMUNITY_WORDS = ("全社区", "全体", "所有楼", "全部", "社区")


def resolve_scope(ctx: Ctx, text: str) -> tuple[str, str | None, list[dict], str] | None:
    """(scope kind, scope id, buildings, the announcement text) for '公告 <scope> <text>'."""
    head, _, body = text.strip().partition(" ")
    body = body.strip()
    if not body:
        return None
    for word in COMMUNITY_WORDS:
        if head == word or (head.endswith("社区") and any(c["name"] == head for c in _communities(ctx))):
            community = next((c for c in _communities(ctx) if c["name"] == head), None)
            blds = [b for b in org.buildings(ctx.db) if community is None or b["community"] == community["id"]]
            return "community", community["id"] if community else None, blds, body
    for g in org.grids(ctx.db):
        if head in (g["id"], g["name"]):
            return "grid", g["id"], org.buildings_of_grid(ctx.db, g["id"]), body
    b = address.find_building(head, org.buildings(ctx.db))
    if b is not None:
        return "building", b["id"], [b], body
    return None


def _communities(ctx: Ctx) -> list[dict]:
    return list(ctx.db.query("SELECT * FROM communities"))


def announce(ctx: Ctx, member: dict, text: str) -> None:
    scope = resolve_scope(ctx, text)
    if scope is None:
        ctx.say(t("staff.announce_usage"))
        return
    kind, scope_id, blds, body = scope
    cur = ctx.db.conn.execute(
        "INSERT INTO announcements (author, scope_kind, scope_id, text, created_at, buildings)"
        " VALUES (?,?,?,?,?,?)", (member["userid"], kind, scope_id, body, petitions.iso(ctx.now), len(blds)))
    aid = int(cur.lastrowid or 0)
    notice = t("group.announcement", text=body)
    for b in blds:
        if b["grp"]:
            ctx.to_group(b["id"], notice, ref=f"announcement:{aid}")
        else:
            ctx.to_fanout(b["id"], notice, ref=f"announcement:{aid}")
    ctx.say(t("staff.announced", id=aid, count=len(blds)))
