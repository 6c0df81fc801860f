"""Everything time-driven (SPEC §4, §6, §9, §10), as plain jobs the scheduler calls on every tick.

Each job takes a Ctx (the store inside one transaction, `now`, settings), does what is due at `now`
and returns how many things it did. Each is idempotent through state in the store: the due-time
column of a step is cleared or moved on, or a (job, period) row is claimed in `job_runs`, in the same
transaction that writes the step's messages to the outbox. So a restart loses nothing (due steps are
found on the next tick) and fires nothing twice. Periodic jobs catch up for CATCH_UP after their time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta

from sqlite_utils import Database

from bot.config import Settings
from handlers import bulletin, deadlines, deliberation, staff
from handlers.context import Ctx, reachable
from handlers.deadlines import Limit, short
from handlers.lifecycle import summary
from language.intents import Matcher
from language.texts import t
from storage import clock as clock_store
from storage import org, petitions, stats
from storage.db import transaction
from storage.instances import clock_turn
from storage.petitions import iso
from storage.states import RUNNING

log = logging.getLogger("minsheng.clock")
CATCH_UP = timedelta(days=3)
REMINDERS = (("sign", "sign_remind_at", ("assigned",)), ("feedback", "feedback_remind_at", RUNNING),
             ("resolve", "resolve_remind_at", RUNNING))


def _ref(p: dict) -> str:
    return f"petition:{p['id']}"


# --- reminders and escalation -----------------------------------------------------------------

def send_due_reminders(ctx: Ctx) -> int:
    """Remind the worker when `remind_at_fraction` of a limit is used and the step is still undone."""
    sent = 0
    for kind, column, states in REMINDERS:
        clock_store.stale(ctx.db, column, states)
        for p in clock_store.due(ctx.db, column, ctx.now, states):
            clock_store.set_fields(ctx.db, p["id"], **{column: None})
            deadline = p[f"{kind}_deadline"]
            if p["worker"] and deadline and datetime.fromisoformat(deadline) > ctx.now:
                ctx.to_staff(p["worker"], t(f"clock.remind_{kind}", id=p["id"], due=short(deadline),
                                            summary=summary(ctx, p)), ref=_ref(p))
                sent += 1
    return sent


def escalate_overdue(ctx: Ctx) -> int:
    """Overdue sign-for or resolution: to the grid head first, then (staff_escalation_hours later) staff."""
    clock_store.stale(ctx.db, "escalate_at", RUNNING)
    done = 0
    for p in clock_store.due(ctx.db, "escalate_at", ctx.now, RUNNING):
        if p["escalation_level"] >= 2:
            clock_store.set_fields(ctx.db, p["id"], escalate_at=None)
            continue
        _escalate(ctx, p)
        done += 1
    return done


def _escalate(ctx: Ctx, p: dict) -> None:
    kind, deadline = deadlines.current_deadline(p) or ("resolve", p["resolve_deadline"])
    reason = _reason(ctx, p, kind, deadline)
    if p["urgent"]:
        _escalate_urgent(ctx, p, reason, deadline)
        return
    head = _head_for(ctx, p)
    level = 2 if head is None else p["escalation_level"] + 1
    fields = {"reason": reason, "due": short(deadline) if deadline else "—", "id": p["id"],
              "worker": _name(ctx, p["worker"]), "summary": summary(ctx, p)}
    if level == 1 and head is not None:
        ctx.to_staff(head, t("clock.escalate_head", **fields), ref=_ref(p))
        limit = deadlines.limits(ctx.settings, p)[kind]
        step = Limit(ctx.settings.time_limits.staff_escalation_hours, limit.working)
        next_at: str | None = iso(deadlines.after(ctx.settings, ctx.now, step))
        event, to = t("clock.event_escalate_head", reason=reason), t("clock.to_head")
    else:
        for userid in org.community_staff(ctx.db):
            ctx.to_staff(userid, t("clock.escalate_staff", **fields), ref=_ref(p))
        next_at, event, to = None, t("clock.event_escalate_staff", reason=reason), t("clock.to_staff")
    if p["worker"]:
        ctx.to_staff(p["worker"], t("clock.escalate_worker", id=p["id"], reason=reason, to=to), ref=_ref(p))
    petitions.note(ctx.db, p["id"], actor="system", now=ctx.now, text=event)
    clock_store.set_fields(ctx.db, p["id"], escalation_level=level, escalate_at=next_at)


def _escalate_urgent(ctx: Ctx, p: dict, reason: str, deadline: str | None) -> None:
    """An urgent petition past its limit (15 minutes to sign for): the grid head and the staff on duty
    together at once, since both already had the alert; the ladder ends there."""
    head = _head_for(ctx, p)
    text = t("safety.escalate", reason=reason, due=short(deadline) if deadline else "—", id=p["id"],
             worker=_name(ctx, p["worker"]), summary=summary(ctx, p))
    for userid in dict.fromkeys([*([head] if head else []), *org.community_staff(ctx.db)]):
        if userid != p["worker"]:
            ctx.to_staff(userid, text, ref=_ref(p))
    if p["worker"]:
        ctx.to_staff(p["worker"], t("clock.escalate_worker", id=p["id"], reason=reason,
                                    to=t("safety.to_head_and_staff")), ref=_ref(p))
    petitions.note(ctx.db, p["id"], actor="system", now=ctx.now, text=t("safety.event_escalate", reason=reason))
    clock_store.set_fields(ctx.db, p["id"], escalation_level=2, escalate_at=None)


def _reason(ctx: Ctx, p: dict, kind: str, deadline: str | None) -> str:
    if deadline and datetime.fromisoformat(deadline) > ctx.now:
        return t("clock.reason_urged", count=p["urge_count"])
    return t(f"clock.reason_{kind}")


def _head_for(ctx: Ctx, p: dict) -> str | None:
    """The grid head, unless the head is the one who holds the petition."""
    grid = org.grid(ctx.db, p["grid"])
    head = grid["head"] if grid else None
    return head if head and head != p["worker"] else None


def _name(ctx: Ctx, userid: str | None) -> str:
    member = org.staff_member(ctx.db, userid) if userid else None
    return member["name"] if member else (userid or "—")


# --- follow-up of resolved petitions ----------------------------------------------------------

def send_due_followups(ctx: Ctx) -> int:
    """One reminder to rate, `followup_after_hours` after resolution."""
    clock_store.stale(ctx.db, "followup_at", ("resolved",))
    sent = 0
    for p in clock_store.due(ctx.db, "followup_at", ctx.now, ("resolved",)):
        clock_store.set_fields(ctx.db, p["id"], followup_at=None)
        if reachable(p["resident"]):
            ctx.to_resident(p["resident"], t("clock.rate_reminder", id=p["id"], days=_days(ctx)), ref=_ref(p))
            sent += 1
    return sent


def close_unrated(ctx: Ctx) -> int:
    """No rating `autoclose_days` after resolution: closed as 未评价 (rating 'unrated', not satisfied)."""
    clock_store.stale(ctx.db, "autoclose_at", ("resolved",))
    closed = 0
    for p in clock_store.due(ctx.db, "autoclose_at", ctx.now, ("resolved",)):
        petitions.transition(ctx.db, p["id"], "closed", actor="system", now=ctx.now,
                             note=t("clock.unrated_note", days=_days(ctx)), rating="unrated",
                             autoclose_at=None, followup_at=None)
        if reachable(p["resident"]):
            ctx.to_resident(p["resident"], t("clock.unrated_resident", id=p["id"]), ref=_ref(p))
        closed += 1
    return closed


def _days(ctx: Ctx) -> str:
    return f"{ctx.settings.time_limits.autoclose_days:g}"


# --- scheduled announcements ------------------------------------------------------------------

def send_scheduled_announcements(ctx: Ctx) -> int:
    rows = clock_store.due_announcements(ctx.db, ctx.now)
    for row in rows:
        staff.send_scheduled(ctx, row)
    return len(rows)


# --- monthly door-knocking reminder -----------------------------------------------------------

def monthly_visit_reminders(ctx: Ctx) -> int:
    """On the first working day of each month (from its first working hour) every grid worker is told
    which buildings to visit."""
    cal = deadlines.calendar(ctx.settings)
    local = ctx.now.astimezone(cal.tz)
    due_at = cal.day_start(cal.first_workday_of_month(local.year, local.month))
    if not due_at <= ctx.now < due_at + CATCH_UP:
        return 0
    if not clock_store.claim_run(ctx.db, "visit_reminder", f"{local.year:04d}-{local.month:02d}", ctx.now):
        return 0
    month = t("clock.month", year=local.year, month=local.month)
    for userid, names in _buildings_by_worker(ctx.db).items():
        ctx.to_staff(userid, t("clock.visit_reminder", name=_name(ctx, userid), month=month,
                               buildings="、".join(names)), ref=f"visits:{local.year:04d}-{local.month:02d}")
    return 1


def _buildings_by_worker(db: Database) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for g in org.grids(db):
        names = [b["name"] for b in org.buildings_of_grid(db, g["id"])]
        for userid in org.grid_workers(db, g["id"]):
            out.setdefault(userid, []).extend(n for n in names if n not in out.get(userid, []))
    return out


# --- weekly report ------------------------------------------------------------------------------

def weekly_report(ctx: Ctx) -> int:
    """Every week at the configured weekday and time (Monday 09:00): last week's numbers to staff."""
    due_at = latest_report_time(ctx.settings, ctx.now)
    if not due_at <= ctx.now < due_at + CATCH_UP:
        return 0
    until = datetime.combine(due_at.date(), time(0), due_at.tzinfo)
    since = until - timedelta(days=7)
    if not clock_store.claim_run(ctx.db, "weekly_report", due_at.date().isoformat(), ctx.now):
        return 0
    numbers = stats.summary(ctx.db, since, until, now=ctx.now)
    text = bulletin.render(ctx.db, numbers, since.strftime(t("plain.date")),
                           (until - timedelta(days=1)).strftime(t("plain.date")))
    for userid in org.community_staff(ctx.db):
        ctx.to_staff(userid, text, ref=f"report:{due_at.date().isoformat()}")
    return 1


