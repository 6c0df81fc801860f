"""A resident acts on their own petitions: 查询 (where is it), 催办 (hurry it), 撤回 (withdraw it) and
a rating once it is resolved. Which petition: the number in the message, the only candidate, the one
the message names by building or kind ("噪音那个"), or a question listing them."""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz import fuzz

from bot import conversation
from bot.conversation import State, StatesGroup
from bot.router import InState, Intent, Role, Router, SkipHandler
from handlers import deadlines, lifecycle
from handlers.context import Ctx
from language import address
from language.intents import normalise
from language.numbers import petition_number
from language.texts import t
from language.words import pattern, words
from storage import org, petitions, states


class MyPetitions(StatesGroup):
    which = State()       # 查询 / 催办 / 撤回 / a rating waits for the petition it is about


steps = Router("my-petitions-steps", Role("resident"))
router = Router("my-petitions", Role("resident"))
Action = Callable[[Ctx, dict, dict, str], None]


@steps.message(InState(MyPetitions.which))
def answer_which(ctx: Ctx, me: dict, text: str, data: dict) -> None:
    number = petition_number(text)
    conversation.leave(ctx.db, me["openid"])
    if number is None or number not in data.get("ids", []):
        raise SkipHandler
    p = petitions.get(ctx.db, number)
    if p is not None:
        _ACTIONS[data["action"]](ctx, me, p, data.get("text", ""))


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
def rate(ctx: Ctx, me: dict, text: str) -> None:
    p = _target(ctx, me, text, "rate", petitions.resolved_for_resident(ctx.db, me["openid"]))
    if p:
        _do_rate(ctx, me, p, text)


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
    ctx.say(t("resident.status", summary=lifecycle.summary(ctx, p), at=last["at"][5:16].replace("T", " "),
              note=last["note"] or ""))


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


_ACTIONS: dict[str, Action] = {"urge": _do_urge, "cancel": _do_cancel, "rate": _do_rate, "query": _do_query}
