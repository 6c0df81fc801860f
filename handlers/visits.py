"""Door-knocking (入户走访, SPEC §5 and §9): '走访 楼栋 房号 情况'; '问题：…' opens a petition.

A problem found on a visit is filed on the household's behalf: for the resident bound to that room
when there is one (who is then told), otherwise for the household itself (`visit:<visit id>`), which
cannot be messaged. The visiting worker takes it when they serve that grid; otherwise the usual
routing picks a worker.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.router import Command, Role, Router
from handlers import lifecycle
from handlers.context import Ctx
from handlers.lifecycle import STAFF_ROLES
from language import address
from language.texts import t
from language.words import pattern
from storage import clock as clock_store
from storage import org, people, petitions

router = Router("visits", Role(*STAFF_ROLES))


@router.message(Command("visit"))
def log_visit(ctx: Ctx, member: dict, rest: str) -> None:
    if not rest.strip():
        ctx.say(t("clock.visit_usage"))
        return
    b = address.find_building(rest, org.buildings(ctx.db))
    if b is None:
        ctx.say(t("clock.visit_unknown_building"))
        return
    room = address.room_label(address.parse(rest))
    vid = clock_store.add_visit(ctx.db, member["userid"], b["id"], room, rest.strip(), ctx.now)
    count = clock_store.visits_since(ctx.db, member["userid"], _month_start(ctx.now))
    replies = [t("clock.visit_logged", id=vid, building=b["name"], room=room or "", count=count)]
    problem = pattern("visit_problem", re.DOTALL).search(rest)
    if problem and problem.group(1).strip(" 。，,"):
        p = _file_problem(ctx, member, b, room, problem.group(1).strip(" 。，,"), vid)
        worker = org.staff_member(ctx.db, p["worker"]) if p.get("worker") else None
        replies.append(t("clock.visit_petition", pid=p["id"], category=lifecycle.category_name(p["category"]),
                         worker=worker["name"] if worker else "—"))
    ctx.say("\n".join(replies))


def _file_problem(ctx: Ctx, member: dict, b: dict, room: str | None, text: str, vid: int) -> dict:
    match = ctx.matcher.classify(text)
    category = match.category or "other"
    resident = _resident_at(ctx, b["id"], room)
    p = petitions.create(ctx.db, resident=resident or f"visit:{vid}", building=b["id"], grid=b["grid"],
                         category=category, text=text, now=ctx.now, urgent=bool(match.emergency),
                         private=category in lifecycle.PRIVATE_CATEGORIES, actor=member["userid"])
    clock_store.link_visit(ctx.db, vid, p["id"])
    worker = member["userid"] if member["userid"] in org.grid_workers(ctx.db, b["grid"]) else None
    p = lifecycle.dispatch(ctx, p, actor=member["userid"], worker=worker)
    if resident:
        ctx.to_resident(resident, t("clock.visit_resident_filed", id=p["id"], text=text), ref=f"petition:{p['id']}")
    return p


def _resident_at(ctx: Ctx, building: str, room: str | None) -> str | None:
    """The one resident bound to that room, if exactly one is."""
    if not room:
        return None
    return people.only_resident_of_room(ctx.db, building, room)


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
