"""Residents on the Official Account (or the simulator): bind, report, query, urge, cancel, rate, ..."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from bot import conversation
from bot.conversation import Current, State, StatesGroup
from bot.messages import Message
from handlers import consult, deadlines, deliberation, lifecycle, volunteers
from handlers.context import Ctx
from language import address
from language.intents import Match, normalise
from language.texts import t
from language.words import pattern, words
from storage import org, people, petitions, states

# a petition number ends at a word boundary: "18e3", "20abc" or "1.5" name no petition
_NUMBER = re.compile(r"(?<![\d０-９.A-Za-z_])#?([0-9０-９]{1,7})(?![0-9０-９.A-Za-z_\-/])")
CLARIFY_BELOW = 0.3


def handle(ctx: Ctx, msg: Message) -> None:
    me = people.ensure_resident(ctx.db, msg.sender, msg.channel, ctx.now)
    if msg.kind == "event":
        _event(ctx, msg, me)
        return
    if msg.kind == "location":
        volunteers.location(ctx, me, msg)
        return
    if msg.kind != "text":
        ctx.say(t("resident.unsupported_media"))
        return
    text = msg.text.strip()
    if not text:
        ctx.say(t("resident.help"))
        return
    if deliberation.resident_command(ctx, me, text) or volunteers.resident_command(ctx, me, text):
        # explicit commands win over a pending question
        conversation.leave(ctx.db, me["openid"])
        return
    conv = conversation.current(me, ctx.now)
    if conv is None:
        if people.conversation(me):   # expired or unknown: forgotten
            conversation.leave(ctx.db, me["openid"])
    elif _continue(ctx, me, conv, text):   # every way out of it leaves the state
        return
    _intent(ctx, me, text, ctx.matcher.classify(text))


def _event(ctx: Ctx, msg: Message, me: dict) -> None:
    if msg.event == "subscribe":
        people.update_resident(ctx.db, me["openid"], subscribed=1)
        ctx.say(t("resident.welcome"))
    elif msg.event == "unsubscribe":
        people.update_resident(ctx.db, me["openid"], subscribed=0, conv=None)


class Report(StatesGroup):
    building = State()    # a report waits for the building it is about
    choose = State()      # an unclear message waits for the resident to pick what they meant


class MyPetitions(StatesGroup):
    which = State()       # 查询 / 催办 / 撤回 / a rating waits for the petition it is about


def _continue(ctx: Ctx, me: dict, conv: Current, text: str) -> bool:
    """Carry on a multi-turn conversation; False when the message starts something new."""
    if any(w in text for w in words("cancel")) and len(text) <= 8:
        conversation.leave(ctx.db, me["openid"])
        ctx.say(t("resident.conversation_cancelled"))
        return True
    step = _STEPS.get(conv.state.name)
    if step is None:
        conversation.leave(ctx.db, me["openid"])
        return False
    return step(ctx, me, conv.data, text)


def _answer_building(ctx: Ctx, me: dict, data: dict, text: str) -> bool:
    b = address.find_building(text, org.buildings(ctx.db))
    if b is None:
        if ctx.matcher.classify(text).intent not in ("bind", "report"):
            conversation.leave(ctx.db, me["openid"])
            return False
        ctx.say(t("resident.ask_building_again"))
        return True
    conversation.leave(ctx.db, me["openid"])
    _bind(ctx, me, text, b, quiet=True)
    _file(ctx, me, data["text"], data["category"], b, bool(data.get("urgent")))
    return True


def _answer_reopen_reason(ctx: Ctx, me: dict, data: dict, text: str) -> bool:
    conversation.leave(ctx.db, me["openid"])
    p = petitions.get(ctx.db, data["petition"])
    if p:
        lifecycle.reopen_reason(ctx, p, text)
    return True


def _answer_choice(ctx: Ctx, me: dict, data: dict, text: str) -> bool:
    m = _NUMBER.search(text)
    options = data.get("options", [])
    conversation.leave(ctx.db, me["openid"])
    if m and 1 <= int(m.group(1)) <= len(options):
        option = options[int(m.group(1)) - 1]
        _intent(ctx, me, data["text"], Match(option[0], option[1], 1.0, (), None))
        return True
    return False


def _answer_which(ctx: Ctx, me: dict, data: dict, text: str) -> bool:
    m = _NUMBER.search(text)
    conversation.leave(ctx.db, me["openid"])
    if m and int(m.group(1)) in data.get("ids", []):
        _act_on(ctx, me, data["action"], int(m.group(1)), data.get("text", ""))
        return True
    return False


_STEPS = {Report.building.name: _answer_building, Report.choose.name: _answer_choice,
          MyPetitions.which.name: _answer_which, lifecycle.Rating.reopen_reason.name: _answer_reopen_reason}


def _intent(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    if match.emergency:
        _emergency(ctx, me, text, match)
        return
    if match.confidence < CLARIFY_BELOW and match.alternatives and match.intent != "help":
        _clarify(ctx, me, text, match)
        return
    handler = {
        "report": _report, "query": _query, "urge": _urge, "cancel": _cancel, "rate": _rate,
        "bind": _bind_intent, "wish": _wish, "suggest": _suggest, "consult": _consult,
        "help": _help, "human": _human,
    }[match.intent]
    handler(ctx, me, text, match)


def _clarify(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    options = [(match.intent, match.category)]
    for intent, category, _conf in match.alternatives:
        if (intent, category) not in options and len(options) < 3:
            options.append((intent, category))
    lines = [f"{n}. {_option_label(i, c)}" for n, (i, c) in enumerate(options, start=1)]
    conversation.enter(ctx.db, me["openid"], Report.choose, ctx.now, text=text,
                       options=[list(o) for o in options])
    ctx.say(t("resident.clarify", options="\n".join(lines)))


def _option_label(intent: str, category: str | None) -> str:
    if intent == "report" and category:
        return t("intent.report_about", category=lifecycle.category_name(category))
    return t(f"intent.{intent}")


# --- report -----------------------------------------------------------------------------------

def _report(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    _file_or_ask(ctx, me, text, match.category or "other", urgent=False)


def _emergency(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    numbers = ctx.settings.emergency
    ctx.say(t(f"emergency.{match.emergency}", fire=numbers.fire, ambulance=numbers.ambulance,
              police=numbers.police, gas=numbers.gas, lift=numbers.lift))
    _file_or_ask(ctx, me, text, match.category or "safety", urgent=True)


def _file_or_ask(ctx: Ctx, me: dict, text: str, category: str, urgent: bool) -> None:
    """File where the message or the resident's address says; otherwise ask which building."""
    building = address.find_building(text, org.buildings(ctx.db))
    located, nearby = volunteers.observer_building(ctx, me)
    if building is None and located:
        if nearby is None:
            volunteers.file_for_triage(ctx, me, text, category, urgent)
            return
        building = nearby
    building = building or org.building(ctx.db, me["building"])
    if building is None:
        conversation.enter(ctx.db, me["openid"], Report.building, ctx.now, text=text, category=category,
                           urgent=urgent)
        ctx.say(t("resident.ask_building_urgent" if urgent else "resident.ask_building"))
        return
    _file(ctx, me, text, category, building, urgent)


