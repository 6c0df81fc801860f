"""Grid workers, grid heads and staff in WeCom (or the simulator): the commands of SPEC §5 and §6."""

from __future__ import annotations

import logging

from bot.logsafe import short
from bot.messages import Message
from handlers import deadlines, deliberation, lifecycle, staff, visits, volunteers
from handlers.context import Ctx
from language.commands import Command, parse
from language.texts import t
from storage import org, petitions, states

log = logging.getLogger("minsheng.worker")
STAFF_ONLY = (frozenset({"dispatch", "reject", "announce", "schedule_announce"}) | deliberation.STAFF_COMMANDS
              | volunteers.STAFF_COMMANDS | staff.STAFF_COMMANDS)


def handle(ctx: Ctx, msg: Message) -> None:
    member = org.staff_member(ctx.db, msg.sender)
    if member is None:
        if msg.kind == "text":  # events from WeCom's system accounts need no answer
            log.info("refused: %s is not on the staff roster", short(msg.sender))
            ctx.say(t("worker.unknown_user"))
        return
    if msg.kind != "text":
        if msg.kind == "event" and msg.event in ("subscribe", "enter_agent"):
            ctx.say(_help(member))
        return
    cmd = parse(msg.text)
    if cmd is None or cmd.code == "help":
        ctx.say(_help(member))
        return
    if cmd.code in STAFF_ONLY and member["role"] not in ("staff", "admin"):
        log.info("refused: %s (%s) may not use %s", short(member["userid"]), member["role"], cmd.code)
        ctx.say(t("worker.staff_only"))
        return
    if cmd.code == "todo":
        _todo(ctx, member)
    elif cmd.code == "announce":
        staff.announce(ctx, member, cmd.rest)
    elif cmd.code in deliberation.STAFF_COMMANDS:
        deliberation.staff_command(ctx, member, cmd)
    elif cmd.code in volunteers.STAFF_COMMANDS:
        volunteers.staff_command(ctx, member, cmd)
    elif cmd.code in staff.STAFF_COMMANDS:
        staff.staff_command(ctx, member, cmd)
    elif cmd.code == "schedule_announce":
        staff.schedule_announce(ctx, member, cmd.rest)
    elif cmd.code == "visit":
        visits.log_visit(ctx, member, cmd.rest)
    elif cmd.number is None:
        ctx.say(t("worker.need_number"))
    else:
        _on_petition(ctx, member, cmd)


def _todo(ctx: Ctx, member: dict) -> None:
    mine = petitions.open_for_worker(ctx.db, member["userid"])
    if member["role"] in ("staff", "admin", "head"):
        queue = [p for p in petitions.returned_queue(ctx.db)
                 if member["role"] != "head" or p["grid"] in org.grids_of(ctx.db, member["userid"])]
        mine += [p for p in queue if p not in mine]
    if not mine:
        ctx.say(t("worker.todo_empty"))
        return
    mine.sort(key=deadlines.todo_order)
    ctx.say(t("worker.todo", count=len(mine), petitions="\n".join(_todo_line(ctx, p) for p in mine)))


def _todo_line(ctx: Ctx, p: dict) -> str:
    """One petition of 待办, with the deadline it is up against."""
    mark = deadlines.todo_mark(ctx, p)
    return f"{lifecycle.summary(ctx, p)} {mark}" if mark else lifecycle.summary(ctx, p)


def _help(member: dict) -> str:
    return f"{t('worker.help', name=member['name'])}\n{t('clock.help_extra')}"


