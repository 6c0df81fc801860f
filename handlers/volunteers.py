"""微心愿 review and claiming by party members (双报到), and observers (社区观察团) reporting by location."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.messages import Message
from bot.router import Command, Pattern, Role, Router
from handlers.context import Ctx
from language.commands import Command as ParsedCommand
from language.texts import t
from language.words import pattern, words
from storage import org, people, petitions
from storage import volunteers as store

STAFF_COMMANDS = frozenset({"review_wish", "register_party", "register_observer"})


# --- residents and party members -------------------------------------------------------------------

residents = Router("volunteers-residents", Role("resident"), ends_conversation=True)
staff = Router("volunteers-staff", Role("staff", "admin"))


@residents.message(Pattern("party_register"))
def register(ctx: Ctx, me: dict, found: re.Match) -> None:
    """双报到 CODE"""
    _register_by_code(ctx, me, found.group(1))


@residents.message(Pattern("wish_claim"))
def claim(ctx: Ctx, me: dict, found: re.Match) -> None:
    """认领心愿 N"""
    _claim(ctx, me, int(found.group(1)))


@residents.message(Pattern("wish_done"))
def fulfilled(ctx: Ctx, me: dict, found: re.Match) -> None:
    """完成心愿 N"""
    _fulfil(ctx, me, int(found.group(1) or found.group(2)))


@residents.message(Pattern("wish_confirm"))
def confirmed(ctx: Ctx, me: dict, found: re.Match) -> None:
    """确认心愿 N"""
    _confirm(ctx, me, int(found.group(1) or found.group(2)))


@residents.message(Pattern("wish_list"))
def wish_list(ctx: Ctx, me: dict) -> None:
    """心愿清单"""
    _list(ctx, me)


def _is_party(me: dict) -> bool:
    return me.get("role") == "party"


def _register_by_code(ctx: Ctx, me: dict, code: str) -> None:
    expected = ctx.settings.volunteers.party_code
    if not expected or code != expected:
        ctx.say(t("vol.bad_code"))
        return
    people.update_resident(ctx.db, me["openid"], role="party")
    ctx.say(t("vol.party_registered"))


def _list(ctx: Ctx, me: dict) -> None:
    if not _is_party(me):
        ctx.say(t("vol.party_only"))
        return
    wishes = store.open_wishes(ctx.db)
    ctx.say(t("vol.list", wishes="\n".join(t("vol.list_line", id=w["id"], text=w["text"]) for w in wishes))
            if wishes else t("vol.list_empty"))


def _claim(ctx: Ctx, me: dict, wid: int) -> None:
    if not _is_party(me):
        ctx.say(t("vol.party_only"))
        return
    w = store.wish(ctx.db, wid)
    if w is None or w["status"] != "approved":
        ctx.say(t("vol.not_claimable", id=wid))
        return
    store.set_wish(ctx.db, wid, ctx.now, status="claimed", claimed_by=me["openid"])
    ctx.to_resident(w["resident"], t("vol.claimed_for_owner", id=wid), ref=f"wish:{wid}")
    ctx.say(t("vol.claimed", id=wid))


def _fulfil(ctx: Ctx, me: dict, wid: int) -> None:
    w = store.wish(ctx.db, wid)
    if w is None or w["status"] != "claimed" or w["claimed_by"] != me["openid"]:
        ctx.say(t("vol.not_yours", id=wid))
        return
    store.set_wish(ctx.db, wid, ctx.now, status="fulfilled")
    ctx.to_resident(w["resident"], t("vol.ask_confirm", id=wid), ref=f"wish:{wid}")
    ctx.say(t("vol.fulfilled", id=wid))


def _confirm(ctx: Ctx, me: dict, wid: int) -> None:
    w = store.wish(ctx.db, wid)
    if w is None or w["resident"] != me["openid"] or w["status"] != "fulfilled":
        ctx.say(t("vol.cannot_confirm", id=wid))
        return
    store.set_wish(ctx.db, wid, ctx.now, status="confirmed")
    if w["claimed_by"]:
        ctx.to_resident(w["claimed_by"], t("vol.thanks_to_party", id=wid), ref=f"wish:{wid}")
    ctx.say(t("vol.confirmed", id=wid))


# --- staff ----------------------------------------------------------------------------------------

@staff.message(Command("review_wish"))
def review(ctx: Ctx, member: dict, cmd: ParsedCommand) -> None:
    _review(ctx, member, cmd)


@staff.message(Command("register_party", "register_observer"))
def register_role(ctx: Ctx, cmd: ParsedCommand) -> None:
    role = "party" if cmd.code == "register_party" else "observer"
    found = store.find_resident(ctx.db, cmd.rest.strip())
    if len(found) != 1:
        ctx.say(t("vol.who", name=cmd.rest.strip() or "?"))
        return
    people.update_resident(ctx.db, found[0]["openid"], role=role)
    ctx.to_resident(found[0]["openid"], t(f"vol.{role}_welcome"))
    ctx.say(t("vol.registered", name=found[0]["name"] or found[0]["openid"], role=t(f"vol.role_{role}")))


def _review(ctx: Ctx, member: dict, cmd: ParsedCommand) -> None:
    w = store.wish(ctx.db, cmd.number) if cmd.number else None
    if w is None or w["status"] != "pending":
        ctx.say(t("vol.review_usage"))
        return
    if cmd.rest.startswith(tuple(words("review", "decline"))):
        reason = pattern("review_decline").sub("", cmd.rest) or t("common.no_reason")
        store.set_wish(ctx.db, w["id"], ctx.now, status="declined", review_note=reason)
        ctx.to_resident(w["resident"], t("vol.declined", id=w["id"], reason=reason), ref=f"wish:{w['id']}")
        ctx.say(t("vol.reviewed_declined", id=w["id"]))
        return
    store.set_wish(ctx.db, w["id"], ctx.now, status="approved")
    ctx.to_resident(w["resident"], t("vol.approved", id=w["id"]), ref=f"wish:{w['id']}")
    for party in store.residents_with_role(ctx.db, "party"):
        ctx.to_resident(party["openid"], t("vol.new_for_party", id=w["id"], text=w["text"]), ref=f"wish:{w['id']}")
    ctx.say(t("vol.reviewed_approved", id=w["id"]))


# --- observers ---------------------------------------------------------------------------------------

def location(ctx: Ctx, me: dict, msg: Message) -> None:
    if msg.lat is None or msg.lng is None:
        ctx.say(t("resident.location_received"))
        return
    store.remember_location(ctx.db, me["openid"], msg.lat, msg.lng, ctx.now)
    ctx.say(t("vol.location_observer") if me.get("role") == "observer" else t("resident.location_received"))


def observer_building(ctx: Ctx, me: dict) -> tuple[bool, dict | None]:
    """(is this an observer with a fresh location, the nearest building within the radius)."""
    cfg = ctx.settings.volunteers
    if me.get("role") != "observer" or me.get("lat") is None or not me.get("located_at"):
        return False, None
    if datetime.fromisoformat(me["located_at"]) < ctx.now - timedelta(minutes=cfg.location_fresh_minutes):
        return False, None
    return True, store.nearest_building(ctx.db, me["lat"], me["lng"], cfg.observer_radius_m)


def file_for_triage(ctx: Ctx, me: dict, text: str, category: str, urgent: bool) -> None:
    """An observer's report too far from any building goes to the staff triage queue."""
    p = petitions.create(ctx.db, resident=me["openid"], building=None, grid=None, category=category, text=text,
                         now=ctx.now, urgent=urgent)
    where = f"{me['lat']:.5f},{me['lng']:.5f}"
    for userid in org.community_staff(ctx.db):
        ctx.to_staff(userid, t("vol.triage", id=p["id"], where=where, text=text), ref=f"petition:{p['id']}")
    ctx.say(t("vol.filed_triage", id=p["id"]))
