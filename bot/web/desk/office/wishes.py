"""/admin/wishes (微心愿 review: approve or decline through the chat command review_wish; the others by
status) and /admin/suggestions (需求清单: residents' suggestions newest first, by status, marked handled)."""

from __future__ import annotations

from aiohttp import web
from sqlite_utils import Database

from bot.web.desk.office.common import back, command, field, missing, now, number, office, routes
from bot.web.desk.pages import flash, read, render, write
from language.texts import t
from language.words import words
from storage import desk_office

WISHES = "/wishes"
SUGGESTIONS = "/suggestions"
SUGGESTION_STATES = ("pending", "handled")


WISH_STATES = ("approved", "claimed", "fulfilled", "confirmed", "declined")


def _wishes(db: Database, status: str | None) -> dict:
    others = desk_office.items(db, "wish", status) if status else \
        [w for w in desk_office.items(db, "wish") if w["status"] != "pending"]
    return {"waiting": desk_office.items(db, "wish", "pending"), "others": others, "status": status or "",
            "states": WISH_STATES, "counts": desk_office.item_counts(db, "wish")}


@routes.get(WISHES)
async def wishes(request: web.Request) -> web.Response:
    """Those waiting for review, then the others (of one status, or all)."""
    office(request)
    status = request.query.get("status")
    data = await read(request, _wishes, status if status in WISH_STATES else None)
    return await render(request, "office_wishes.html", data)


@routes.post(WISHES + "/{id}/review")
async def review(request: web.Request) -> web.Response:
    """审核 N (approve) or 审核 N 不通过 <reason> (decline), the words from catalogue/words.toml."""
    office(request)
    wid = number(request.match_info["id"])
    if wid is None:
        raise web.HTTPNotFound()
    form = await request.post()
    if field(form, "decision") == "decline":
        reason = field(form, "reason")
        await command(request, "review_wish", str(wid), words("review", "decline")[0], *([reason] if reason else []))
    else:
        await command(request, "review_wish", str(wid))
    raise back(WISHES)


def _suggestions(db: Database, status: str | None) -> dict:
    return {"suggestions": desk_office.items(db, "suggestion", status), "status": status or "",
            "states": SUGGESTION_STATES, "counts": desk_office.item_counts(db, "suggestion")}


@routes.get(SUGGESTIONS)
async def suggestions(request: web.Request) -> web.Response:
    office(request)
    status = request.query.get("status")
    data = await read(request, _suggestions, status if status in SUGGESTION_STATES else None)
    return await render(request, "office_suggestions.html", data)


@routes.post(SUGGESTIONS + "/{id}")
async def mark(request: web.Request) -> web.Response:
    """No chat command handles a suggestion: staff mark it handled (or pending again) here."""
    office(request)
    iid = number(request.match_info["id"])
    status = field(await request.post(), "status")
    if iid is None or status not in SUGGESTION_STATES:
        raise await missing(request, SUGGESTIONS)
    if await write(request, desk_office.mark_suggestion, iid, status, now(request)):
        await flash(request, t("desk_office.suggestions.marked", id=iid, status=t(f"desk_office.suggestions.states.{status}")))
    else:
        await flash(request, t("desk_office.suggestions.no_such"))
    raise back(SUGGESTIONS + (f"?{request.query_string}" if request.query_string else ""))
