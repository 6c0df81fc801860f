"""Petition actions shared by residents, workers and staff: dispatch, sign, progress, resolve, rate.

Each action changes state through storage.petitions.transition (the one state machine) and writes the
messages it causes into the outbox in the same transaction.
"""

from __future__ import annotations

from bot import conversation
from bot.conversation import State, StatesGroup
from bot.router import Event, Filter, InState, Role, Router
from handlers import deadlines
from handlers.context import Ctx
from language import privacy
from language.texts import has, t
from storage import org, people, petitions, states
from storage.deliberation import followers

PRIVATE_CATEGORIES = frozenset({"dispute", "elderly"})
STAFF_ROLES = ("worker", "head", "staff", "admin")


class Rating(StatesGroup):
    reopen_reason = State()   # 不满意 without a reason: the reopened petition waits for why


def category_name(code: str) -> str:
    return t(f"category.{code}") if has(f"category.{code}") else code


def building_name(ctx: Ctx, bid: str | None) -> str:
    b = org.building(ctx.db, bid)
    return b["name"] if b else t("common.unknown_building")


def pick_worker(ctx: Ctx, grid_id: str) -> str | None:
    """The least-loaded worker of the grid; the grid head when the grid has none."""
    workers = org.grid_workers(ctx.db, grid_id)
    if workers:
        load = petitions.open_load(ctx.db, workers)
        return min(workers, key=lambda w: (load[w], w))
    grid = org.grid(ctx.db, grid_id)
    return grid["head"] if grid else None


def summary(ctx: Ctx, p: dict, mark: bool = True) -> str:
    """One line of a petition; `mark=False` leaves out the urgent mark (a notice that says so already)."""
    return t("petition.summary", id=p["id"], building=building_name(ctx, p["building"]),
             category=category_name(p["category"]), state=states.label(p["state"]),
             text=p["text"][:60], urgent=t("petition.urgent_mark") if p["urgent"] and mark else "")


def tell_residents(ctx: Ctx, p: dict, text: str) -> None:
    """An update for the reporter and every household that follows the petition."""
    for openid in [p["resident"], *followers(ctx.db, p["id"])]:
        ctx.to_resident(openid, text, ref=f"petition:{p['id']}")


def dispatch(ctx: Ctx, p: dict, actor: str = "system", worker: str | None = None) -> dict:
    """Assign the petition to a worker of its building's grid and tell the worker. A petition without
    a grid (an observer's report far from any building) waits for staff to name the worker."""
    changes: dict[str, object] = {}
    if not p.get("grid"):
        if worker is None:
            return p
        changes = {"grid": next(iter(org.grids_of(ctx.db, worker)), None)}
    worker = worker or pick_worker(ctx, p["grid"])
    if worker is None:
        for userid in org.community_staff(ctx.db):
            ctx.to_staff(userid, t("staff.no_worker", summary=summary(ctx, p)), ref=f"petition:{p['id']}")
        return p
    first = p["state"] == "submitted"
    if p["state"] in ("submitted", "returned") or not p.get("clock_started_at"):
        # the clock starts with the same UPDATE (limits depend on category and urgency, unchanged here)
        changes.update(deadlines.start_fields(ctx, p))
    p = petitions.transition(ctx.db, p["id"], "assigned", actor=actor, now=ctx.now, worker=worker,
                             note=worker, **changes)
    if p["urgent"]:
        ctx.to_staff(worker, t("safety.new_urgent", summary=summary_with_deadlines(ctx, p, mark=False), id=p["id"],
                               minutes=sign_minutes(ctx)), ref=f"petition:{p['id']}")
        if first:
            alert_emergency(ctx, p)
    else:
        ctx.to_staff(worker, t("worker.new_petition", summary=summary_with_deadlines(ctx, p)),
                     ref=f"petition:{p['id']}")
    return p


def sign_minutes(ctx: Ctx) -> str:
    return f"{ctx.settings.time_limits.emergency_sign_for_minutes:g}"


