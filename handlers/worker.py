"""Grid workers, grid heads and staff in WeCom (or the simulator): the commands of SPEC §5 and §6."""

from __future__ import annotations

import logging

from bot.logsafe import short
from bot.messages import Message
from bot.router import Command, Event, EventIs, Filter, Kind, Not, Number, Role, Router
from handlers import deadlines, deliberation, lifecycle, plain, staff, volunteers
from handlers.context import Ctx
from handlers.lifecycle import STAFF_ROLES
from language.commands import Command as ParsedCommand
from language.texts import t
from storage import org, petitions, states

log = logging.getLogger("minsheng.worker")
STAFF_ONLY = (frozenset({"dispatch", "reject", "announce", "schedule_announce"}) | deliberation.STAFF_COMMANDS
              | volunteers.STAFF_COMMANDS | staff.STAFF_COMMANDS)
PETITION_ACTIONS = ("accept", "progress", "resolve", "return", "escalate", "transfer", "dispatch", "reject")


gate = Router("staff-gate")
router = Router("worker", Role(*STAFF_ROLES))
petition_gate = Router("petition-gate", Role(*STAFF_ROLES), Command())
actions = Router("petition-actions", Role(*STAFF_ROLES), lifecycle.OnPetition())


@gate.message(Role("stranger"), Kind("text"))
def stranger(ctx: Ctx, msg: Message) -> None:
    log.info("refused: %s is not on the staff roster", short(msg.sender))
    ctx.say(t("worker.unknown_user"))


@gate.message(Role("stranger"))
def stranger_event(ctx: Ctx) -> None:
    """Events from WeCom's system accounts need no answer."""


@gate.message(Role(*STAFF_ROLES), EventIs("subscribe", "enter_agent"))
def greet(ctx: Ctx, member: dict) -> None:
    ctx.say(_help(member))


@gate.message(Role(*STAFF_ROLES), Not(Kind("text")))
def other_kind(ctx: Ctx) -> None:
    """Pictures, voice and other events from staff need no answer."""


@gate.message(Role(*STAFF_ROLES), lambda e: e.cmd is None or e.cmd.code == "help")
def help_(ctx: Ctx, member: dict) -> None:
    ctx.say(_help(member))


@gate.message(Command(*STAFF_ONLY), Not(Role("staff", "admin")))
def staff_only(ctx: Ctx, member: dict, cmd: ParsedCommand) -> None:
    log.info("refused: %s (%s) may not use %s", short(member["userid"]), member["role"], cmd.code)
    ctx.say(t("worker.staff_only"))


@router.message(Command("todo"))
def todo(ctx: Ctx, member: dict) -> None:
    """The sender's open petitions; heads and staff also the triage queue and every open urgent petition
    they were alerted to (heads: of their grids). Urgent ones first, under their own heading."""
    mine = petitions.open_for_worker(ctx.db, member["userid"])
    if member["role"] in ("staff", "admin", "head"):
        queue = petitions.returned_queue(ctx.db) + petitions.open_urgent(ctx.db)
        grids = org.grids_of(ctx.db, member["userid"])
        mine += [p for p in queue if p not in mine and (member["role"] != "head" or p["grid"] in grids)]
        mine = list({p["id"]: p for p in mine}.values())
    if not mine:
        ctx.say(t("worker.todo_empty"))
        return
    mine.sort(key=deadlines.todo_order)
    lines = [_todo_line(ctx, p) for p in mine]
    urgent = sum(deadlines.is_urgent_open(p) for p in mine)
    if urgent:
        lines.insert(0, t("safety.todo_urgent", count=urgent))
    ctx.say(t("worker.todo", count=len(mine), petitions="\n".join(lines)))


def _todo_line(ctx: Ctx, p: dict) -> str:
    """One petition of 待办, with the deadline it is up against."""
    mark = deadlines.todo_mark(ctx, p)
    return f"{lifecycle.summary(ctx, p)} {mark}" if mark else lifecycle.summary(ctx, p)


def _help(member: dict) -> str:
    return f"{t('worker.help', name=member['name'])}\n{t('clock.help_extra')}"


@petition_gate.message(Number(present=False))
def need_number(ctx: Ctx) -> None:
    ctx.say(t("worker.need_number"))


@petition_gate.message(lambda e: e.petition is None)
def no_such(ctx: Ctx, cmd: ParsedCommand) -> None:
    ctx.say(t("worker.no_such", id=cmd.number))


@petition_gate.message(Not(lifecycle.OnPetition()))
def not_yours(ctx: Ctx, member: dict, event: Event) -> None:
    p = event.petition or {}
    log.info("refused: %s may not act on petition %s of grid %s", short(member["userid"]), p.get("id"), p.get("grid"))
    ctx.say(t("worker.not_your_grid", id=p.get("id")))


@petition_gate.message(Command("show"), lifecycle.OnPetition())
def show(ctx: Ctx, p: dict) -> None:
    _show(ctx, p)


