"""亲邻议事: merging petitions by hand, topics, votes in private chat with a public tally, disclosure
(duplicates found on report: handlers/duplicates.py)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.router import Command, Pattern, Role, Router, SkipHandler
from handlers import deadlines, lifecycle, plain, votes
from handlers.context import Ctx
from handlers.lifecycle import STAFF_ROLES
from language.commands import Command as ParsedCommand
from language.texts import t
from language.words import pattern
from storage import deliberation as store
from storage import org, petitions, states

# the vote part lives in handlers.votes; these names stay reachable here for the clock and the tests
close_due_votes = votes.close_due_votes
tally = votes.tally
turnout_text = votes.turnout_text

STAFF_COMMANDS = frozenset({"topic", "vote", "publish", "answer_disclosure"})


def merge(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    """合并 N 到 M: N and everyone following it now follow M."""
    m = re.search(r"(\d{1,7})", rest)
    target = petitions.get(ctx.db, int(m.group(1))) if m else None
    if m is None:
        ctx.say(t("staffcmd.merge_no_target", id=p["id"]))
        return
    if target is None:
        ctx.say(t("staffcmd.merge_no_such_target", target=m.group(1)))
        return
    if target["id"] == p["id"]:
        ctx.say(t("staffcmd.merge_self", id=p["id"]))
        return
    if not states.is_open(target["state"]):
        ctx.say(t("staffcmd.merge_target_closed", target=target["id"], state=states.label(target["state"])))
        return
    if not lifecycle.may_act(ctx, member["userid"], target):
        ctx.say(t("worker.not_your_grid", id=target["id"]))
        return
    if not states.can(p["state"], "merged"):
        ctx.say(t("worker.bad_state", id=p["id"], state=states.label(p["state"])))
        return
    petitions.transition(ctx.db, p["id"], "merged", actor=member["userid"], now=ctx.now,
                         merged_into=target["id"], note=t("delib.merged_note", id=target["id"]))
    for resident in [p["resident"], *store.followers(ctx.db, p["id"])]:
        if resident != target["resident"]:
            store.add_follower(ctx.db, target["id"], resident, p["id"], ctx.now)
        ctx.to_resident(resident, t("delib.resident_merged", id=p["id"], target=target["id"]),
                        ref=f"petition:{p['id']}")
    ctx.say(t("delib.merged_by_worker", id=p["id"], target=target["id"],
              count=store.households_raising(ctx.db, target["id"])))


def unmerge(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    """取消合并 N: N is handled on its own again."""
    if p["state"] != "merged" or not p["merged_into"]:
        ctx.say(t("delib.not_merged", id=p["id"]))
        return
    store.remove_followers_from(ctx.db, p["merged_into"], p["id"])
    petitions.transition(ctx.db, p["id"], "submitted", actor=member["userid"], now=ctx.now,
                         merged_into=None, note=t("delib.unmerged_note"))
    p = lifecycle.dispatch(ctx, petitions.get(ctx.db, p["id"]) or p, actor=member["userid"])
    ctx.to_resident(p["resident"], t("delib.resident_unmerged", id=p["id"]), ref=f"petition:{p['id']}")
    ctx.say(t("delib.unmerged", id=p["id"]))


# --- topics ----------------------------------------------------------------------------------------

def open_topic_for(ctx: Ctx, p: dict, actor: str, reason: str) -> int:
    existing = store.topic_for_petition(ctx.db, p["id"])
    if existing:
        return int(existing["id"])
    b = org.building(ctx.db, p["building"])
    title = t("delib.topic_title", building=b["name"] if b else "", category=lifecycle.category_name(p["category"]),
              text=lifecycle.public_text(ctx, p["text"])[:40])
    tid = store.create_topic(ctx.db, petition=p["id"], title=title, actor=actor, reason=reason, now=ctx.now)
    petitions.note(ctx.db, p["id"], actor=actor, now=ctx.now, text=t("delib.topic_opened_note", topic=tid))
    for userid in org.community_staff(ctx.db):
        ctx.to_staff(userid, t("delib.topic_opened", topic=tid, title=title, reason=reason), ref=f"topic:{tid}")
    return tid


def _topic_command(ctx: Ctx, member: dict, rest: str) -> None:
    m = pattern("number_only").fullmatch(rest)
    if m:
        topic = store.topic(ctx.db, int(m.group(1)))
        if topic is None:
            ctx.say(t("delib.no_topic", topic=m.group(1)))
            return
        history = "\n".join(f"{deadlines.short(e['at'])} {e['note']}" for e in store.topic_history(
            ctx.db, topic["id"]))
        ctx.say(t("delib.topic_show", topic=topic["id"], title=topic["title"], status=plain.topic_status(topic["status"]),
                  history=history))
        return
    if not rest.strip():
        ctx.say(t("delib.topic_usage"))
        return
    tid = store.create_topic(ctx.db, petition=None, title=rest.strip()[:80], actor=member["userid"],
                             reason=t("delib.topic_reason_staff"), now=ctx.now)
    ctx.say(t("delib.topic_created", topic=tid))


# --- disclosure -------------------------------------------------------------------------------------

def _publish_item(ctx: Ctx, member: dict, rest: str) -> None:
    parts = re.split(r"[:：]", rest, maxsplit=1)
    title, body = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
    if not title:
        ctx.say(t("delib.publish_usage"))
        return
    did = store.add_disclosure(ctx.db, kind="proactive", title=title, body=body, requester=None,
                               status="published", due_at=None, now=ctx.now)
    ctx.say(t("delib.published", id=did))


def _answer(ctx: Ctx, member: dict, cmd: ParsedCommand) -> None:
    item = store.disclosure(ctx.db, cmd.number) if cmd.number else None
    problem = (t("staffcmd.answer_need_number") if not cmd.number
               else t("staffcmd.answer_no_such", id=cmd.number) if item is None
               else t("staffcmd.answer_not_request", id=item["id"]) if item["kind"] != "request"
               else t("staffcmd.answer_already", id=item["id"], at=deadlines.short(item["answered_at"] or ""))
               if item["status"] == "answered"
               else t("staffcmd.answer_need_text", id=item["id"]) if not cmd.rest else None)
    if problem:
        ctx.say(problem)
        return
    store.answer_disclosure(ctx.db, item["id"], cmd.rest, member["userid"], ctx.now)
    if item["requester"]:
        ctx.to_resident(item["requester"], t("delib.request_answered", id=item["id"], answer=cmd.rest),
                        ref=f"disclosure:{item['id']}")
    ctx.say(t("delib.answered", id=item["id"]))


def _request(ctx: Ctx, me: dict, text: str) -> None:
    due = ctx.now + timedelta(days=ctx.settings.deliberation.disclosure_days)
    # the title is for staff only: /public shows a request by its number and state, and staff's answer
    did = store.add_disclosure(ctx.db, kind="request", title=text[:120], body=None,
                               requester=me["openid"], status="pending", due_at=due, now=ctx.now)
    for userid in org.community_staff(ctx.db):
        ctx.to_staff(userid, t("delib.request_for_staff", id=did, text=text, due=due.strftime(t("common.month_day"))),
                     ref=f"disclosure:{did}")
    ctx.say(t("delib.request_received", id=did, text=text, due=due.strftime(t("common.month_day"))))


# --- routers ------------------------------------------------------------------------------------------

residents = Router("deliberation-residents", Role("resident"), ends_conversation=True)
staff = Router("deliberation-staff", Role("staff", "admin"))
on_petitions = Router("deliberation-petitions", Role(*STAFF_ROLES), lifecycle.OnPetition())


@residents.message(Pattern("turnout"))
def turnout(ctx: Ctx, me: dict) -> None:
    """投票情况"""
    mine = votes.my_open_votes(ctx, me)
    ctx.say("\n\n".join(turnout_text(ctx, v) for v in mine) if mine else t("delib.no_open_vote"))


@residents.message(Pattern("ballot"))
def ballot(ctx: Ctx, me: dict, found: re.Match) -> None:
    """投票 A, 投票 同意, 投票 3 A; 投票 3 shows vote 3's options."""
    if not votes.ballot(ctx, me, found.group(1), found.group(2)):
        raise SkipHandler   # "投票箱坏了": words after 投票 that are no option, with no vote open