def alert_emergency(ctx: Ctx, p: dict) -> None:
    """An urgent petition reaches the grid head and the staff on duty (the community staff: role staff
    or admin in the org file) as it reaches the worker; who was told is an event of the petition (and
    each message an outbox row under the petition's ref)."""
    grid = org.grid(ctx.db, p["grid"]) if p["grid"] else None
    head = grid["head"] if grid and grid["head"] else None
    told = [(p["worker"], "safety.role_worker")]
    if head and head != p["worker"]:
        told.append((head, "safety.role_head"))
    told += [(u, "safety.role_staff") for u in org.community_staff(ctx.db) if u not in (p["worker"], head)]
    text = t("safety.alert", summary=summary(ctx, p, mark=False), worker=_staff_name(ctx, p["worker"]),
             due=deadlines.short(p["sign_deadline"]) if p.get("sign_deadline") else "—")
    for userid, _role in told[1:]:
        ctx.to_staff(userid, text, ref=f"petition:{p['id']}")
    names = t("safety.list_sep").join(t("safety.name_role", name=_staff_name(ctx, u), role=t(r)) for u, r in told)
    petitions.note(ctx.db, p["id"], actor="system", now=ctx.now, text=t("safety.event_alerted", names=names))


def _staff_name(ctx: Ctx, userid: str | None) -> str:
    member = org.staff_member(ctx.db, userid) if userid else None
    return member["name"] if member else (userid or "—")


def summary_with_deadlines(ctx: Ctx, p: dict, mark: bool = True) -> str:
    line = deadlines.deadline_line(p)
    return f"{summary(ctx, p, mark)}\n{line}" if line else summary(ctx, p, mark)


def sign(ctx: Ctx, p: dict, actor: str) -> dict:
    changes = {"worker": actor} if p["worker"] != actor and _is_worker_of(ctx, actor, p) else {}
    p = petitions.transition(ctx.db, p["id"], "accepted", actor=actor, now=ctx.now, **changes)
    deadlines.on_sign(ctx, p)
    tell_residents(ctx, p, t("resident.accepted", id=p["id"]))
    return p


def progress(ctx: Ctx, p: dict, actor: str, text: str) -> dict:
    if p["state"] in ("accepted", "assigned", "escalated") and states.can(p["state"], "in_progress"):
        p = petitions.transition(ctx.db, p["id"], "in_progress", actor=actor, now=ctx.now, note=text)
    else:
        petitions.note(ctx.db, p["id"], actor=actor, now=ctx.now, text=text)
    deadlines.on_feedback(ctx, p)
    tell_residents(ctx, p, t("resident.progress", id=p["id"], note=text))
    return p


def resident_names(ctx: Ctx) -> list[str]:
    return people.resident_names(ctx.db)


def public_text(ctx: Ctx, text: str, names: list[str] | None = None) -> str:
    """Mask what could identify a person (contact details, rooms, names: language.privacy) in a text
    meant for a group or the public board; `names` (the residents' names) when the caller has them."""
    names = resident_names(ctx) if names is None else names
    return privacy.scrub(text, t("privacy.mask"), names).strip(" ，,。；;") or t("group.default_resolution")


def group_of(ctx: Ctx, p: dict) -> dict | None:
    """The building whose group hears about this petition: none for private categories, a petition
    marked private, or a building without a group."""
    if not p["building"] or p["category"] in PRIVATE_CATEGORIES or p["private"]:
        return None
    b = org.building(ctx.db, p["building"])
    return b if b and b["grp"] else None


def resolve(ctx: Ctx, p: dict, actor: str, text: str) -> dict:
    """办结 with the worker's result `text` (worker.resolve asks for it when missing and has an urgent
    petition signed for first)."""
    note = text
    b = group_of(ctx, p)
    extra = {"group_notice_at": petitions.iso(ctx.now)} if b else {}
    p = petitions.transition(ctx.db, p["id"], "resolved", actor=actor, now=ctx.now, note=note,
                             resolution=note, **extra)
    deadlines.on_resolve(ctx, p)
    ctx.to_resident(p["resident"], t("resident.resolved", id=p["id"], note=note), ref=f"petition:{p['id']}")
    for follower in followers(ctx.db, p["id"]):
        ctx.to_resident(follower, t("resident.resolved_follower", id=p["id"], note=note), ref=f"petition:{p['id']}")
    if b:
        # template text only: the worker's note reaches the group when staff publish it (公示 N)
        ctx.to_group(b["id"], t("group.resolved", building=b["name"], id=p["id"],
                                category=category_name(p["category"])), ref=f"petition:{p['id']}")
    return p


