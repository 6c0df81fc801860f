"""A resident acts on their own petitions: 查询 (where is it), 催办 (hurry it), 撤回 (withdraw it) and
a rating once it is resolved. Which petition: the number in the message, the only candidate, the one
the message names by building or kind ("噪音那个"), or a question listing them.

A message carrying a rating word (catalogue/words.toml [ratings]) from a resident with petitions
waiting for a rating is a rating, whatever the classifier says (`ratings`, routed before reports): the
words after 不满意 are its reason. With nothing waiting it is no rating: thanks get thanks, and
"不满意，…" about something new is filed as a report."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from rapidfuzz import fuzz

from bot import conversation
from bot.conversation import State, StatesGroup
from bot.router import Event, InState, Intent, Role, Router, SkipHandler
from handlers import deadlines, lifecycle, plain
from handlers.context import Ctx
from language import address
from language.intents import Match, normalise
from language.numbers import petition_number
from language.texts import t
from language.words import pattern, words
from storage import org, petitions, states


class MyPetitions(StatesGroup):
    which = State()       # 查询 / 催办 / 撤回 / a rating waits for the petition it is about


steps = Router("my-petitions-steps", Role("resident"))
ratings = Router("ratings", Role("resident"))
router = Router("my-petitions", Role("resident"))
Action = Callable[[Ctx, dict, dict, str], None]
_NUMBER = re.compile(words("ratings", "number"))
_PUNCT = " \t\n，,。.!！?？~～、:：;；…"
_LEAD = 3   # what stands before a rating word and is dropped from the reason ("我很不满意，…")


class Rated(NamedTuple):
    rating: str            # satisfied, basic, unsatisfied
    number: int | None     # the petition number written beside the rating word
    reason: str            # what else the resident wrote: the reason of a 不满意


@steps.message(InState(MyPetitions.which))
def answer_which(ctx: Ctx, me: dict, text: str, data: dict) -> None:
    number = petition_number(text)
    ids = data.get("ids", [])
    conversation.leave(ctx.db, me["openid"])
    if number is not None and number in ids:
        p = petitions.get(ctx.db, number)
    elif number is None:   # "噪音那个": named by its kind or building
        pool = [petitions.get(ctx.db, i) for i in ids]
        p = _named_in(ctx, text, [q for q in pool if q is not None])
    else:
        p = None
    if p is None:
        raise SkipHandler
    _ACTIONS[data["action"]](ctx, me, p, data.get("text", ""))


def _pending_rating(e: Event) -> bool | dict:
    """A rating word from a resident with petitions waiting for a rating (not an emergency): hands
    `rated` and `pool`, the resolved petitions."""
    if not e.text or e.me is None:
        return False
    rated = parse_rating(e.text)
    if rated is None:
        return False
    pool = petitions.resolved_for_resident(e.ctx.db, e.me["openid"])
    if not pool or e.match.emergency is not None:
        return False
    return {"rated": rated, "pool": pool}


@ratings.message(_pending_rating)
def rate_pending(ctx: Ctx, me: dict, text: str, rated: Rated, pool: list[dict]) -> None:
    _rate_among(ctx, me, text, pool, rated.number)


@router.message(Intent("query"))
def query(ctx: Ctx, me: dict, text: str) -> None:
    if petition_number(text) is not None:
        p = _target(ctx, me, text, "query", [])
        if p:
            _do_query(ctx, me, p, text)
        return
    mine = petitions.recent_for_resident(ctx.db, me["openid"])
    if not mine:
        ctx.say(t("resident.nothing_to_query"))
        return
    ctx.say(t("resident.my_petitions", petitions="\n".join(lifecycle.summary(ctx, p) for p in mine)))


@router.message(Intent("urge"))
def urge(ctx: Ctx, me: dict, text: str) -> None:
    p = _target(ctx, me, text, "urge", petitions.open_for_resident(ctx.db, me["openid"]))
    if p:
        _do_urge(ctx, me, p, text)


@router.message(Intent("cancel"))
def cancel(ctx: Ctx, me: dict, text: str) -> None:
    p = _target(ctx, me, text, "cancel", petitions.open_for_resident(ctx.db, me["openid"]))
    if p:
        _do_cancel(ctx, me, p, text)


@router.message(Intent("rate"))
def rate(event: Event, ctx: Ctx, me: dict, text: str) -> None:
    """What the classifier calls a rating without a rating word beside pending petitions ("4分",
    "谢谢"), or any rating while nothing waits for one."""
    pool = petitions.resolved_for_resident(ctx.db, me["openid"])
    rated = parse_rating(text) or _stars(text)
    number = rated.number if rated is not None else _number(text)
    if number is not None or (pool and rated is not None):
        _rate_among(ctx, me, text, pool, number)
    elif pool:
        _ask_rating(ctx, text, pool)
    else:
        _nothing_pending(event, ctx, text, rated)


def _rate_among(ctx: Ctx, me: dict, text: str, pool: list[dict], number: int | None) -> None:
    """Rate the petition the number names, the only one waiting, the one the message names; or ask."""
    if number is not None:
        p = petitions.get(ctx.db, number)
        if p is None or p["resident"] != me["openid"]:
            ctx.say(t("resident.not_yours", id=number))
            return
    else:
        p = pool[0] if len(pool) == 1 else _named_in(ctx, text, pool)
    if p is not None:
        _do_rate(ctx, me, p, text)
        return
    conversation.enter(ctx.db, me["openid"], MyPetitions.which, ctx.now, action="rate", text=text,
                       ids=[p["id"] for p in pool])
    ctx.say(t("ratings.which", count=len(pool), petitions=_pending_lines(ctx, pool)))


def _pending_lines(ctx: Ctx, pool: list[dict]) -> str:
    """The petitions waiting for a rating, each labelled as what it is: resolved, to be rated."""
    return "\n".join(t("ratings.line", id=p["id"], building=lifecycle.building_name(ctx, p["building"]),
                       category=lifecycle.category_name(p["category"]), text=p["text"][:60])
                     for p in sorted(pool, key=lambda p: p["id"])[:9])


def _ask_rating(ctx: Ctx, text: str, pool: list[dict]) -> None:
    """No rating in the message ("谢谢", "还行"): ask for one, thanking first when thanked."""
    lead = t("ratings.welcome") if _thanks(text) else ""
    if len(pool) == 1:
        ctx.say(t("ratings.please_rate_one", lead=lead, id=pool[0]["id"]))
    else:
        ctx.say(t("ratings.please_rate_many", lead=lead, count=len(pool), petitions=_pending_lines(ctx, pool),
                  example=min(p["id"] for p in pool)))


def _nothing_pending(event: Event, ctx: Ctx, text: str, rated: Rated | None) -> None:
    """Nothing waits for a rating: thanks get thanks; "不满意，…" about something is a new report."""
    if rated is not None and rated.rating == "unsatisfied":
        if rated.reason:
            _as_report(event, ctx, text, rated.reason)
        else:
            ctx.say(t("ratings.unhappy_nothing_pending"))
    elif rated is not None:
        ctx.say(t("ratings.praise_nothing_pending"))
    elif _thanks(text):
        ctx.say(t("ratings.thanks"))
    else:
        ctx.say(t("ratings.nothing_pending"))


def _as_report(event: Event, ctx: Ctx, text: str, reason: str) -> None:
    """Route the message again as a report of the category its reason is about."""
    of_reason = ctx.matcher.classify(reason)
    category = of_reason.category if of_reason.intent == "report" else None
    category = category or next((c for i, c, _ in event.match.alternatives if i == "report" and c), "other")
    event.again(text, Match("report", category, 1.0, (), None))


def _thanks(text: str) -> bool:
    return any(w in text for w in words("ratings", "thanks"))


def _target(ctx: Ctx, me: dict, text: str, action: str, pool: list[dict]) -> dict | None:
    """The petition a message is about: by number, the only candidate, or ask which one."""
    number = petition_number(text)
    if number is not None:
        p = petitions.get(ctx.db, number)
        if p and p["resident"] == me["openid"]:
            return p
        ctx.say(t("resident.not_yours", id=number))
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
    folded = normalise(text)
    building = address.find_building(text, org.buildings(ctx.db))

    def mentioned(p: dict) -> bool:
        if building is not None and p["building"] == building["id"]:
            return True
        name = lifecycle.category_name(p["category"])
        return any(name[i:i + 2] in folded for i in range(len(name) - 1)) or \
            fuzz.partial_ratio(normalise(p["text"])[:30], folded) >= 75
    hits = [p for p in pool if mentioned(p)]
    return hits[0] if len(hits) == 1 else None


def _do_query(ctx: Ctx, me: dict, p: dict, text: str) -> None:
    last = petitions.history(ctx.db, p["id"])[-1]
    ctx.say(t("resident.status", summary=lifecycle.summary(ctx, p), at=deadlines.short(last["at"]),
              note=plain.event_note(ctx.db, last)))


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


def _do_cancel(ctx: Ctx, me: dict, p: dict, text: str) -> None:
    if not states.can(p["state"], "cancelled"):
        ctx.say(t("resident.not_open", id=p["id"], state=states.label(p["state"])))
        return
    petitions.transition(ctx.db, p["id"], "cancelled", actor=me["openid"], now=ctx.now, note=text)
    lifecycle.correct_notice(ctx, p, "withdrawn")   # its 办结公示, if one went out, no longer holds
    if p["worker"]:
        ctx.to_staff(p["worker"], t("worker.cancelled", id=p["id"]), ref=f"petition:{p['id']}")
    ctx.say(t("resident.cancelled", id=p["id"]))


def parse_rating(text: str) -> Rated | None:
    """The first rating word of catalogue/words.toml [ratings] in list order (不满意 wins over 满意),
    the petition number beside it, and the reason: what follows the word, or what precedes it when
    nothing follows, or the whole message when the word stands in its middle. None without a rating
    word, or when the word means something else (满意度)."""
    if any(w in text for w in words("ratings", "not_ratings")):
        return None
    found = next(((w, code) for w, code in words("ratings") if w in text), None)
    if found is None:
        return None
    word, code = found
    at = text.find(word)
    before, after = text[:at], text[at + len(word):]
    number = None
    for side in ("after", "before"):
        m = _NUMBER.match(after if side == "after" else before)
        if m:
            number = int(m.group(1))
            after, before = (after[m.end():], before) if side == "after" else (after, before[m.end():])
            break
    lead, tail = before.strip(_PUNCT), after.strip(_PUNCT)
    if len(lead) <= _LEAD and tail:
        reason = tail
    elif not tail:
        reason = lead if len(lead) >= _LEAD else ""   # "非常满意" has no reason, "灯没修不满意" has one
    else:
        reason = f"{before}{word}{after}".strip(_PUNCT)
    return Rated(code, number, reason)


def _number(text: str) -> int | None:
    m = _NUMBER.match(text)
    return int(m.group(1)) if m else None


def _stars(text: str) -> Rated | None:
    """A score without a rating word: "4分", "给5星"."""
    m = pattern("stars").search(text)
    if m is None:
        return None
    code = {"5": "satisfied", "4": "satisfied", "3": "basic"}.get(m.group(1), "unsatisfied")
    return Rated(code, _number(text), pattern("rating_words").sub("", text).strip(_PUNCT))


def _do_rate(ctx: Ctx, me: dict, p: dict, text: str) -> None:
    if p["state"] != "resolved":
        key = "ratings.closed" if p["state"] == "closed" else "resident.not_resolved"
        ctx.say(t(key, id=p["id"], state=states.label(p["state"])))
        return
    rated = parse_rating(text) or _stars(text)
    if rated is None:
        ctx.say(t("resident.rate_how"))
        return
    lifecycle.rate(ctx, p, rated.rating, rated.reason)


_ACTIONS: dict[str, Action] = {"urge": _do_urge, "cancel": _do_cancel, "rate": _do_rate, "query": _do_query}