def _may_move(target: str) -> Filter:
    """The petition may go to `target` from where it is; 进展 only while it is open."""
    if target == "in_progress":
        return lambda e: e.petition is not None and states.is_open(e.petition["state"])
    return lambda e: e.petition is not None and states.can(e.petition["state"], target)


def _show(ctx: Ctx, p: dict) -> None:
    lines = [f"{deadlines.short(e['at'])} {plain.event_line(ctx.db, e)}".rstrip()
             for e in petitions.history(ctx.db, p["id"])]
    b = org.building(ctx.db, p["building"])
    ctx.say(t("worker.show", summary=lifecycle.summary_with_deadlines(ctx, p), text=p["text"],
              building=b["name"] if b else "", history="\n".join(lines)))


@actions.message(Command("accept"), _may_move("accepted"))
def accept(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    lifecycle.sign(ctx, p, member["userid"])
    ctx.say(t("worker.accepted", id=p["id"]))


@actions.message(Command("progress"), _may_move("in_progress"))
def progress(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    if not rest:
        ctx.say(t("worker.need_text"))
        return
    lifecycle.progress(ctx, p, member["userid"], rest)
    ctx.say(t("worker.progress_sent", id=p["id"]))


@actions.message(Command("resolve"), _may_move("resolved"))
def resolve(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    """办结 needs the result the resident will read; an urgent petition is signed for first."""
    if lifecycle.needs_sign_first(p):
        ctx.say(t("safety.sign_first", id=p["id"]))
        return
    rest = rest.strip()
    if len(rest.strip(" ，,。.；;！!")) < 2:
        ctx.say(t("safety.need_result", id=p["id"]))
        return
    p = lifecycle.resolve(ctx, p, member["userid"], rest)
    ctx.say(t("worker.resolved", id=p["id"]))
    if lifecycle.group_of(ctx, p):      # the note waits for staff (公示 N) before the group sees it
        ctx.say(t("privacy.note_held", id=p["id"]))


@actions.message(Command("return"), _may_move("returned"))
def return_(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    if not rest:
        ctx.say(t("worker.need_reason"))
        return
    p = petitions.transition(ctx.db, p["id"], "returned", actor=member["userid"], now=ctx.now, note=rest)
    for userid in org.community_staff(ctx.db):
        ctx.to_staff(userid, t("staff.returned", id=p["id"], reason=rest, summary=lifecycle.summary(ctx, p)),
                     ref=f"petition:{p['id']}")
    ctx.say(t("worker.returned", id=p["id"]))


@actions.message(Command("escalate"), _may_move("escalated"))
def escalate(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    p = petitions.transition(ctx.db, p["id"], "escalated", actor=member["userid"], now=ctx.now,
                             note=rest or None)
    grid = org.grid(ctx.db, p["grid"])
    to = [grid["head"]] if grid and grid["head"] and grid["head"] != member["userid"] else []
    if not to:
        deliberation.open_topic_for(ctx, p, member["userid"], rest or t("common.no_reason"))
    for userid in to or org.community_staff(ctx.db):
        ctx.to_staff(userid, t("staff.escalated", id=p["id"], reason=rest or t("common.no_reason"),
                               summary=lifecycle.summary(ctx, p)), ref=f"petition:{p['id']}")
    ctx.say(t("worker.escalated", id=p["id"]))


@actions.message(Command("transfer", "dispatch"), _may_move("assigned"))
def transfer(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    target = _find_staff(ctx, rest)
    if target is None:
        ctx.say(t("worker.unknown_target", name=rest or "?"))
        return
    if target["role"] not in ("staff", "admin") and p["grid"] not in org.grids_of(ctx.db, target["userid"]) \
            and member["role"] not in ("staff", "admin"):
        ctx.say(t("worker.transfer_other_grid", name=target["name"]))
        return
    lifecycle.dispatch(ctx, p, actor=member["userid"], worker=target["userid"])
    ctx.say(t("worker.transferred", id=p["id"], name=target["name"]))


@actions.message(Command("reject"), _may_move("rejected"))
def reject(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    if not rest:
        ctx.say(t("worker.need_reason"))
        return
    p = petitions.transition(ctx.db, p["id"], "rejected", actor=member["userid"], now=ctx.now, note=rest)
    lifecycle.correct_notice(ctx, p, "rejected")
    lifecycle.tell_residents(ctx, p, t("resident.rejected", id=p["id"], reason=rest))
    ctx.say(t("worker.rejected", id=p["id"]))


@actions.message(Command(*PETITION_ACTIONS))
def bad_state(ctx: Ctx, p: dict) -> None:
    ctx.say(t("worker.bad_state", id=p["id"], state=states.label(p["state"])))


def _find_staff(ctx: Ctx, name: str) -> dict | None:
    name = name.strip()
    if not name:
        return None
    for s in org.staff_list(ctx.db):
        if name in (s["userid"], s["name"]):
            return s
    return None
