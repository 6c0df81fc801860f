"""转人工 as a conversation: the resident's 转人工 hands them to their grid worker, who sees who they are
(name, room, phone, as the office may) and what they wrote lately, and answers through the bot
("回复 内容", "回复 3 内容" with several open); while the hand-off is open the resident's messages go to
the worker instead of being classified. Either side ends it (结束), and it ends by itself after
SILENCE without a word from either side (checked whenever one of them writes). "我的网格员是谁" is
answered here too, without messaging the worker."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot import conversation
from bot.router import Command, Event, Pattern, Role, Router, SkipHandler
from handlers import lifecycle
from handlers.context import Ctx
from handlers.lifecycle import STAFF_ROLES
from language.texts import t
from language.words import pattern, words
from storage import handoff as store
from storage import org, people
from storage.petitions import iso

SILENCE = timedelta(hours=2)
RECENT = timedelta(hours=24)
RECENT_LINES = 6

residents = Router("handoff-residents", Role("resident"))
router = Router("handoff", Role("resident"))
workers = Router("handoff-workers", Role(*STAFF_ROLES))


# --- who is speaking ---------------------------------------------------------------------------------

def _place(ctx: Ctx, me: dict) -> str:
    b = org.building(ctx.db, me.get("building"))
    building = b["name"] if b else t("common.unknown_building")
    return f"{building}{me.get('room') or t('handoff.no_room')}"


def _who(ctx: Ctx, me: dict) -> str:
    return t("handoff.who", name=me.get("name") or t("handoff.no_name"), place=_place(ctx, me),
             phone=me.get("phone") or t("handoff.unknown_phone"))


def _recent(ctx: Ctx, me: dict, text: str) -> str:
    """The resident's last lines of the chat log and the message that asked for a person."""
    found = store.recent_lines(ctx.db, me["openid"], ctx.now - RECENT, RECENT_LINES)
    lines = [t("handoff.line", at=row["at"][11:16], text=row["text"]) for row in found]
    lines.append(t("handoff.line", at=iso(ctx.now)[11:16], text=text))
    return "\n".join(lines)


def _stale(ctx: Ctx, h: dict) -> bool:
    return h["last_at"] < iso(ctx.now - SILENCE)


def _worker_name(ctx: Ctx, userid: str) -> str:
    member = org.staff_member(ctx.db, userid)
    return member["name"] if member else userid


# --- residents ---------------------------------------------------------------------------------------

@residents.message(Pattern("my_worker"))
def my_worker(ctx: Ctx, me: dict) -> None:
    """我的网格员是谁: the names and phones of the building's workers (its grid head when it has none);
    no one is messaged."""
    b = org.building(ctx.db, me.get("building"))
    if b is None:
        ctx.say(t("handoff.no_building"))
        return
    grid = org.grid(ctx.db, b["grid"])
    userids = org.grid_workers(ctx.db, b["grid"]) or ([grid["head"]] if grid and grid["head"] else [])
    found = [m for userid in userids if (m := org.staff_member(ctx.db, userid))]
    if not found:
        ctx.say(t("handoff.my_worker_none", building=b["name"]))
        return
    names = "、".join(t("handoff.worker_entry", name=m["name"], phone=m["phone"]) if m["phone"]
                     else t("handoff.worker_entry_no_phone", name=m["name"]) for m in found)
    ctx.say(t("handoff.my_worker", building=b["name"], workers=names))


def _open_handoff(e: Event) -> bool | dict[str, Any]:
    if e.me is None or not e.text:
        return False
    h = store.open_for_resident(e.ctx.db, e.me["openid"])
    return {"handoff": h} if h else False


def _ends(text: str) -> bool:
    short = len(text) <= 8
    return short and (text.strip(" 。！!") in words("handoff", "end") or any(w in text for w in words("cancel")))


@residents.message(_open_handoff)
def while_open(ctx: Ctx, me: dict, text: str, handoff: dict, event: Event) -> None:
    """A resident in a hand-off: their words go to the worker, unless they end it, it went silent, or
    it is an emergency (answered as always, the hand-off staying open)."""
    if _stale(ctx, handoff):
        if store.close(ctx.db, handoff["id"], "timeout", ctx.now):
            ctx.to_staff(handoff["worker"], t("handoff.expired_worker", id=handoff["id"]), ref=_ref(handoff))
        ctx.say(t("handoff.expired_resident"))
        raise SkipHandler
    if _ends(text):
        store.close(ctx.db, handoff["id"], "resident", ctx.now)
        ctx.to_staff(handoff["worker"], t("handoff.resident_ended_worker", id=handoff["id"]), ref=_ref(handoff))
        ctx.say(t("handoff.resident_ended"))
        return
    if event.match.emergency is not None:
        raise SkipHandler
    store.touch(ctx.db, handoff["id"], ctx.now)
    name = me.get("name") or t("handoff.no_name")
    ctx.to_staff(handoff["worker"], t("handoff.forwarded", id=handoff["id"], name=name, place=_place(ctx, me),
                                      text=text), ref=_ref(handoff))
    ctx.say(t("handoff.forwarded_ack", name=_worker_name(ctx, handoff["worker"])))


