"""Votes of 亲邻议事: opened by staff with a fixed electorate, cast in private chat, tallied at the deadline.

The electorate is fixed when a vote opens: every resident bound in scope goes on the vote's roll with
the household (building and room) they have then; a resident without a room then is tied to the room
they have when they first vote. A ballot belongs to the person who cast it: re-binding during a vote
neither creates a ballot nor takes one over, a household votes once, and a second resident claiming a
household already on the roll is refused and shown to staff. Turnout is counted against the fixed
electorate and never exceeds it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from fractions import Fraction

from handlers import deadlines
from handlers.context import Ctx
from language import address
from language.texts import t
from language.words import pattern, words
from storage import deliberation as store
from storage import org, petitions


def _fraction(text: str | None, default: str) -> str:
    if text:
        try:
            value = Fraction(text)
            if 0 < value <= 1:
                return f"{value.numerator}/{value.denominator}"
        except (ValueError, ZeroDivisionError):
            pass
    return default


def _deadline(ctx: Ctx, rest: str) -> datetime | None:
    m = pattern("vote_deadline").search(rest)
    if not m:
        return None
    year = int(m.group(1) or ctx.now.year)
    hour, minute = int(m.group(4) or 18), int(m.group(5) or 0)
    try:
        return ctx.now.replace(year=year, month=int(m.group(2)), day=int(m.group(3)), hour=hour, minute=minute,
                               second=0, microsecond=0)
    except ValueError:
        return None


def _scope(ctx: Ctx, rest: str, topic: dict) -> list[str]:
    m = pattern("vote_scope").search(rest)
    if not m:
        p = petitions.get(ctx.db, topic["petition"]) if topic["petition"] else None
        return [p["building"]] if p and p["building"] else []
    ids: list[str] = []
    buildings = org.buildings(ctx.db)
    for part in re.split(r"[、,，/；;]", m.group(1)):
        part = part.strip()
        if part in words("scope", "vote_community"):
            return [b["id"] for b in buildings]
        grid = next((g for g in org.grids(ctx.db) if part in (g["id"], g["name"])), None)
        if grid:
            ids += [b["id"] for b in org.buildings_of_grid(ctx.db, grid["id"])]
            continue
        b = address.find_building(part, buildings)
        if b is None:
            return []
        ids.append(b["id"])
    return list(dict.fromkeys(ids))


def vote_command(ctx: Ctx, member: dict, rest: str) -> None:
    """发起投票 议题N 截止 … [范围 …] [选项 …] [参与 …] [通过 …]: the vote, its fixed electorate, the notice."""
    m = pattern("vote_topic").search(rest)
    topic = store.topic(ctx.db, int(m.group(1))) if m else None
    deadline = _deadline(ctx, rest)
    problem = (t("delib.vote_usage") if not rest.strip()
               else t("staffcmd.vote_no_topic") if m is None
               else t("staffcmd.vote_no_such_topic", topic=m.group(1)) if topic is None
               else t("staffcmd.vote_no_deadline") if deadline is None
               else t("staffcmd.vote_deadline_past", deadline=deadline.strftime(t("common.month_day_time")))
               if deadline <= ctx.now else None)
    if problem or topic is None or deadline is None:
        ctx.say(problem or t("delib.vote_usage"))
        return
    buildings = _scope(ctx, rest, topic)
    if not buildings:
        ctx.say(t("delib.vote_scope_unknown"))
        return
    om = pattern("vote_options").search(rest)
    options = [o for o in re.split(r"[/／、|]", om.group(1)) if o] if om else t("delib.default_options").split("/")
    pm, am = pattern("vote_participation").search(rest), pattern("vote_approval").search(rest)
    cfg = ctx.settings.deliberation
    participation = _fraction(pm.group(1) if pm else None, cfg.participation)
    approval = _fraction(am.group(1) if am else None, cfg.approval)
    vid = store.create_vote(ctx.db, topic=topic["id"], question=topic["title"], options=options,
                            buildings=buildings, deadline=deadline, participation=participation,
                            approval=approval, actor=member["userid"], now=ctx.now)
    electorate = store.open_roll(ctx.db, vid, buildings, ctx.now)
    store.topic_event(ctx.db, topic["id"], member["userid"], t("delib.vote_opened_note", vote=vid), ctx.now,
                      status="voting")
    lines = option_lines(options)
    notice = t("delib.vote_notice", vote=vid, title=topic["title"], options=lines, first=options[0],
               deadline=deadline.strftime(t("common.month_day_time")), participation=participation, approval=approval)
    publish(ctx, buildings, notice, f"vote:{vid}")
    ctx.say(t("delib.vote_created", vote=vid, count=len(buildings), eligible=sum(electorate.values())))


def letter(index: int) -> str:
    """The letter of option `index` (0-based): A, B, C … (a number would read as a vote's number)."""
    return chr(ord("A") + index)


def option_lines(options: list[str]) -> str:
    return "\n".join(t("delib.option_line", letter=letter(n), option=o) for n, o in enumerate(options))


def pick_option(options: list[str], said: str) -> int | None:
    """The 1-based option `said` names: its letter (A, ａ, Ｂ …) or its very words; None otherwise."""
    said = unicodedata.normalize("NFKC", said).strip()
    if pattern("ballot_letter").fullmatch(said):
        index = ord(said.upper()) - ord("A")
        return index + 1 if index < len(options) else None
    for n, option in enumerate(options, start=1):
        if said.casefold() == unicodedata.normalize("NFKC", option).strip().casefold():
            return n
    return None


def publish(ctx: Ctx, buildings: list[str], text: str, ref: str) -> None:
    ctx.to_buildings([b for bid in buildings if (b := org.building(ctx.db, bid))], text, ref)


# --- ballots -------------------------------------------------------------------------------------------

def _which_vote(ctx: Ctx, me: dict, vote_no: str | None) -> dict | None:
    """The open vote a ballot is for: one whose roll holds the sender, or whose scope holds their building."""
    rolled = store.rolled_votes(ctx.db, me["openid"])
    if not me["building"] and not rolled:
        ctx.say(t("delib.ballot_no_address"))
        return None
    candidates = [v for v in store.open_votes(ctx.db) if vote_no is None or v["id"] == int(vote_no)]
    if vote_no is not None and not candidates:
        v = store.vote(ctx.db, int(vote_no))
        ctx.say(t("delib.ballot_closed", vote=vote_no) if v else t("delib.no_vote", vote=vote_no))
        return None
    mine = [v for v in candidates if v["id"] in rolled or me["building"] in v["buildings"]]
    if not mine:
        ctx.say(t("delib.ballot_not_in_scope") if candidates else t("delib.no_open_vote"))
        return None
    if len(mine) > 1:
        ctx.say(t("delib.ballot_which", votes="\n".join(
            t("public.vote_title", vote=v["id"], question=v["question"]) for v in mine)))
        return None
    return mine[0]


def _household_for(ctx: Ctx, me: dict, v: dict) -> tuple[str, str] | None:
    """(household, building) a first ballot counts for: the one the roll ties the sender to, else their
    room now, when no one else on the roll holds it; None (after saying why) when they may not vote."""
    entry = store.roll_entry(ctx.db, v["id"], me["openid"])
    if entry and entry["household"]:
        return entry["household"], entry["building"]
    if me["building"] not in v["buildings"]:
        ctx.say(t("delib.ballot_not_in_scope"))
        return None
    if not me["room"]:
        ctx.say(t("delib.ballot_no_room"))
        return None
    household = store.household(me)
    if any(r != me["openid"] for r in store.household_claimants(ctx.db, v["id"], household)):
        _conflict(ctx, v, household, me["openid"])
        ctx.say(t("votes.room_taken", vote=v["id"]))
        return None
    if entry is None and not store.declared_households(ctx.db, me["building"]):
        ctx.say(t("votes.not_on_roll", vote=v["id"]))  # the electorate is the households bound at the opening
        return None
    return household, me["building"]


def _place(ctx: Ctx, household: str) -> str:
    bid, _, room = household.partition(":")
    return f"{_building_name(ctx, bid)}{room}"


def _building_name(ctx: Ctx, bid: str) -> str:
    b = org.building(ctx.db, bid)
    return b["name"] if b else bid


def _conflict(ctx: Ctx, v: dict, household: str, resident: str) -> None:
    """A second resident claims a household of the vote: staff are told once per person and household."""
    if store.record_conflict(ctx.db, v["id"], household, resident, ctx.now):
        for userid in org.community_staff(ctx.db):
            ctx.to_staff(userid, t("votes.conflict_staff", vote=v["id"], title=v["question"],
                                   place=_place(ctx, household)), ref=f"vote:{v['id']}")


def _show(ctx: Ctx, me: dict, v: dict) -> None:
    """A vote's question and options, and how to answer (投票 N with no option, or no option known)."""
    example = f"{v['id']} " if len(my_open_votes(ctx, me)) > 1 else ""
    ctx.say(t("delib.ballot_show", vote=v["id"], title=v["question"], options=option_lines(v["options"]),
              example=example, first=v["options"][0]))


def _plausible(said: str, mine: list[dict]) -> bool:
    """Whether words after 投票 may be an option: a letter or number, an option of an open vote, or a
    short word while the sender has a vote open ("投票箱坏了" with no vote open is a report)."""
    if not said or said.isdigit() or pattern("ballot_letter").fullmatch(unicodedata.normalize("NFKC", said)):
        return True
    return any(pick_option(v["options"], said) for v in mine) or (bool(mine) and len(said) <= 4)


def ballot(ctx: Ctx, me: dict, vote_no: str | None, said: str) -> bool:
    """投票 [N] A / 投票 [N] 同意: a first ballot for the sender's household, or a change of their own
    ballot; 投票 N alone shows vote N's options. False (nothing said) when the words are no ballot."""
    mine = my_open_votes(ctx, me)
    if not _plausible(said, mine):
        return False
    _ballot(ctx, me, vote_no, said, mine)
    return True


def _ballot(ctx: Ctx, me: dict, vote_no: str | None, said: str, mine: list[dict]) -> None:
    if vote_no is not None and not said and mine and all(v["id"] != int(vote_no) for v in mine):
        ctx.say(t("delib.ballot_number_is_vote", vote=vote_no))   # 投票 1 meant as an option, not a vote
        for v in mine:
            _show(ctx, me, v)
        return
    v = _which_vote(ctx, me, vote_no)
    if v is None:
        return
    if v["deadline"] <= petitions.iso(ctx.now):
        ctx.say(t("delib.ballot_closed", vote=v["id"]))
        return
    option = pick_option(v["options"], said) if said else None
    if option is None:
        if said:
            ctx.say(t("delib.ballot_bad_option", said=said, last=letter(len(v["options"]) - 1)))
        _show(ctx, me, v)
        return
    choice = v["options"][option - 1]
    if store.ballot_of(ctx.db, v["id"], me["openid"]):
        store.change(ctx.db, v["id"], me["openid"], option, ctx.now)
        ctx.say(t("delib.ballot_changed", vote=v["id"], option=choice))
        return
    seat = _household_for(ctx, me, v)
    if seat is None:
        return
    household, building = seat
    if store.household_ballot(ctx.db, v["id"], household):
        _conflict(ctx, v, household, me["openid"])
        ctx.say(t("votes.household_voted", vote=v["id"]))
        return
    if store.ballots_in_building(ctx.db, v["id"], building) >= store.electorate(ctx.db, v, ctx.now).get(building, 0):
        ctx.say(t("votes.building_full", vote=v["id"]))
        return
    store.anchor(ctx.db, v["id"], me["openid"], building, household, ctx.now)
    store.cast(ctx.db, v["id"], household, building, me["openid"], option, ctx.now)
    ctx.say(t("delib.ballot_cast", vote=v["id"], option=choice))


# --- turnout and tally -----------------------------------------------------------------------------------

def my_open_votes(ctx: Ctx, me: dict) -> list[dict]:
    """Open votes the sender may vote in: on their roll, or in scope of the building they are bound to."""
    rolled = store.rolled_votes(ctx.db, me["openid"])
    return [v for v in store.open_votes(ctx.db) if v["id"] in rolled or me["building"] in v["buildings"]]


def turnout_text(ctx: Ctx, v: dict) -> str:
    eligible = sum(store.electorate(ctx.db, v, ctx.now).values())
    voted = min(len(store.ballots(ctx.db, v["id"])), eligible)
    rate = f"{voted / eligible * 100:.0f}%" if eligible else "—"
    return t("delib.turnout", vote=v["id"], title=v["question"], voted=voted, eligible=eligible, rate=rate,
             deadline=deadlines.short(v["deadline"]))


def staff_turnout_text(ctx: Ctx, v: dict) -> str:
    """投票情况 N for staff: turnout against the fixed electorate, overall and building by building
    (counts of households only: no option counts before the deadline, no names)."""
    electorate = store.electorate(ctx.db, v, ctx.now)
    cast_: dict[str, int] = {}
    for b in store.ballots(ctx.db, v["id"]):
        cast_[b["building"]] = cast_.get(b["building"], 0) + 1
    eligible = sum(electorate.values())
    voted = min(sum(cast_.values()), eligible)
    rate = f"{voted / eligible * 100:.0f}%" if eligible else "—"
    lines = "\n".join(t("staffcmd.turnout_building", building=_building_name(ctx, bid),
                         voted=min(cast_.get(bid, 0), n), eligible=n) for bid, n in electorate.items())
    status = t("staffcmd.vote_open") if v["status"] == "open" else t("staffcmd.vote_closed")
    return t("staffcmd.turnout_staff", vote=v["id"], title=v["question"], status=status,
             deadline=deadlines.short(v["deadline"]), voted=voted, eligible=eligible, rate=rate,
             participation=v["participation"], buildings=lines)


def tally(ctx: Ctx, v: dict) -> dict:
    """Counts per option; turnout against the electorate fixed at the opening, never above 100%."""
    counts = [0] * len(v["options"])
    for b in store.ballots(ctx.db, v["id"]):
        if 1 <= b["option"] <= len(counts):
            counts[b["option"] - 1] += 1
    eligible = sum(store.electorate(ctx.db, v, ctx.now).values())
    cast_ = sum(counts)
    voted = min(cast_, eligible)
    took_part = Fraction(voted, eligible) if eligible else Fraction(0)
    approved = Fraction(counts[0], cast_) if cast_ else Fraction(0)
    passed = took_part >= Fraction(v["participation"]) and approved >= Fraction(v["approval"])
    return {"counts": counts, "voted": voted, "eligible": eligible, "participation": float(took_part),
            "approval": float(approved), "passed": passed}


def close_due_votes(ctx: Ctx) -> int:
    """At each vote's deadline: tally, publish to every group in scope (公示), record on the topic, and
    tell staff of households that more than one resident claimed."""
    closed = 0
    for v in store.due_votes(ctx.db, ctx.now):
        result = tally(ctx, v)
        store.close_vote(ctx.db, v["id"], result)
        lines = "\n".join(t("votes.option_count", option=o, count=c)
                          for o, c in zip(v["options"], result["counts"], strict=True))
        verdict = t("delib.passed") if result["passed"] else t("delib.failed")
        notice = t("delib.result_notice", vote=v["id"], title=v["question"], lines=lines, voted=result["voted"],
                   eligible=result["eligible"], participation=f"{result['participation'] * 100:.1f}%",
                   approval=f"{result['approval'] * 100:.1f}%", need_p=v["participation"],
                   need_a=v["approval"], verdict=verdict)
        publish(ctx, v["buildings"], notice, f"vote:{v['id']}")
        store.topic_event(ctx.db, v["topic"], "system", t("delib.result_note", vote=v["id"], verdict=verdict),
                          ctx.now, status="decided")
        conflicts = store.vote_conflicts(ctx.db, v["id"])
        if conflicts:
            places = "、".join(_place(ctx, c["household"]) for c in conflicts)
            for userid in org.community_staff(ctx.db):
                ctx.to_staff(userid, t("votes.conflicts_at_close", vote=v["id"], count=len(conflicts),
                                       places=places), ref=f"vote:{v['id']}")
        closed += 1
    return closed
