"""/admin/disclosure (信息公开): items staff published (主动公开, chat command publish) and residents'
requests (依申请公开) with their deadline (time left or overdue) and the answer form (answer_disclosure)."""

from __future__ import annotations

from aiohttp import web
from sqlite_utils import Database

from bot.web.desk.auth import audit
from bot.web.desk.office.common import back, command, field, left, missing, now, number, office, routes
from bot.web.desk.pages import read, render
from storage import desk_office

PATH = "/disclosure"


def _page(db: Database) -> dict:
    return {"published": desk_office.disclosures(db, "proactive"),
            "requests": desk_office.disclosures(db, "request")}


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    office(request)
    data = await read(request, _page)
    await audit(request, "view_disclosure_requests")   # the requesters' names
    at = now(request)
    for r in data["requests"]:
        r["left"], r["overdue"] = left(r["due_at"], at) if r["status"] != "answered" else ("", False)
    return await render(request, "office_disclosure.html", data)


@routes.post(PATH)
async def publish(request: web.Request) -> web.Response:
    """主动公开 <title>:<body>: the handler splits the title from the body at the first colon."""
    office(request)
    form = await request.post()
    title, body = field(form, "title").replace(":", " ").replace("\uff1a", " "), field(form, "body")
    if not title:
        raise await missing(request, PATH)
    await command(request, "publish", f"{title}:{body}" if body else title)
    raise back(PATH)


@routes.post(PATH + "/{id}/answer")
async def answer(request: web.Request) -> web.Response:
    office(request)
    did = number(request.match_info["id"])
    text = field(await request.post(), "answer")
    if did is None or not text:
        raise await missing(request, PATH)
    await command(request, "answer_disclosure", str(did), text)
    raise back(PATH)
