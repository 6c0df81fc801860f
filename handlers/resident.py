"""Residents on the Official Account (or the simulator): what is not a capability of its own. Events
(subscribe, unsubscribe, a shared location), media the bot cannot read, a pending question dropped,
and the small intents: a wish, a suggestion, a consultation, help (转人工: handlers/handoff.py)."""

from __future__ import annotations

from bot import conversation
from bot.messages import Message
from bot.router import CancelWords, EventIs, InState, Intent, Kind, Not, Role, Router, SkipHandler
from handlers import consult, volunteers
from handlers.context import Ctx
from language.texts import t
from storage import org, people, petitions

events = Router("resident-events", Role("resident"))
pending = Router("resident-pending", Role("resident"))
router = Router("resident", Role("resident"))


@events.message(EventIs("subscribe"))
def subscribed(ctx: Ctx, me: dict) -> None:
    people.update_resident(ctx.db, me["openid"], subscribed=1)
    ctx.say(t("resident.welcome"))


@events.message(EventIs("unsubscribe"))
def unsubscribed(ctx: Ctx, me: dict) -> None:
    people.update_resident(ctx.db, me["openid"], subscribed=0, conv=None)


@events.message(Kind("event"))
def other_event(ctx: Ctx) -> None:
    """Menu clicks and the like need no answer."""


@events.message(Kind("location"))
def location(ctx: Ctx, me: dict, msg: Message) -> None:
    volunteers.location(ctx, me, msg)


@events.message(Not(Kind("text")))
def media(ctx: Ctx) -> None:
    ctx.say(t("resident.unsupported_media"))


@events.message(lambda e: not e.text)
def empty(ctx: Ctx) -> None:
    ctx.say(t("resident.help"))


@pending.message(InState(), CancelWords())
def cancelled(ctx: Ctx, me: dict) -> None:
    conversation.leave(ctx.db, me["openid"])
    ctx.say(t("resident.conversation_cancelled"))


@pending.message(lambda e: e.conv is None and bool(people.conversation(e.me or {})))
def forget_stale(ctx: Ctx, me: dict) -> None:
    """An expired (or no longer known) question is forgotten; the message is routed afresh."""
    conversation.leave(ctx.db, me["openid"])
    raise SkipHandler


@router.message(Intent("wish"))
def wish(ctx: Ctx, me: dict, text: str) -> None:
    ctx.say(t("resident.wish_recorded", id=_record_item(ctx, me, "wish", text)))


@router.message(Intent("suggest"))
def suggest(ctx: Ctx, me: dict, text: str) -> None:
    ctx.say(t("resident.suggestion_recorded", id=_record_item(ctx, me, "suggestion", text)))


def _record_item(ctx: Ctx, me: dict, kind: str, text: str) -> int:
    item = petitions.add_item(ctx.db, kind, me["openid"], me["building"], text, ctx.now)
    for userid in org.community_staff(ctx.db):
        ctx.to_staff(userid, t(f"staff.new_{kind}", id=item, text=text), ref=f"{kind}:{item}")
    return item


@router.message(Intent("consult"))
def consultation(ctx: Ctx, text: str) -> None:
    ctx.say(consult.answer(text))


@router.message()
def help_(ctx: Ctx) -> None:
    """Help, and whatever no handler took."""
    ctx.say(t("resident.help"))
