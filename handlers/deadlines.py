"""Time limits of SPEC §4: computed when the clock starts (at dispatch) and stored on the petition.

Which limits count working time and which count wall-clock time (a deliberate decision):
- resolution in working days (ordinary petitions: 3, or `category_resolve_working_days`) counts working
  time of the calendar, so holidays and 调休 make-up days move it;
- sign-for (2 h) of an ordinary petition counts working hours (`sign_for_working_hours = true`): a report
  sent at 22:00 is due for signing at 10:30 on the next working day, not at midnight;
- everything else counts wall-clock hours: urgent petitions (sign-for `emergency_sign_for_minutes`, 15
  minutes; resolution 2 h) — an elevator entrapment or a gas leak does not wait for Monday —, utilities (24 h) and every `category_resolve_hours`
  entry — a water outage on a Saturday is still due on Sunday —, and first feedback to the resident (24 h).
A reminder falls when `remind_at_fraction` of a limit is used, counted the same way as the limit, and the
step from grid head to staff (`staff_escalation_hours`) is counted like the limit that was missed.

The clock starts at the first dispatch, again when staff re-dispatch a returned petition, and again
when a resident's 不满意 reopens it; a transfer between workers keeps the running clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.workcal import WorkCalendar
from handlers.context import Ctx
from language.texts import t
from storage import petitions
from storage.petitions import iso
from storage.states import RUNNING


@dataclass(frozen=True)
class Limit:
    hours: float
    working: bool


def calendar(settings: Settings) -> WorkCalendar:
    c = settings.calendar
    return WorkCalendar.build(c.working_hours, c.weekdays, c.holidays, c.workdays, ZoneInfo(settings.timezone))


def limits(settings: Settings, p: dict) -> dict[str, Limit]:
    """The sign-for, feedback and resolution limits of one petition."""
    tl = settings.time_limits
    day_hours = calendar(settings).day_hours
    urgent = bool(p.get("urgent"))
    sign = (Limit(tl.emergency_sign_for_minutes / 60, False) if urgent
            else Limit(tl.sign_for_hours, tl.sign_for_working_hours))
    return {"sign": sign, "feedback": Limit(tl.feedback_hours, False),
            "resolve": _resolve_limit(settings, p["category"], urgent, day_hours)}


def _resolve_limit(settings: Settings, category: str, urgent: bool, day_hours: float) -> Limit:
    tl = settings.time_limits
    if urgent:
        return Limit(tl.urgent_hours, False)
    if category in tl.category_resolve_hours:
        return Limit(float(tl.category_resolve_hours[category]), False)
    if category in tl.category_resolve_working_days:
        return Limit(float(tl.category_resolve_working_days[category]) * day_hours, True)
    if category == "utilities":
        return Limit(tl.utilities_hours, False)
    return Limit(tl.resolve_working_days * day_hours, True)


def after(settings: Settings, start: datetime, limit: Limit, fraction: float = 1.0) -> datetime:
    """When `fraction` of `limit` counted from `start` is used up (in `start`'s time zone)."""
    hours = limit.hours * fraction
    if not limit.working:
        return start + timedelta(hours=hours)
    return calendar(settings).add_working_hours(start, hours).astimezone(start.tzinfo)


def start_fields(ctx: Ctx, p: dict) -> dict[str, object]:
    """The columns that start the clock now: deadlines, reminder times, the first escalation point
    (a dispatch writes them with its own UPDATE: see lifecycle.dispatch)."""
    fraction = ctx.settings.time_limits.remind_at_fraction
    due, remind = {}, {}
    for kind, limit in limits(ctx.settings, p).items():
        due[kind] = iso(after(ctx.settings, ctx.now, limit))
        remind[kind] = iso(after(ctx.settings, ctx.now, limit, fraction))
    return {"clock_started_at": iso(ctx.now), "sign_deadline": due["sign"],
            "feedback_deadline": due["feedback"], "resolve_deadline": due["resolve"],
            "sign_remind_at": remind["sign"], "feedback_remind_at": remind["feedback"],
            "resolve_remind_at": remind["resolve"], "feedback_at": None, "escalation_level": 0,
            "escalate_at": due["sign"], "followup_at": None, "autoclose_at": None}


def start(ctx: Ctx, p: dict) -> dict:
    """Start the clock now: store the deadlines, reminder times and the first escalation point."""
    _update(ctx, p["id"], **start_fields(ctx, p))
    return petitions.get(ctx.db, p["id"]) or p


def on_sign(ctx: Ctx, p: dict) -> None:
    """Signed for: the sign-for ladder is over; the next escalation waits for the resolution limit."""
    if p.get("clock_started_at"):
        _update(ctx, p["id"], sign_remind_at=None, escalation_level=0, escalate_at=p["resolve_deadline"])


def on_feedback(ctx: Ctx, p: dict) -> None:
    petitions.mark_feedback(ctx.db, p["id"], ctx.now)


def on_resolve(ctx: Ctx, p: dict) -> None:
    """Resolved: limits stop; the rating follow-up and the 未评价 closing are scheduled."""
    tl = ctx.settings.time_limits
    on_feedback(ctx, p)
    _update(ctx, p["id"], sign_remind_at=None, feedback_remind_at=None, resolve_remind_at=None,
            escalate_at=None, followup_at=iso(ctx.now + timedelta(hours=tl.followup_after_hours)),
            autoclose_at=iso(ctx.now + timedelta(days=tl.autoclose_days)))


def on_urge(ctx: Ctx, p: dict) -> None:
    """催办 brings the next escalation forward: the time left is multiplied by `urge_factor`."""
    if p["state"] not in RUNNING or not p.get("escalate_at") or p.get("escalation_level", 0) >= 2:
        return
    due = datetime.fromisoformat(p["escalate_at"])
    if due <= ctx.now:
        return
    sooner = ctx.now + (due - ctx.now) * max(0.0, min(1.0, ctx.settings.time_limits.urge_factor))
    _update(ctx, p["id"], escalate_at=iso(sooner))


def current_deadline(p: dict) -> tuple[str, str] | None:
    """('sign' | 'resolve', deadline) that the worker is up against now, or None."""
    if p["state"] == "assigned" and p.get("sign_deadline"):
        return "sign", p["sign_deadline"]
    if p["state"] in RUNNING and p.get("resolve_deadline"):
        return "resolve", p["resolve_deadline"]
    return None


def short(stamp: str) -> str:
    """'2026-11-25T11:00:00+08:00' -> '11-25 11:00'."""
    return stamp[5:16].replace("T", " ")


def deadline_line(p: dict) -> str:
    """The limits shown to the worker with a new petition."""
    if not p.get("sign_deadline"):
        return ""
    return t("clock.deadline_line", sign=short(p["sign_deadline"]), resolve=short(p["resolve_deadline"]))


def todo_mark(ctx: Ctx, p: dict) -> str:
    """' ⏰签收 11-25 11:00' (with 已超时 when passed) for one line of 待办."""
    due = current_deadline(p)
    if due is None:
        return ""
    kind, stamp = due
    late = datetime.fromisoformat(stamp) < ctx.now
    return t("clock.todo_due", kind=t(f"clock.kind_{kind}"), due=short(stamp),
             late=t("clock.overdue_mark") if late else "")


def todo_order(p: dict) -> tuple[int, int, float, int]:
    """Open urgent petitions first; then oldest deadline first; petitions without a running deadline
    last, by number."""
    due = current_deadline(p)
    first = 0 if is_urgent_open(p) else 1
    return (first, 0, datetime.fromisoformat(due[1]).timestamp(), p["id"]) if due else (first, 1, 0.0, p["id"])


def is_urgent_open(p: dict) -> bool:
    return bool(p.get("urgent")) and p["state"] in (*RUNNING, "submitted", "returned")


def _update(ctx: Ctx, pid: int, **fields: object) -> None:
    petitions.update(ctx.db, pid, **fields)
