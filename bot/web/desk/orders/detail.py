"""One petition: everything the office knows of it, and the actions the viewer may take.

A worker or grid head sees their own grids' petitions only: another grid's number typed into the URL gets
a refusal (403) and none of its data, for the page and for every action. The resident's name and address
are shown to whoever handles the petition (a worker goes to the door); the phone only to the office
(staff, admin), as the ledger does: a worker reaches the resident through the bot (回复居民), so the
number does not spread to every phone of the grid. Every view is written to the audit log.

Actions are chat commands sent as the viewer (`act`): the same handlers, permission checks and messages
to residents and workers as in WeCom; the bot's replies are flashed on the page it redirects to."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from sqlite_utils import Database

from bot.keys import CLOCK
from bot.web.desk.act import act
from bot.web.desk.auth import Refused, audit
from bot.web.desk.orders import present, routes
from bot.web.desk.pages import flash, read, render
from handlers import plain
from language import privacy
from language.texts import t
from storage import org, states, workorder_detail

# action -> the form fields it sends after the petition's number, in order (all required)
FIELDS: dict[str, tuple[str, ...]] = {
    "dispatch": ("worker",), "transfer": ("worker",), "reject": ("reason",), "progress": ("text",),
    "resolve": ("text",), "merge": ("target",), "unmerge": (), "escalate": ("reason",),
}
MAX_TEXT = 500


def _actor(e: dict, p: dict) -> str:
    if e["actor"] == "system":
        return t("desk_orders.actor_system")
    if e.get("staff_name"):
        return str(e["staff_name"])
    name = e.get("resident_name")
    return f"{t('desk_orders.actor_resident')} {name}" if name else t("desk_orders.actor_resident")


def _line(db: Database, e: dict) -> str:
    """An event in plain words; a transfer between workers (assigned to assigned, naming a roster member)
    says so. A progress note while assigned is assigned to assigned too, and reads as itself."""
    if e["from_state"] == e["to_state"] == "assigned" and org.staff_member(db, str(e.get("note") or "")):
        return t("desk_orders.event_transfer", name=plain.event_note(db, e))
    return plain.event_line(db, e)


def _deadlines(p: dict, now: datetime) -> list[dict]:
    out = []
    done = {"sign_deadline": p["state"] not in ("submitted", "assigned", "returned"),
            "feedback_deadline": bool(p.get("feedback_at")), "resolve_deadline": not states.is_open(p["state"])}
    for key in ("sign_deadline", "feedback_deadline", "resolve_deadline"):
        stamp = p.get(key)
        left, late = present.left(stamp, now) if stamp and not done[key] else ("", False)
        out.append({"label": t(f"desk_orders.{key}"), "at": plain.when(stamp) if stamp else "",
                    "left": left, "late": late, "done": bool(stamp) and done[key]})
    return out


def _detail(db: Database, pid: int, now: datetime, office: bool = True) -> dict | None:
    """Everything the page shows; outside the office the chat's contact details are masked (the phone
    is the office's, as on the page and in the ledger)."""
    p = workorder_detail.petition(db, pid)
    if p is None:
        return None
    events = workorder_detail.timeline(db, pid)
    mask = t("privacy.mask")
    return {
        "p": {**present.row(p, now), "rating_label": present.rating(p.get("rating"))},
        "timeline": [{"at": plain.when(e["at"]), "actor": _actor(e, p), "line": _line(db, e)} for e in events],
        "thread": [{**m, "at": plain.when(m["at"]), "text": m["text"] if office else privacy.contacts(m["text"], mask)}
                   for m in workorder_detail.thread(db, p, now)],
        "followers": workorder_detail.followers(db, pid), "merged": workorder_detail.merged(db, pid),
        "workers": workorder_detail.grid_workers(db, p["grid"]), "deadlines": _deadlines(p, now),
    }


async def _not_found(request: web.Request) -> web.StreamResponse:
    return await render(request, "order_missing.html", status=404)


@routes.get(r"/orders/{pid:\d{1,9}}")
async def detail(request: web.Request) -> web.StreamResponse:
    pid = int(request.match_info["pid"])
    viewer = request["viewer"]
    data = await read(request, _detail, pid, request.config_dict[CLOCK].now(), request["viewer"].office)
    if data is None:
        return await _not_found(request)
    if not viewer.sees_grid(data["p"]["grid"]):
        raise Refused()   # the refusal page (403), none of the petition
    await audit(request, "view_petition", str(pid))
    data["actions"] = present.actions(viewer.role, data["p"])
    data["phone"] = viewer.office
    return await render(request, "order_detail.html", data)


@routes.post(r"/orders/{pid:\d{1,9}}/{action:[a-z]+}")
async def action(request: web.Request) -> web.StreamResponse:
    pid, name = int(request.match_info["pid"]), request.match_info["action"]
    if name not in FIELDS:
        raise web.HTTPNotFound()
    p = await read(request, workorder_detail.petition, pid)
    if p is None:
        return await _not_found(request)
    if not request["viewer"].sees_grid(p["grid"]):
        raise Refused()
    form = await request.post()
    parts = [" ".join(str(form.get(field, "")).split())[:MAX_TEXT] for field in FIELDS[name]]
    if all(parts):
        for reply in await act(request, name, str(pid), *parts):
            await flash(request, reply)
    else:
        await flash(request, t("desk_orders.need_text"))
    raise web.HTTPSeeOther(f"/admin/orders/{pid}")
