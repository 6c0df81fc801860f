"""亲邻议事: merging duplicate reports, topics, votes in private chat with a public tally, disclosure."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from fractions import Fraction

from rapidfuzz import fuzz

from bot import address
from bot.intents import normalise
from bot.texts import t
from handlers import lifecycle
from handlers.commands import Command
from handlers.context import Ctx
from storage import deliberation as store
from storage import org, petitions, states

STAFF_COMMANDS = frozenset({"topic", "vote", "publish", "answer_disclosure"})
PETITION_COMMANDS = frozenset({"merge", "unmerge"})
_BALLOT = re.compile(r"^\s*投票\s*(?:(\d{1,6})\s*号?\s*[:：,，]?\s+)?(?:选)?\s*(\d{1,2})\s*$")
_TURNOUT = re.compile(r"^\s*(?:查看)?投票(?:情况|进度|结果)\s*$")
_REQUEST = re.compile(r"^\s*申请公开\s*[:：]?\s*(.+)$", re.DOTALL)


# --- duplicates -----------------------------------------------------------------------------------

def similarity(a: str, b: str) -> float:
    return _similarity(normalise(a), normalise(b))


def _similarity(na: str, nb: str) -> float:
    return max(fuzz.ratio(na, nb), fuzz.partial_ratio(na, nb) * 0.92, fuzz.token_set_ratio(na, nb))


# the open states as literals, exactly as the partial index of migration 071 names them (SQLite uses a
# partial index only when the query repeats its WHERE term; bound parameters would not match)
_OPEN_LITERALS = ", ".join(f"'{s}'" for s in states.OPEN_STATES)


@functools.lru_cache(maxsize=4096)
def _stored_normalised(text: str) -> str:
    """`normalise` of a stored petition's text: an open petition is compared with every later report
    of its building and category, so its text is folded once, not once per report (a pure function)."""
    return normalise(text)


def find_duplicate(ctx: Ctx, building: str, category: str, text: str) -> dict | None:
    """The open petition of this building and category, filed within the window, that `text` repeats
    best (the earliest on a tie); runs on every report, so only open rows' ids and texts are read."""
    cfg = ctx.settings.deliberation
    since = petitions.iso(ctx.now - timedelta(days=cfg.duplicate_window_days))
    mine = normalise(text)
    best, score = None, 0.0
    for pid, other in ctx.db.conn.execute(
        "SELECT id, text FROM petitions WHERE building = ? AND category = ? AND created_at >= ?"
        f" AND state IN ({_OPEN_LITERALS}) ORDER BY id",
        (building, category, since),
    ):
        s = _similarity(mine, _stored_normalised(other))
        if s > score:
            best, score = pid, s
    return petitions.get(ctx.db, best) if best is not None and score >= cfg.duplicate_score else None


def follow(ctx: Ctx, original: dict, me: dict, text: str) -> None:
    """A resident's report that repeats an open petition: recorded, merged, and followed."""
    if original["resident"] == me["openid"] or store.is_following(ctx.db, original["id"], me["openid"]):
        ctx.say(t("delib.already_following", id=original["id"], state=states.label(original["state"])))
        return
    dup = petitions.create_merged(ctx.db, resident=me["openid"], building=original["building"],
                                  grid=original["grid"], category=original["category"], text=text, now=ctx.now,
                                  into=original["id"], actor="system",
                                  note=t("delib.merged_note", id=original["id"]))
    store.add_follower(ctx.db, original["id"], me["openid"], dup, ctx.now)
    count = store.households_raising(ctx.db, original["id"])
    ctx.say(t("delib.merged", id=original["id"], state=states.label(original["state"]), count=count))
    if original["worker"]:
        ctx.to_staff(original["worker"], t("delib.worker_more_households", id=original["id"], count=count),
                     ref=f"petition:{original['id']}")
    if count >= ctx.settings.deliberation.topic_households:
        open_topic_for(ctx, original, "system", t("delib.topic_reason_households", count=count))


def merge(ctx: Ctx, member: dict, p: dict, rest: str) -> None:
    """合并 N 到 M: N and everyone following it now follow M."""
    m = re.search(r"(\d{1,7})", rest)
    target = petitions.get(ctx.db, int(m.group(1))) if m else None
    if target is None or target["id"] == p["id"] or not states.is_open(target["state"]):
        ctx.say(t("delib.merge_usage"))
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
    m = re.fullmatch(r"\s*(\d{1,6})\s*号?\s*", rest)
    if m:
        topic = store.topic(ctx.db, int(m.group(1)))
        if topic is None:
            ctx.say(t("delib.no_topic", topic=m.group(1)))
            return
        history = "\n".join(f"{e['at'][5:16].replace('T', ' ')} {e['note']}" for e in store.topic_history(
            ctx.db, topic["id"]))
        ctx.say(t("delib.topic_show", topic=topic["id"], title=topic["title"], status=topic["status"],
                  history=history))
        return
    if not rest.strip():
        ctx.say(t("delib.topic_usage"))
        return
    tid = store.create_topic(ctx.db, petition=None, title=rest.strip()[:80], actor=member["userid"],
                             reason=t("delib.topic_reason_staff"), now=ctx.now)
    ctx.say(t("delib.topic_created", topic=tid))


