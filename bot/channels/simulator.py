"""The simulator channel: the web chat at / speaks through the very same router and handlers."""

from __future__ import annotations

import itertools
import json
import logging
import secrets
from pathlib import Path

from aiohttp import web

from bot.channels.inbound import coordinate, cut_text
from bot.keys import CLOCK, INTAKE, SETTINGS
from bot.messages import Message
from language import address
from language.texts import t
from storage import announcements, chat, org, people

logger = logging.getLogger("minsheng.simulator")

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
_counter = itertools.count(1)
NAME_MAX = 20   # characters of a simulated resident's name


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
    groups = [{"id": b["id"], "name": b["name"], "community": communities.get(b["community"], ""),
               "lat": b.get("lat"), "lng": b.get("lng")}   # where a newcomer may stand to try observers
              for b in names.values() if not test_deployment or (b.get("grp") or "") == "sim"]
    return {"residents": residents, "staff": staff, "groups": groups}


async def list_people(request: web.Request) -> web.Response:
    intake = request.app[INTAKE]
    test = request.app[SETTINGS].has_real_channel
    return web.json_response(await intake.writer.call(_people, intake.db, test))


async def _payload(request: web.Request) -> tuple[dict | None, web.Response | None]:
    """The posted JSON, or the answer to a bad post: in Chinese, for the page to show in the chat."""
    try:
        payload = await request.json()
    except web.HTTPRequestEntityTooLarge:
        logger.info("simulator post over %s bytes refused", request.app[SETTINGS].server.max_body_bytes)
        return None, web.json_response({"error": t("sim_page.body_too_large")}, status=413)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None, web.json_response({"error": t("sim.bad_request")}, status=400)
    if not isinstance(payload, dict):
        return None, web.json_response({"error": t("sim.bad_request")}, status=400)
    return payload, None


def _place(payload: dict) -> tuple[float, float] | None:
    """A shared location's (lat, lng): finite and on the globe, else None."""
    lat, lng = coordinate(str(payload.get("lat", ""))), coordinate(str(payload.get("lng", "")))
    if lat is None or lng is None or abs(lat) > 90 or abs(lng) > 180:
        return None
    return lat, lng


def _message(request: web.Request, kind: str, pid: str, payload: dict) -> Message | web.Response:
    """A text (cut to [limits] like every channel's; `omitted`: what the page held back of a huge one)
    or a shared location."""
    now = request.app[CLOCK].now()
    key = f"sim:{pid}:{now.timestamp()}:{next(_counter)}"
    if "lat" in payload or "lng" in payload:
        place = _place(payload)
        if place is None or kind != "resident":
            return web.json_response({"error": t("sim_page.location_usage")}, status=400)
        return Message(channel="sim", role=kind, sender=pid, kind="location", key=key, lat=place[0], lng=place[1],
                       text=t("sim_page.location_text", lat=f"{place[0]:.5f}", lng=f"{place[1]:.5f}"))
    try:
        omitted = max(0, int(payload.get("omitted", 0)))
    except (TypeError, ValueError):
        omitted = 0
    text, cut = cut_text(str(payload.get("text", "")), request.app[SETTINGS].limits.max_text_chars)
    return Message(channel="sim", role=kind, sender=pid, kind="text", text=text, key=key, cut=cut + omitted)


async def send(request: web.Request) -> web.Response:
    payload, bad = await _payload(request)
    if payload is None:
        return bad or web.json_response({"error": t("sim.bad_request")}, status=400)
    kind, pid = payload.get("kind"), str(payload.get("id", "")).strip()
    if kind not in ("resident", "staff") or not pid or len(pid) > 64:
        return web.json_response({"error": t("sim.bad_kind")}, status=400)
    refused = await _refused(request, kind, pid)
    if refused is not None:
        return refused
    intake = request.app[INTAKE]
    msg = _message(request, kind, pid, payload)
    if isinstance(msg, web.Response):
        return msg
    if msg.kind == "location":   # the chat log keeps texts only: the page shows the shared place too
        await intake.writer.call(chat.log_chat, intake.db, kind, pid, "in", msg.text, request.app[CLOCK].now())
    replies = await intake.answer(msg, None)
    return web.json_response({"replies": [{"text": r} for r in replies]})


def _add_resident(db, name: str, building: str | None, room: str, now) -> dict | None:
    """A new simulated resident (a sim- id), bound to `building` and `room` when given; None when the
    building is not one of the organisation's."""
    b = org.building(db, building) if building else None
    if building and b is None:
        return None
    openid = f"{SIM_PREFIX}{secrets.token_hex(4)}"
    people.ensure_resident(db, openid, "sim", now)
    fields: dict[str, object] = {"name": name}
    if b is not None:
        parsed = address.parse(b["name"] + room)
        fields.update(building=b["id"], unit=parsed.unit, room=address.room_label(parsed) or (room or None))
    people.update_resident(db, openid, **fields)
    return {"id": openid, "name": name, "building": b["id"] if b else None}


async def add_resident(request: web.Request) -> web.Response:
    """The page's 添加居民: a newcomer plays a resident of their own (name, building, room)."""
    payload, bad = await _payload(request)
    if payload is None:
        return bad or web.json_response({"error": t("sim.bad_request")}, status=400)
    name = str(payload.get("name", "")).strip()
    if not name or len(name) > NAME_MAX:
        return web.json_response({"error": t("sim_page.bad_name", limit=NAME_MAX)}, status=400)
    building = str(payload.get("building") or "").strip() or None
    room = str(payload.get("room") or "").strip()[:20]
    intake = request.app[INTAKE]
    made = await intake.writer.call(_add_resident, intake.db, name, building, room, request.app[CLOCK].now())
    if made is None:
        return web.json_response({"error": t("sim_page.unknown_building")}, status=400)
    logger.info("simulator resident %s added", made["id"])
    return web.json_response(made)


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
    app.router.add_post("/api/sim/resident", add_resident)
    app.router.add_get("/api/sim/log", log)
    if STATIC.is_dir():
        app.router.add_static("/static/", STATIC)
