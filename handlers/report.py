"""A resident reports a problem: the petition is filed for the building the message or the resident's
address names (or the question which building), forwarded to the grid worker, and numbered; a
report that repeats an open petition joins it (handlers/duplicates.py). An emergency gets the numbers
to call first; an unclear message gets a question with the likely meanings to pick from."""

from __future__ import annotations

from bot import conversation
from bot.conversation import State, StatesGroup
from bot.router import Event, InState, Intent, Role, Router, SkipHandler
from handlers import duplicates, lifecycle, volunteers
from handlers.binding import bind
from handlers.context import Ctx
from language import address
from language.intents import Match
from language.numbers import petition_number
from language.rules import INTENTS
from language.texts import t
from storage import org, petitions

CLARIFY_BELOW = 0.3


class Report(StatesGroup):
    building = State()    # a report waits for the building it is about
    choose = State()      # an unclear message waits for the resident to pick what they meant


steps = Router("report-steps", Role("resident"))
router = Router("report", Role("resident"))


@steps.message(InState(Report.building))
def answer_building(ctx: Ctx, me: dict, text: str, data: dict) -> None:
    b = address.find_building(text, org.buildings(ctx.db))
    if b is None:
        if ctx.matcher.classify(text).intent not in ("bind", "report"):
            conversation.leave(ctx.db, me["openid"])
            raise SkipHandler   # something else: routed afresh
        ctx.say(t("resident.ask_building_again"))
        return
    conversation.leave(ctx.db, me["openid"])
    bind(ctx, me, text, b, quiet=True)
    file(ctx, me, data["text"], data["category"], b, bool(data.get("urgent")))


@steps.message(InState(Report.choose))
def answer_choice(event: Event, ctx: Ctx, me: dict, text: str, data: dict) -> None:
    picked = petition_number(text)
    options = data.get("options", [])
    conversation.leave(ctx.db, me["openid"])
    if picked is None or not 1 <= picked <= len(options):
        raise SkipHandler
    intent, category = options[picked - 1]
    event.again(data["text"], Match(intent, category, 1.0, (), None))


@router.message(lambda e: bool(e.text) and e.match.emergency is not None)
def emergency(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    numbers = ctx.settings.emergency
    ctx.say(t(f"emergency.{match.emergency}", fire=numbers.fire, ambulance=numbers.ambulance,
              police=numbers.police, gas=numbers.gas, lift=numbers.lift))
    _file_or_ask(ctx, me, text, match.category or "safety", urgent=True)


def _unclear(e: Event) -> bool:
    m = e.match
    return m.confidence < CLARIFY_BELOW and bool(m.alternatives) and m.intent != "help"


@router.message(_unclear)
def clarify(event: Event, ctx: Ctx, me: dict, text: str, match: Match) -> None:
    """Ask which of the likely meanings was meant, among those possible for this resident (no "withdraw
    my petition" to someone who has none); when only one is left, act on it."""
    possible = _possible(ctx, me)
    options: list[tuple[str, str | None]] = []
    for intent, category in [(match.intent, match.category)] + [(i, c) for i, c, _ in match.alternatives]:
        if (intent, category) not in options and len(options) < 3 and intent in possible:
            options.append((intent, category))
    if len(options) <= 1:
        intent, category = options[0] if options else (match.intent, match.category)
        event.again(text, Match(intent, category, 1.0, (), None))
        return
    lines = [f"{n}. {_option_label(i, c)}" for n, (i, c) in enumerate(options, start=1)]
    conversation.enter(ctx.db, me["openid"], Report.choose, ctx.now, text=text,
                       options=[list(o) for o in options])
    ctx.say(t("resident.clarify", options="\n".join(lines)))


# what a resident can only mean about petitions of their own: open ones, or ones waiting for a rating
_NEEDS_OPEN, _NEEDS_RESOLVED, _NEEDS_ANY = ("urge", "cancel"), ("rate",), ("query",)


def _possible(ctx: Ctx, me: dict) -> set[str]:
    """The intents that make sense for this resident now."""
    possible = set(INTENTS) - set(_NEEDS_OPEN) - set(_NEEDS_RESOLVED) - set(_NEEDS_ANY)
    if petitions.open_for_resident(ctx.db, me["openid"]):
        possible.update(_NEEDS_OPEN + _NEEDS_ANY)
    if petitions.resolved_for_resident(ctx.db, me["openid"]):
        possible.update(_NEEDS_RESOLVED + _NEEDS_ANY)
    if petitions.recent_for_resident(ctx.db, me["openid"]):
        possible.update(_NEEDS_ANY)
    return possible


def _option_label(intent: str, category: str | None) -> str:
    if intent == "report" and category:
        return t("intent.report_about", category=lifecycle.category_name(category))
    return t(f"intent.{intent}")


@router.message(Intent("report"))
def report(ctx: Ctx, me: dict, text: str, match: Match) -> None:
    _file_or_ask(ctx, me, text, match.category or "other", urgent=False)


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
    file(ctx, me, text, category, building, urgent)


def file(ctx: Ctx, me: dict, text: str, category: str, building: dict, urgent: bool) -> dict:
    original = None if urgent else duplicates.find_duplicate(ctx, building["id"], category, text)
    if original is not None:
        duplicates.follow(ctx, original, me, text)
        return original
    p = petitions.create(ctx.db, resident=me["openid"], building=building["id"], grid=building["grid"],
                         category=category, text=text, now=ctx.now, urgent=urgent,
                         private=category in lifecycle.PRIVATE_CATEGORIES)
    p = lifecycle.dispatch(ctx, p)
    if urgent and p["state"] == "assigned":   # the worker, the grid head and the staff on duty were told
        ctx.say(t("safety.filed_urgent", id=p["id"], building=building["name"],
                  minutes=lifecycle.sign_minutes(ctx)))
    elif urgent:
        ctx.say(t("resident.filed_urgent", id=p["id"], building=building["name"]))
    else:
        ctx.say(t("resident.filed", id=p["id"], building=building["name"],
                  category=lifecycle.category_name(category)))
    return p