# --- votes -----------------------------------------------------------------------------------------

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
    m = re.search(r"截止\s*(?:(\d{4})[-/年])?\s*(\d{1,2})[-/月]\s*(\d{1,2})日?(?:\s*(\d{1,2})[:：点](\d{2})?)?", rest)
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
    m = re.search(r"范围\s*(\S+)", rest)
    if not m:
        p = petitions.get(ctx.db, topic["petition"]) if topic["petition"] else None
        return [p["building"]] if p and p["building"] else []
    ids: list[str] = []
    buildings = org.buildings(ctx.db)
    for part in re.split(r"[、,，/；;]", m.group(1)):
        part = part.strip()
        if part in ("全社区", "全体", "社区"):
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


def _vote_command(ctx: Ctx, member: dict, rest: str) -> None:
    m = re.search(r"议题\s*(\d{1,6})", rest)
    topic = store.topic(ctx.db, int(m.group(1))) if m else None
    deadline = _deadline(ctx, rest)
    if topic is None or deadline is None or deadline <= ctx.now:
        ctx.say(t("delib.vote_usage"))
        return
    buildings = _scope(ctx, rest, topic)
    if not buildings:
        ctx.say(t("delib.vote_scope_unknown"))
        return
    om = re.search(r"选项\s*(\S+)", rest)
    options = [o for o in re.split(r"[/／、|]", om.group(1)) if o] if om else t("delib.default_options").split("/")
    pm, am = re.search(r"参与\s*(\d+/\d+)", rest), re.search(r"通过\s*(\d+/\d+)", rest)
    cfg = ctx.settings.deliberation
    participation = _fraction(pm.group(1) if pm else None, cfg.participation)
    approval = _fraction(am.group(1) if am else None, cfg.approval)
    vid = store.create_vote(ctx.db, topic=topic["id"], question=topic["title"], options=options,
                            buildings=buildings, deadline=deadline, participation=participation,
                            approval=approval, actor=member["userid"], now=ctx.now)
    store.topic_event(ctx.db, topic["id"], member["userid"], t("delib.vote_opened_note", vote=vid), ctx.now,
                      status="voting")
    lines = "\n".join(f"{n}. {o}" for n, o in enumerate(options, start=1))
    notice = t("delib.vote_notice", vote=vid, title=topic["title"], options=lines,
               deadline=deadline.strftime("%m月%d日 %H:%M"), participation=participation, approval=approval)
    _publish(ctx, buildings, notice, f"vote:{vid}")
    ctx.say(t("delib.vote_created", vote=vid, count=len(buildings)))


def _publish(ctx: Ctx, buildings: list[str], text: str, ref: str) -> None:
    ctx.to_buildings([b for bid in buildings if (b := org.building(ctx.db, bid))], text, ref)


def _ballot(ctx: Ctx, me: dict, vote_no: str | None, option: int) -> None:
    if not me["building"]:
        ctx.say(t("delib.ballot_no_address"))
        return
    candidates = [v for v in store.open_votes(ctx.db) if vote_no is None or v["id"] == int(vote_no)]
    if vote_no is not None and not candidates:
        v = store.vote(ctx.db, int(vote_no))
        ctx.say(t("delib.ballot_closed", vote=vote_no) if v else t("delib.no_vote", vote=vote_no))
        return
    mine = [v for v in candidates if me["building"] in v["buildings"]]
    if not mine:
        ctx.say(t("delib.ballot_not_in_scope") if candidates else t("delib.no_open_vote"))
        return
    if len(mine) > 1:
        ctx.say(t("delib.ballot_which", votes="\n".join(f"投票{v['id']}：{v['question']}" for v in mine)))
        return
    v = mine[0]
    if v["deadline"] <= petitions.iso(ctx.now):
        ctx.say(t("delib.ballot_closed", vote=v["id"]))
        return
    if not 1 <= option <= len(v["options"]):
        ctx.say(t("delib.ballot_bad_option", count=len(v["options"])))
        return
    if not me["room"]:
        ctx.say(t("delib.ballot_no_room"))
        return
    replaced = store.cast(ctx.db, v["id"], store.household(me), me["openid"], option, ctx.now)
    key = "delib.ballot_changed" if replaced else "delib.ballot_cast"
    ctx.say(t(key, vote=v["id"], option=v["options"][option - 1]))


def turnout_text(ctx: Ctx, v: dict) -> str:
    voted = len(store.ballots(ctx.db, v["id"]))
    eligible = store.eligible_households(ctx.db, v["buildings"])
    rate = f"{voted / eligible * 100:.0f}%" if eligible else "—"
    return t("delib.turnout", vote=v["id"], title=v["question"], voted=voted, eligible=eligible, rate=rate,
             deadline=v["deadline"][5:16].replace("T", " "))


