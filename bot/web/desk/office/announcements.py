"""/admin/announcements (公告): compose to a building, a grid or the community, now or at a set time
(the chat commands announce / schedule_announce), the list with each one's state and its delivery per
building, and cancelling a scheduled one (cancel_scheduled)."""

from __future__ import annotations

from aiohttp import web
from sqlite_utils import Database

from bot.web.desk.office.common import back, building_names, command, field, missing, number, office, routes
from bot.web.desk.pages import read, render
from language.texts import t
from language.words import words
from storage import announcements, desk_office, org

PATH = "/announcements"
PER_PAGE = 20   # with their delivery totals; the per-building lines load when opened


def _page(db: Database, before: int) -> dict:
    found = desk_office.announcements(db, PER_PAGE, before)
    refs = [f"announcement:{a['id']}" for a in found]
    per_ref = desk_office.deliveries(db, refs)
    buildings = org.buildings(db)
    names = building_names(buildings)
    grids = org.grids(db)
    grid_names = {g["id"]: g["name"] for g in grids}
    for a in found:
        per = per_ref.get(f"announcement:{a['id']}", {})
        a["buildings_reached"] = len(per)
        a["totals"] = {s: sum(c.get(s, 0) for c in per.values()) for s in ("sent", "pending", "failed")}
        a["scope_name"] = _scope_name(a, names, grid_names)
    communities = announcements.communities(db)
    older = found[-1]["id"] if len(found) == PER_PAGE else 0
    return {"announcements": found, "buildings": buildings, "grids": grids, "communities": communities,
            "older": older}


def _delivery(db: Database, aid: int) -> list[dict]:
    names = building_names(org.buildings(db))
    per = desk_office.deliveries(db, [f"announcement:{aid}"]).get(f"announcement:{aid}", {})
    return [{"building": names.get(bid, bid), **counts} for bid, counts in sorted(per.items())]


def _scope_name(a: dict, names: dict[str, str], grid_names: dict[str, str]) -> str:
    if a["scope_kind"] == "grid":
        return grid_names.get(a["scope_id"], a["scope_id"] or "")
    if a["scope_kind"] in ("building", "buildings"):
        sep = t("desk_office.deliveries.name_sep")
        return sep.join(names.get(b, b) for b in str(a["scope_id"] or "").split(",") if b)
    return t("desk_office.announce.scope_community")


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    office(request)
    before = number(request.query.get("before", "")) or 0
    return await render(request, "office_announcements.html", await read(request, _page, before))


@routes.get(PATH + "/{id}/delivery")
async def delivery(request: web.Request) -> web.Response:
    """One announcement's delivery, building by building (opened from the list)."""
    office(request)
    aid = number(request.match_info["id"])
    if aid is None:
        raise web.HTTPNotFound()
    return await render(request, "office_announcement_delivery.html",
                        {"delivery": await read(request, _delivery, aid), "aid": aid})


@routes.post(PATH)
async def compose(request: web.Request) -> web.Response:
    """The form's target (b:<building id>, g:<grid id>, c:<community name>) named as chat names it."""
    office(request)
    form = await request.post()
    text, target, when = field(form, "text"), field(form, "target"), field(form, "when")
    scope = await read(request, _scope_word, target)
    if not text or not scope:
        raise await missing(request, PATH)
    if when == "later":
        at = field(form, "at").replace("T", " ")
        if not at:
            raise await missing(request, PATH)
        await command(request, "schedule_announce", at, scope, text)
    else:
        await command(request, "announce", scope, text)
    raise back(PATH)


def _scope_word(db: Database, target: str) -> str:
    """The word the announce handler resolves to this target: a building's or grid's name, the
    community's name."""
    kind, _, key = target.partition(":")
    if kind == "b":
        b = org.building(db, key)
        return b["name"] if b else ""
    if kind == "g":
        g = org.grid(db, key)
        return g["name"] if g else ""
    if kind == "c":
        communities = announcements.communities(db)
        if len(communities) <= 1:
            return words("scope", "community")[0]
        return next((c["name"] for c in communities if c["id"] == key), "")
    return ""


@routes.post(PATH + "/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    office(request)
    aid = number(request.match_info["id"])
    if aid is None:
        raise web.HTTPNotFound()
    await command(request, "cancel_scheduled", str(aid))
    raise back(PATH)
