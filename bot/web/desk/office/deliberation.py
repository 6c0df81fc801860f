"""/admin/deliberation (亲邻议事): topics with the petition each came from, votes with their live turnout
against the households in scope and, once closed, their result; a new topic (chat command topic) and a
vote (chat command vote, written as handlers/votes.py reads it). Disclosure: /admin/disclosure."""

from __future__ import annotations

from aiohttp import web
from sqlite_utils import Database

from bot.web.desk.office.common import back, building_names, command, field, missing, office, routes
from bot.web.desk.pages import read, render
from language.texts import t
from storage import desk_office, org

PATH = "/deliberation"


def _rate(voted: int, eligible: int) -> str:
    return f"{voted / eligible * 100:.0f}%" if eligible else "—"


def _vote_view(v: dict, names: dict[str, str]) -> dict:
    v["rate"] = _rate(v["voted"], v["eligible"])
    v["per_building"] = [{"building": names.get(bid, bid), "voted": c, "eligible": n}
                         for bid, (c, n) in v["turnout"].items()]
    result = v["result"]
    if result:
        v["counts"] = list(zip(v["options"], result.get("counts", []), strict=False))
        v["participation_pct"] = f"{result.get('participation', 0) * 100:.1f}%"
        v["approval_pct"] = f"{result.get('approval', 0) * 100:.1f}%"
    return v


def _page(db: Database) -> dict:
    buildings = org.buildings(db)
    names = building_names(buildings)
    topics = desk_office.topics(db)
    for topic in topics:
        topic["building_name"] = names.get(topic["petition_building"] or "", "")
    return {"topics": topics, "votes": [_vote_view(v, names) for v in desk_office.votes(db)],
            "buildings": buildings, "grids": org.grids(db)}


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    office(request)
    return await render(request, "office_deliberation.html", await read(request, _page))


@routes.post(PATH + "/topic")
async def new_topic(request: web.Request) -> web.Response:
    office(request)
    title = field(await request.post(), "title")
    if not title:
        raise await missing(request, PATH)
    await command(request, "topic", title)
    raise back(PATH)


def _scope(db: Database, targets: list[str]) -> str:
    """Buildings and grids chosen on the form, by the names the vote handler resolves."""
    names = []
    for target in targets:
        kind, _, key = target.partition(":")
        found = org.building(db, key) if kind == "b" else org.grid(db, key) if kind == "g" else None
        if found:
            names.append(found["name"])
    return t("desk_office.command.scope_sep").join(names)


@routes.post(PATH + "/vote")
async def new_vote(request: web.Request) -> web.Response:
    """发起投票 as handlers/votes.vote_command reads it: topic, deadline, scope, options (one per line on
    the form), optionally the participation and approval a vote needs."""
    office(request)
    form = await request.post()
    topic, deadline = field(form, "topic"), field(form, "deadline").replace("T", " ")
    scope = await read(request, _scope, [str(v) for v in form.getall("scope", [])])
    if not topic.isdigit() or not deadline or not scope:
        raise await missing(request, PATH)
    options = ["".join(o.split()) for o in field(form, "options").splitlines() if o.strip()]   # one word each
    text = t("desk_office.command.vote", topic=topic, deadline=deadline, scope=scope,
             options=t("desk_office.command.option_sep").join(options))
    if not options:   # the handler's default options (同意/不同意)
        text = text[:text.rindex(" ")]
    for name in ("participation", "approval"):
        value = field(form, name)
        if value:
            text += " " + t(f"desk_office.command.vote_{name}", value=value)
    await command(request, "vote", text)
    raise back(PATH)