def tally(ctx: Ctx, v: dict) -> dict:
    counts = [0] * len(v["options"])
    for b in store.ballots(ctx.db, v["id"]):
        if 1 <= b["option"] <= len(counts):
            counts[b["option"] - 1] += 1
    voted, eligible = sum(counts), store.eligible_households(ctx.db, v["buildings"])
    took_part = Fraction(voted, eligible) if eligible else Fraction(0)
    approved = Fraction(counts[0], voted) if voted else Fraction(0)
    passed = took_part >= Fraction(v["participation"]) and approved >= Fraction(v["approval"])
    return {"counts": counts, "voted": voted, "eligible": eligible, "participation": float(took_part),
            "approval": float(approved), "passed": passed}


def close_due_votes(ctx: Ctx) -> int:
    """At each vote's deadline: tally, publish to every group in scope (公示), record on the topic."""
    closed = 0
    for v in store.due_votes(ctx.db, ctx.now):
        result = tally(ctx, v)
        store.close_vote(ctx.db, v["id"], result)
        lines = "\n".join(f"{o}：{c} 户" for o, c in zip(v["options"], result["counts"], strict=True))
        verdict = t("delib.passed") if result["passed"] else t("delib.failed")
        notice = t("delib.result_notice", vote=v["id"], title=v["question"], lines=lines, voted=result["voted"],
                   eligible=result["eligible"], participation=f"{result['participation'] * 100:.1f}%",
                   approval=f"{result['approval'] * 100:.1f}%", need_p=v["participation"],
                   need_a=v["approval"], verdict=verdict)
        _publish(ctx, v["buildings"], notice, f"vote:{v['id']}")
        store.topic_event(ctx.db, v["topic"], "system", t("delib.result_note", vote=v["id"], verdict=verdict),
                          ctx.now, status="decided")
        closed += 1
    return closed


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


def _answer(ctx: Ctx, member: dict, cmd: Command) -> None:
    item = store.disclosure(ctx.db, cmd.number) if cmd.number else None
    if item is None or item["kind"] != "request" or not cmd.rest:
        ctx.say(t("delib.answer_usage"))
        return
    store.answer_disclosure(ctx.db, item["id"], cmd.rest, member["userid"], ctx.now)
    if item["requester"]:
        ctx.to_resident(item["requester"], t("delib.request_answered", id=item["id"], answer=cmd.rest),
                        ref=f"disclosure:{item['id']}")
    ctx.say(t("delib.answered", id=item["id"]))


def _request(ctx: Ctx, me: dict, text: str) -> None:
    due = ctx.now + timedelta(days=ctx.settings.deliberation.disclosure_days)
    did = store.add_disclosure(ctx.db, kind="request", title=lifecycle.public_text(ctx, text)[:120], body=None,
                               requester=me["openid"], status="pending", due_at=due, now=ctx.now)
    for userid in org.community_staff(ctx.db):
        ctx.to_staff(userid, t("delib.request_for_staff", id=did, text=text, due=due.strftime("%m月%d日")),
                     ref=f"disclosure:{did}")
    ctx.say(t("delib.request_received", id=did, text=text, due=due.strftime("%m月%d日")))


# --- entry points -------------------------------------------------------------------------------------

def resident_command(ctx: Ctx, me: dict, text: str) -> bool:
    """投票 / 投票情况 / 申请公开: True when the message was one of these."""
    m = _BALLOT.match(text)
    if m:
        _ballot(ctx, me, m.group(1), int(m.group(2)))
        return True
    if _TURNOUT.match(text):
        mine = [v for v in store.open_votes(ctx.db) if me["building"] in v["buildings"]]
        ctx.say("\n\n".join(turnout_text(ctx, v) for v in mine) if mine else t("delib.no_open_vote"))
        return True
    m = _REQUEST.match(text)
    if m and m.group(1).strip():
        _request(ctx, me, m.group(1).strip())
        return True
    return False


def staff_command(ctx: Ctx, member: dict, cmd: Command) -> None:
    if cmd.code == "topic":
        _topic_command(ctx, member, cmd.rest)
    elif cmd.code == "vote":
        _vote_command(ctx, member, cmd.rest)
    elif cmd.code == "publish":
        _publish_item(ctx, member, cmd.rest)
    elif cmd.code == "answer_disclosure":
        _answer(ctx, member, cmd)



def remind_overdue_disclosures(ctx: Ctx) -> int:
    """A disclosure request not answered by its deadline is raised with every staff member, once."""
    overdue = store.overdue_requests(ctx.db, ctx.now)
    for item in overdue:
        for userid in org.community_staff(ctx.db):
            ctx.to_staff(userid, t("delib.request_overdue", id=item["id"], text=item["title"]),
                         ref=f"disclosure:{item['id']}")
        store.mark_overdue_notified(ctx.db, item["id"], ctx.now)
    return len(overdue)