def rate(ctx: Ctx, p: dict, rating: str, reason: str) -> dict:
    """满意 / 基本满意 close it; 不满意 reopens it to its worker (a reason is asked when missing)."""
    if rating in ("satisfied", "basic"):
        p = petitions.transition(ctx.db, p["id"], "closed", actor=p["resident"], now=ctx.now,
                                 rating=rating, rating_note=reason or None, note=rating)
        ctx.say(t("resident.rated", id=p["id"]))
        return p
    p = petitions.transition(ctx.db, p["id"], "assigned", actor=p["resident"], now=ctx.now,
                             rating=rating, rating_note=reason or None,
                             reopen_count=p["reopen_count"] + 1, note=reason or t("common.no_reason"))
    p = deadlines.start(ctx, p)
    correct_notice(ctx, p, "reopened")
    if p["urgent"]:   # an emergency not solved: head and staff hear of it again, as when it came in
        alert_emergency(ctx, p)
    if reason:
        ctx.say(t("resident.reopened", id=p["id"]))
        _tell_worker_reopened(ctx, p, reason)
    else:
        conversation.enter(ctx.db, p["resident"], Rating.reopen_reason, ctx.now, petition=p["id"])
        ctx.say(t("resident.ask_reason", id=p["id"]))
    return p


steps = Router("rating-steps", Role("resident"))


@steps.message(InState(Rating.reopen_reason))
def answer_reopen_reason(ctx: Ctx, me: dict, text: str, data: dict) -> None:
    conversation.leave(ctx.db, me["openid"])
    p = petitions.get(ctx.db, data["petition"])
    if p:
        reopen_reason(ctx, p, text)


def reopen_reason(ctx: Ctx, p: dict, reason: str) -> None:
    petitions.note(ctx.db, p["id"], actor=p["resident"], now=ctx.now, text=reason)
    petitions.update(ctx.db, p["id"], rating_note=reason)
    ctx.say(t("resident.reopened", id=p["id"]))
    _tell_worker_reopened(ctx, p, reason)


def _tell_worker_reopened(ctx: Ctx, p: dict, reason: str) -> None:
    if p["worker"]:
        ctx.to_staff(p["worker"], t("worker.reopened", id=p["id"], reason=reason, summary=summary(ctx, p)),
                     ref=f"petition:{p['id']}")


def correct_notice(ctx: Ctx, p: dict, kind: str) -> None:
    """A petition whose 办结公示 went to its building group and that is reopened, withdrawn or rejected
    afterwards: the group is told the notice no longer holds (building, category and number only)."""
    if not p.get("group_notice_at"):
        return
    b = group_of(ctx, p)
    if b:
        ctx.to_group(b["id"], t(f"safety.correction_{kind}", building=b["name"], id=p["id"],
                                category=category_name(p["category"])), ref=f"petition:{p['id']}")


def needs_sign_first(p: dict) -> bool:
    """An urgent petition is signed for (接单) before it may be resolved: waiting for its worker's
    signature now, or never signed."""
    return bool(p["urgent"]) and (p["state"] == "assigned" or not p.get("accepted_at"))


def _is_worker_of(ctx: Ctx, userid: str, p: dict) -> bool:
    return p["grid"] in org.grids_of(ctx.db, userid)


def may_act(ctx: Ctx, userid: str, p: dict) -> bool:
    """Workers and heads act on their grid's petitions; staff and admins on all."""
    member = org.staff_member(ctx.db, userid)
    if member is None:
        return False
    if member["role"] in ("staff", "admin"):
        return True
    return _is_worker_of(ctx, userid, p)


def OnPetition() -> Filter:
    """A staff command naming a petition the sender may act on: hands `p`, the petition."""
    def check(e: Event) -> bool | dict:
        p = e.petition
        if p is None or e.me is None or not may_act(e.ctx, e.me["userid"], p):
            return False
        return {"p": p}
    return check