def _on_petition(ctx: Ctx, member: dict, cmd: Command) -> None:
    assert cmd.number is not None
    p = petitions.get(ctx.db, cmd.number)
    if p is None:
        ctx.say(t("worker.no_such", id=cmd.number))
        return
    if not lifecycle.may_act(ctx, member["userid"], p):
        log.info("refused: %s may not act on petition %s of grid %s", short(member["userid"]), p["id"], p["grid"])
        ctx.say(t("worker.not_your_grid", id=p["id"]))
        return
    if cmd.code == "show":
        _show(ctx, p)
        return
    if cmd.code in deliberation.PETITION_COMMANDS:
        getattr(deliberation, cmd.code)(ctx, member, p, cmd.rest)
        return
    target = {"accept": "accepted", "resolve": "resolved", "return": "returned", "escalate": "escalated",
              "transfer": "assigned", "dispatch": "assigned", "reject": "rejected",
              "progress": "in_progress"}[cmd.code]
    if cmd.code != "progress" and not states.can(p["state"], target):
        ctx.say(t("worker.bad_state", id=p["id"], state=states.label(p["state"])))
        return
    if cmd.code == "progress" and not states.is_open(p["state"]):
        ctx.say(t("worker.bad_state", id=p["id"], state=states.label(p["state"])))
        return
    getattr(_Actions, cmd.code)(ctx, member, p, cmd.rest)


def _show(ctx: Ctx, p: dict) -> None:
    lines = [f"{e['at'][5:16].replace('T', ' ')} {states.label(e['to_state'])} {e['note'] or ''}".rstrip()
             for e in petitions.history(ctx.db, p["id"])]
    b = org.building(ctx.db, p["building"])
    ctx.say(t("worker.show", summary=lifecycle.summary_with_deadlines(ctx, p), text=p["text"],
              building=b["name"] if b else "", history="\n".join(lines)))


class _Actions:
    """One function per petition command; each is reached only after permission and state checks."""

    @staticmethod
    def accept(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
        lifecycle.sign(ctx, p, member["userid"])
        ctx.say(t("worker.accepted", id=p["id"]))

    @staticmethod
    def progress(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
        if not rest:
            ctx.say(t("worker.need_text"))
            return
        lifecycle.progress(ctx, p, member["userid"], rest)
        ctx.say(t("worker.progress_sent", id=p["id"]))

    @staticmethod
    def resolve(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
        p = lifecycle.resolve(ctx, p, member["userid"], rest)
        ctx.say(t("worker.resolved", id=p["id"]))
        if lifecycle.group_of(ctx, p):      # the note waits for staff (公示 N) before the group sees it
            ctx.say(t("privacy.note_held", id=p["id"]))

    @staticmethod
    def return_(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
        if not rest:
            ctx.say(t("worker.need_reason"))
            return
        petitions.transition(ctx.db, p["id"], "returned", actor=member["userid"], now=ctx.now, note=rest)
        for userid in org.community_staff(ctx.db):
            ctx.to_staff(userid, t("staff.returned", id=p["id"], reason=rest, summary=lifecycle.summary(ctx, p)),
                         ref=f"petition:{p['id']}")
        ctx.say(t("worker.returned", id=p["id"]))

    @staticmethod
    def escalate(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
        petitions.transition(ctx.db, p["id"], "escalated", actor=member["userid"], now=ctx.now,
                             note=rest or None)
        grid = org.grid(ctx.db, p["grid"])
        to = [grid["head"]] if grid and grid["head"] and grid["head"] != member["userid"] else []
        if not to:
            deliberation.open_topic_for(ctx, p, member["userid"], rest or t("common.no_reason"))
        for userid in to or org.community_staff(ctx.db):
            ctx.to_staff(userid, t("staff.escalated", id=p["id"], reason=rest or t("common.no_reason"),
                                   summary=lifecycle.summary(ctx, p)), ref=f"petition:{p['id']}")
        ctx.say(t("worker.escalated", id=p["id"]))

    @staticmethod
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

    dispatch = transfer

    @staticmethod
    def reject(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
        if not rest:
            ctx.say(t("worker.need_reason"))
            return
        petitions.transition(ctx.db, p["id"], "rejected", actor=member["userid"], now=ctx.now, note=rest)
        lifecycle.tell_residents(ctx, p, t("resident.rejected", id=p["id"], reason=rest))
        ctx.say(t("worker.rejected", id=p["id"]))


setattr(_Actions, "return", _Actions.return_)


def _find_staff(ctx: Ctx, name: str) -> dict | None:
    name = name.strip()
    if not name:
        return None
    for s in org.staff_list(ctx.db):
        if name in (s["userid"], s["name"]):
            return s
    return None