def _file(ctx: Ctx, me: dict, text: str, category: str, building: dict, urgent: bool) -> dict:
    original = None if urgent else deliberation.find_duplicate(ctx, building["id"], category, text)
    if original is not None:
        deliberation.follow(ctx, original, me, text)
        return original
    p = petitions.create(ctx.db, resident=me["openid"], building=building["id"], grid=building["grid"],
                         category=category, text=text, now=ctx.now, urgent=urgent,
                         private=category in lifecycle.PRIVATE_CATEGORIES)
    p = lifecycle.dispatch(ctx, p)
    if urgent:
        ctx.say(t("resident.filed_urgent", id=p["id"], building=building["name"]))
    else:
        ctx.say(t("resident.filed", id=p["id"], building=building["name"],
                  category=lifecycle.category_name(category)))
    return p


# --- bind ---------------------------------------------------------------------------------------

def _bind_intent(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    b = address.find_building(text, org.buildings(ctx.db))
    if b is None:
        ctx.say(t("resident.bind_unknown"))
        return
    _bind(ctx, me, text, b)


def _bind(ctx: Ctx, me: dict, text: str, b: dict, quiet: bool = False) -> None:
    parsed = address.parse(text)
    room = address.room_label(parsed) if parsed.building_no is not None or parsed.unit else None
    changed = me["building"] is not None and me["building"] != b["id"]
    people.update_resident(ctx.db, me["openid"], building=b["id"], unit=parsed.unit,
                           room=room or (me["room"] if me["building"] == b["id"] else None))
    me.update(building=b["id"])
    key = "resident.bound_changed" if changed else "resident.bound"
    if not quiet:
        ctx.say(t(key, building=b["name"], room=room or ""))


# --- acting on one's own petitions ------------------------------------------------------------

def _target(ctx: Ctx, me: dict, text: str, action: str, pool: list[dict]) -> dict | None:
    """The petition a message is about: by number, the only candidate, or ask which one."""
    m = _NUMBER.search(text)
    if m:
        p = petitions.get(ctx.db, int(m.group(1)))
        if p and p["resident"] == me["openid"]:
            return p
        ctx.say(t("resident.not_yours", id=m.group(1)))
        return None
    if not pool:
        ctx.say(t(f"resident.nothing_to_{action}"))
        return None
    if len(pool) == 1:
        return pool[0]
    named = _named_in(ctx, text, pool)
    if named is not None:
        return named
    conversation.enter(ctx.db, me["openid"], MyPetitions.which, ctx.now, action=action, text=text,
                       ids=[p["id"] for p in pool])
    lines = "\n".join(lifecycle.summary(ctx, p) for p in pool[:9])
    ctx.say(t("resident.which", petitions=lines))
    return None


def _named_in(ctx: Ctx, text: str, pool: list[dict]) -> dict | None:
    """The one petition of `pool` the message points at by its building or its kind ("噪音那个事")."""
    words = normalise(text)
    building = address.find_building(text, org.buildings(ctx.db))

    def mentioned(p: dict) -> bool:
        if building is not None and p["building"] == building["id"]:
            return True
        name = lifecycle.category_name(p["category"])
        return any(name[i:i + 2] in words for i in range(len(name) - 1)) or \
            fuzz.partial_ratio(normalise(p["text"])[:30], words) >= 75
    hits = [p for p in pool if mentioned(p)]
    return hits[0] if len(hits) == 1 else None


def _act_on(ctx: Ctx, me: dict, action: str, pid: int, text: str) -> None:
    p = petitions.get(ctx.db, pid)
    if p is None:
        return
    {"urge": _do_urge, "cancel": _do_cancel, "rate": _do_rate, "query": _do_query}[action](ctx, me, p, text)


def _query(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    if _NUMBER.search(text):
        p = _target(ctx, me, text, "query", [])
        if p:
            _do_query(ctx, me, p, text)
        return
    mine = petitions.recent_for_resident(ctx.db, me["openid"])
    if not mine:
        ctx.say(t("resident.nothing_to_query"))
        return
    ctx.say(t("resident.my_petitions", petitions="\n".join(lifecycle.summary(ctx, p) for p in mine)))


def _do_query(ctx: Ctx, me: dict, p: dict, text: str) -> None:
    last = petitions.history(ctx.db, p["id"])[-1]
    ctx.say(t("resident.status", summary=lifecycle.summary(ctx, p), at=last["at"][5:16].replace("T", " "),
              note=last["note"] or ""))


def _urge(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    p = _target(ctx, me, text, "urge", petitions.open_for_resident(ctx.db, me["openid"]))
    if p:
        _do_urge(ctx, me, p, text)


def _do_urge(ctx: Ctx, me: dict, p: dict, text: str) -> None:
    if not states.is_open(p["state"]):
        ctx.say(t("resident.not_open", id=p["id"], state=states.label(p["state"])))
        return
    petitions.note(ctx.db, p["id"], actor=me["openid"], now=ctx.now, text=t("event.urge"))
    petitions.count_urge(ctx.db, p["id"])
    deadlines.on_urge(ctx, p)
    if p["worker"]:
        ctx.to_staff(p["worker"], t("worker.urged", id=p["id"], count=p["urge_count"] + 1,
                                    summary=lifecycle.summary(ctx, p)), ref=f"petition:{p['id']}")
    ctx.say(t("resident.urged", id=p["id"]))


def _cancel(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    p = _target(ctx, me, text, "cancel", petitions.open_for_resident(ctx.db, me["openid"]))
    if p:
        _do_cancel(ctx, me, p, text)


def _do_cancel(ctx: Ctx, me: dict, p: dict, text: str) -> None:
    if not states.can(p["state"], "cancelled"):
        ctx.say(t("resident.not_open", id=p["id"], state=states.label(p["state"])))
        return
    petitions.transition(ctx.db, p["id"], "cancelled", actor=me["openid"], now=ctx.now, note=text)
    if p["worker"]:
        ctx.to_staff(p["worker"], t("worker.cancelled", id=p["id"]), ref=f"petition:{p['id']}")
    ctx.say(t("resident.cancelled", id=p["id"]))


def rating_of(text: str) -> str | None:
    for word, code in words("ratings"):
        if word in text:
            return code
    m = pattern("stars").search(text)
    if m:
        return {"5": "satisfied", "4": "satisfied", "3": "basic"}.get(m.group(1), "unsatisfied")
    return None


def _rate(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    p = _target(ctx, me, text, "rate", petitions.resolved_for_resident(ctx.db, me["openid"]))
    if p:
        _do_rate(ctx, me, p, text)


def _do_rate(ctx: Ctx, me: dict, p: dict, text: str) -> None:
    if p["state"] != "resolved":
        ctx.say(t("resident.not_resolved", id=p["id"], state=states.label(p["state"])))
        return
    rating = rating_of(text)
    if rating is None:
        ctx.say(t("resident.rate_how"))
        return
    reason = pattern("rating_words").sub("", text).strip(" ，,。!！")
    lifecycle.rate(ctx, p, rating, reason)


# --- the rest ------------------------------------------------------------------------------------

def _wish(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    wid = _record_item(ctx, me, "wish", text)
    ctx.say(t("resident.wish_recorded", id=wid))


def _suggest(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    sid = _record_item(ctx, me, "suggestion", text)
    ctx.say(t("resident.suggestion_recorded", id=sid))


def _record_item(ctx: Ctx, me: dict, kind: str, text: str) -> int:
    item = petitions.add_item(ctx.db, kind, me["openid"], me["building"], text, ctx.now)
    for userid in org.community_staff(ctx.db):
        ctx.to_staff(userid, t(f"staff.new_{kind}", id=item, text=text), ref=f"{kind}:{item}")
    return item


def _consult(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    ctx.say(consult.answer(text))


def _help(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    ctx.say(t("resident.help"))


def _human(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    b = org.building(ctx.db, me["building"])
    if b is None:
        ctx.say(t("resident.human_no_building"))
        return
    worker = lifecycle.pick_worker(ctx, b["grid"])
    member = org.staff_member(ctx.db, worker) if worker else None
    if member is None:
        ctx.say(t("resident.human_no_worker"))
        return
    room = me["room"] or ""
    ctx.to_staff(member["userid"], t("worker.human", building=b["name"], room=room, text=text))
    ctx.say(t("resident.human", name=member["name"], phone=member["phone"] or t("common.no_phone")))