def _ref(h: dict) -> str:
    return f"handoff:{h['id']}"


@router.message(lambda e: bool(e.text) and e.match.intent == "human")
def human(ctx: Ctx, me: dict, text: str) -> None:
    """转人工: a hand-off to the building's grid worker (the grid head when it has none)."""
    b = org.building(ctx.db, me["building"])
    if b is None:
        ctx.say(t("handoff.no_building"))
        return
    worker = lifecycle.pick_worker(ctx, b["grid"])
    member = org.staff_member(ctx.db, worker) if worker else None
    if member is None:
        for userid in org.community_staff(ctx.db):
            ctx.to_staff(userid, t("handoff.no_worker_staff", who=_who(ctx, me), lines=_recent(ctx, me, text)))
        ctx.say(t("handoff.no_worker"))
        return
    conversation.leave(ctx.db, me["openid"])
    hid = store.open_handoff(ctx.db, me["openid"], member["userid"], b["id"], ctx.now)
    ctx.to_staff(member["userid"], t("handoff.worker_opened", id=hid, who=_who(ctx, me),
                                     lines=_recent(ctx, me, text)), ref=f"handoff:{hid}")
    ctx.say(t("handoff.resident_opened", name=member["name"], phone=member["phone"] or t("handoff.no_phone")))


# --- workers -----------------------------------------------------------------------------------------

def _live(ctx: Ctx, member: dict) -> list[dict]:
    """The worker's open hand-offs; those gone silent are closed now, the resident told."""
    live = []
    for h in store.open_for_worker(ctx.db, member["userid"]):
        if _stale(ctx, h):
            store.close(ctx.db, h["id"], "timeout", ctx.now)
            ctx.to_resident(h["resident"], t("handoff.expired_resident"), ref=_ref(h))
        else:
            live.append(h)
    return live


def _lines(ctx: Ctx, live: list[dict]) -> str:
    return "\n".join(t("handoff.open_line", id=h["id"], who=_resident_label(ctx, h)) for h in live)


def _resident_label(ctx: Ctx, h: dict) -> str:
    me = people.resident(ctx.db, h["resident"]) or {"openid": h["resident"]}
    return f"{me.get('name') or t('handoff.no_name')}（{_place(ctx, me)}）"


def _pick(ctx: Ctx, member: dict, rest: str) -> tuple[dict | None, str]:
    """The worker's open hand-off their command is about, and the words after its number; None after
    saying why (none open, or which one is unclear)."""
    live = _live(ctx, member)
    if not live:
        ctx.say(t("handoff.none_open"))
        return None, ""
    return _named(ctx, member, rest, live)


def _named(ctx: Ctx, member: dict, rest: str, live: list[dict]) -> tuple[dict | None, str]:
    """(the hand-off a worker's words are for, the words); None after saying why."""
    m = pattern("handoff_number", re.DOTALL).match(rest)
    if m:
        hid = int(m.group(1))
        h = next((h for h in live if h["id"] == hid), None)
        if h is not None:
            return h, m.group(2).strip()
        known = store.get(ctx.db, hid)
        if known is not None and len(live) != 1:
            yours = known["worker"] == member["userid"]
            ctx.say(t("handoff.already_closed", id=hid) if yours else t("handoff.not_yours", id=hid))
            return None, ""
    if len(live) == 1:
        return live[0], rest.strip()
    ctx.say(t("handoff.reply_which", example=live[0]["id"], lines=_lines(ctx, live)))
    return None, ""


@workers.message(Command("reply"))
def reply(ctx: Ctx, member: dict, rest: str) -> None:
    """回复 [N] 内容: the words go to the resident as a message from the worker."""
    h, words_ = _pick(ctx, member, rest)
    if h is None:
        return
    if not words_:
        ctx.say(t("handoff.reply_need_text"))
        return
    store.touch(ctx.db, h["id"], ctx.now)
    ctx.to_resident(h["resident"], t("handoff.to_resident", name=member["name"], text=words_), ref=_ref(h))
    ctx.say(t("handoff.reply_sent", id=h["id"]))


@workers.message(Command("end_handoff"))
def end(ctx: Ctx, member: dict, rest: str) -> None:
    """结束 [N]: the worker ends the conversation; the resident is told."""
    h, _ = _pick(ctx, member, rest)
    if h is None:
        return
    store.close(ctx.db, h["id"], "worker", ctx.now)
    ctx.to_resident(h["resident"], t("handoff.worker_ended_resident", name=member["name"]), ref=_ref(h))
    ctx.say(t("handoff.worker_ended", id=h["id"]))


@workers.message(lambda e: e.msg.kind == "text" and e.cmd is None)
def hint(ctx: Ctx, member: dict) -> None:
    """Words that are no command while a resident waits: how to answer them (nothing is sent)."""
    live = _live(ctx, member)
    if not live:
        raise SkipHandler
    ctx.say(t("handoff.worker_hint", lines=_lines(ctx, live)))
