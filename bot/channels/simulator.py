"""The simulator channel: the web chat at / speaks through the very same router and handlers."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from aiohttp import web

from bot.keys import CLOCK, CORE
from bot.messages import Message
from storage import org, people

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
_counter = itertools.count(1)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


def _people(core_db) -> dict:
    names = {b["id"]: b for b in org.buildings(core_db)}
    communities = {c["id"]: c["name"] for c in core_db.query("SELECT * FROM communities")}
    grids = {g["id"]: g for g in org.grids(core_db)}
    residents = [
        {"id": r["openid"], "name": r["name"] or r["openid"], "building": r["building"],
         "building_name": names[r["building"]]["name"] if r["building"] in names else None, "room": r["room"]}
        for r in core_db.query("SELECT * FROM residents WHERE channel = 'sim' ORDER BY created_at, openid")]
    staff = []
    for s in org.staff_list(core_db):
        mine = org.grids_of(core_db, s["userid"])
        staff.append({"id": s["userid"], "name": s["name"], "role": s["role"], "grid": mine[0] if mine else None,
                      "grid_name": grids[mine[0]]["name"] if mine else None})
    groups = [{"id": b["id"], "name": b["name"], "community": communities.get(b["community"], "")}
              for b in names.values()]
    return {"residents": residents, "staff": staff, "groups": groups}


async def list_people(request: web.Request) -> web.Response:
    core = request.app[CORE]
    return web.json_response(await core.call(_people, core.db))


async def send(request: web.Request) -> web.Response:
    try:
        payload = await request.json()
        kind, pid, text = payload["kind"], str(payload["id"]).strip(), str(payload.get("text", ""))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return web.json_response({"error": "需要 kind、id 和 text"}, status=400)
    if kind not in ("resident", "staff") or not pid or len(pid) > 64:
        return web.json_response({"error": "kind 只能是 resident 或 staff"}, status=400)
    if len(text) > 2000:
        return web.json_response({"error": "消息太长了（最多 2000 字）"}, status=400)
    core = request.app[CORE]
    now = request.app[CLOCK].now()
    key = f"sim:{pid}:{now.timestamp()}:{next(_counter)}"
    msg = Message(channel="sim", role=kind, sender=pid, kind="text", text=text, key=key)
    replies = await core.handle(msg)
    return web.json_response({"replies": [{"text": r} for r in replies]})


async def log(request: web.Request) -> web.Response:
    q = request.query
    kind, pid = q.get("kind", ""), q.get("id", "")
    try:
        after = int(q.get("after", "0"))
    except ValueError:
        after = 0
    if kind not in ("resident", "staff", "group"):
        return web.json_response({"error": "kind 只能是 resident、staff 或 group"}, status=400)
    core = request.app[CORE]
    rows = await core.call(people.chat_after, core.db, kind, pid, after)
    return web.json_response({"messages": rows})


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/api/sim/people", list_people)
    app.router.add_post("/api/sim/send", send)
    app.router.add_get("/api/sim/log", log)
    if STATIC.is_dir():
        app.router.add_static("/static/", STATIC)
