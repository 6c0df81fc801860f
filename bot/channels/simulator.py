"""The simulator channel: the web chat at / speaks through the very same router and handlers."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

from aiohttp import web

from bot.channels.inbound import cut_text
from bot.keys import CLOCK, INTAKE, SETTINGS
from bot.messages import Message
from language.texts import t
from storage import announcements, chat, org, people

logger = logging.getLogger("minsheng.simulator")

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
_counter = itertools.count(1)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


SIM_PREFIX = "sim-"   # beside real channels every simulated person's id starts so: no openid or userid does


def _real_person(db, kind: str, pid: str) -> bool:
    """In a test deployment beside real channels: could `pid` be someone the real channels reach (an id
    without the simulator's prefix, a roster userid, an Official Account openid, a building whose group
    is not the simulator's)? An unknown openid may be a real resident who has not written yet."""
    if kind == "staff":
        return not pid.startswith(SIM_PREFIX) or org.staff_member(db, pid) is not None
    if kind == "resident":
        row = people.resident(db, pid)
        return not pid.startswith(SIM_PREFIX) or (row is not None and row["channel"] != "sim")
    b = org.building(db, pid)
    return b is None or (b.get("grp") or "") != "sim"


async def _refused(request: web.Request, kind: str, pid: str) -> web.Response | None:
    """Beside real channels the simulator never acts as, or reads the chat of, a real person."""
    if not request.app[SETTINGS].has_real_channel:
        return None
    intake = request.app[INTAKE]
    if not await intake.writer.call(_real_person, intake.db, kind, pid):
        return None
    logger.warning("simulator refused %s %s: not a simulated %s in a test deployment", request.path, kind, kind)
    return web.json_response({"error": t("sim.real_person", prefix=SIM_PREFIX)}, status=403)


def _people(core_db, test_deployment: bool = False) -> dict:
    names = {b["id"]: b for b in org.buildings(core_db)}
    communities = {c["id"]: c["name"] for c in announcements.communities(core_db)}
    grids = {g["id"]: g for g in org.grids(core_db)}
    residents = [
        {"id": r["openid"], "name": r["name"] or r["openid"], "building": r["building"],
         "building_name": names[r["building"]]["name"] if r["building"] in names else None, "room": r["room"]}
        for r in people.of_channel(core_db, "sim")
        if not test_deployment or r["openid"].startswith(SIM_PREFIX)]
    staff = []
    for s in ([] if test_deployment else org.staff_list(core_db)):
        mine = org.grids_of(core_db, s["userid"])
        staff.append({"id": s["userid"], "name": s["name"], "role": s["role"], "grid": mine[0] if mine else None,
                      "grid_name": grids[mine[0]]["name"] if mine else None})
    groups = [{"id": b["id"], "name": b["name"], "community": communities.get(b["community"], "")}
              for b in names.values() if not test_deployment or (b.get("grp") or "") == "sim"]
    return {"residents": residents, "staff": staff, "groups": groups}


async def list_people(request: web.Request) -> web.Response:
    intake = request.app[INTAKE]
    test = request.app[SETTINGS].has_real_channel
    return web.json_response(await intake.writer.call(_people, intake.db, test))


async def send(request: web.Request) -> web.Response:
    try:
        payload = await request.json()
        kind, pid, text = payload["kind"], str(payload["id"]).strip(), str(payload.get("text", ""))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return web.json_response({"error": t("sim.bad_request")}, status=400)
    if kind not in ("resident", "staff") or not pid or len(pid) > 64:
        return web.json_response({"error": t("sim.bad_kind")}, status=400)
    refused = await _refused(request, kind, pid)
    if refused is not None:
        return refused
    intake = request.app[INTAKE]
    now = request.app[CLOCK].now()
    key = f"sim:{pid}:{now.timestamp()}:{next(_counter)}"
    text, cut = cut_text(text, request.app[SETTINGS].limits.max_text_chars)
    msg = Message(channel="sim", role=kind, sender=pid, kind="text", text=text, key=key, cut=cut)
    replies = await intake.answer(msg, None)
    return web.json_response({"replies": [{"text": r} for r in replies]})


async def log(request: web.Request) -> web.Response:
    q = request.query
    kind, pid = q.get("kind", ""), q.get("id", "")
    try:
        after = int(q.get("after", "0"))
    except ValueError:
        after = 0
    if kind not in ("resident", "staff", "group"):
        return web.json_response({"error": t("sim.bad_log_kind")}, status=400)
    refused = await _refused(request, kind, pid)
    if refused is not None:
        return refused
    intake = request.app[INTAKE]
    rows = await intake.writer.call(chat.chat_after, intake.db, kind, pid, after)
    return web.json_response({"messages": rows})


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/api/sim/people", list_people)
    app.router.add_post("/api/sim/send", send)
    app.router.add_get("/api/sim/log", log)
    if STATIC.is_dir():
        app.router.add_static("/static/", STATIC)