def latest_report_time(settings: Settings, now: datetime) -> datetime:
    """The most recent weekly report time at or before `now`."""
    cal = deadlines.calendar(settings)
    local = now.astimezone(cal.tz)
    at = time.fromisoformat(settings.schedule.weekly_report_time)
    back = (local.isoweekday() - settings.schedule.weekly_report_weekday) % 7
    due_at = datetime.combine(local.date() - timedelta(days=back), at, cal.tz)
    return due_at if due_at <= now else due_at - timedelta(days=7)


# --- the tick -----------------------------------------------------------------------------------

JOBS: tuple[Callable[[Ctx], int], ...] = (
    send_scheduled_announcements, send_due_reminders, escalate_overdue, send_due_followups, close_unrated,
    monthly_visit_reminders, weekly_report, deliberation.close_due_votes, deliberation.remind_overdue_disclosures,
)


def run_due(db: Database, now: datetime, settings: Settings, matcher: Matcher) -> dict[str, int | None]:
    """Run every job once at `now`, each in its own transaction (a savepoint of the tick's transaction);
    a failing job (None) does not stop the others and is retried on the next tick, since nothing of it
    was committed. With several instances on one database, one runs the jobs at a time: another's tick
    meanwhile does nothing (the one running covers this due moment), so each step happens once."""
    done: dict[str, int | None] = {}
    if not clock_turn(db):
        log.debug("clock jobs at %s run by another instance", iso(now))
        return done
    for job in JOBS:
        try:
            with transaction(db):
                done[job.__name__] = job(Ctx(db, now, settings, matcher))
        except Exception:
            log.exception("clock job %s failed at %s; retried on the next tick", job.__name__, iso(now))
            done[job.__name__] = None
    return done