@residents.message(Pattern("disclosure_request", re.DOTALL))
def request(ctx: Ctx, me: dict, found: re.Match) -> None:
    """申请公开 …"""
    if not found.group(1).strip():
        raise SkipHandler
    _request(ctx, me, found.group(1).strip())


@staff.message(Command("topic"))
def topic(ctx: Ctx, member: dict, rest: str) -> None:
    _topic_command(ctx, member, rest)


@staff.message(Command("vote"))
def vote(ctx: Ctx, member: dict, rest: str) -> None:
    votes.vote_command(ctx, member, rest)


@staff.message(Command("turnout"))
def staff_turnout(ctx: Ctx, cmd: ParsedCommand) -> None:
    """投票情况 [N]: the live turnout of vote N (of every open vote without N), building by building."""
    m = pattern("number_only").fullmatch(cmd.rest) if cmd.rest else None
    number = cmd.number if cmd.number is not None else (int(m.group(1)) if m else None)
    if number is None:
        found = store.open_votes(ctx.db)
        ctx.say("\n\n".join(votes.staff_turnout_text(ctx, v) for v in found) if found
                else t("staffcmd.no_open_votes"))
        return
    v = store.vote(ctx.db, number)
    ctx.say(votes.staff_turnout_text(ctx, v) if v else t("staffcmd.no_vote", vote=number))


@staff.message(Command("publish"))
def publish(ctx: Ctx, member: dict, rest: str) -> None:
    _publish_item(ctx, member, rest)


@staff.message(Command("answer_disclosure"))
def answer(ctx: Ctx, member: dict, cmd: ParsedCommand) -> None:
    _answer(ctx, member, cmd)


@on_petitions.message(Command("merge"))
def merge_command(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    merge(ctx, member, p, rest)


@on_petitions.message(Command("unmerge"))
def unmerge_command(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    unmerge(ctx, member, p, rest)


def remind_overdue_disclosures(ctx: Ctx) -> int:
    """A disclosure request not answered by its deadline is raised with every staff member, once."""
    overdue = store.overdue_requests(ctx.db, ctx.now)
    for item in overdue:
        for userid in org.community_staff(ctx.db):
            ctx.to_staff(userid, t("delib.request_overdue", id=item["id"], text=item["title"]),
                         ref=f"disclosure:{item['id']}")
        store.mark_overdue_notified(ctx.db, item["id"], ctx.now)
    return len(overdue)
