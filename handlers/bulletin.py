"""The weekly report (定期通报) in words: the numbers of storage.stats with grid and worker names."""

from __future__ import annotations

from sqlite_utils import Database

from handlers import plain
from handlers.deadlines import short
from handlers.lifecycle import category_name
from language.texts import t


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{max(v, 0.0) * 100 + 0.0:.1f}%"   # never "-0.0%"


def _hours(v: float | None) -> str:
    return "—" if v is None else t("clock.report.hours", hours=round(max(v, 0.0), 2) + 0.0)   # never "-0.0"


def _numbers(n: dict) -> str:
    return t("clock.report.numbers", received=n["received"], response=_pct(n["response_rate"]),
             completion=_pct(n["completion_rate"]), on_time=_pct(n["on_time_rate"]),
             satisfaction=_pct(n["satisfaction_rate"]), sign_hours=_hours(n["avg_sign_for_hours"]),
             resolve_hours=_hours(n["avg_resolution_hours"]), overdue=n["overdue"])


_grid_name = plain.grid_name      # a grid or person no longer on the roster: words, never its id
_staff_name = plain.staff_name


def render(db: Database, numbers: dict, since: str, until: str) -> str:
    lines = [t("clock.report.title", since=since, until=until),
             t("clock.report.community", numbers=_numbers(numbers["community"])), t("clock.report.grids")]
    lines += [t("clock.report.line", name=_grid_name(db, g), numbers=_numbers(n))
              for g, n in numbers["grids"].items()]
    lines.append(t("clock.report.workers"))
    lines += [t("clock.report.line", name=_staff_name(db, w), numbers=_numbers(n))
              for w, n in numbers["workers"].items()]
    lines.append(t("clock.report.ranking"))
    lines += [t("clock.report.rank_line", rank=r["rank"], name=_staff_name(db, r["id"]),
                score="—" if r["score"] is None else r["score"])
              for r in numbers["ranking"]["workers"]] or [t("clock.report.none")]
    top = [t("plain.category_count", name=category_name(c), count=n) for c, n in numbers.get("top_categories", []) if n]
    if top:
        lines.append(t("plain.top_categories", categories=t("cli.list_sep").join(top)))
    shown, count = numbers["overdue"], numbers["overdue_count"]
    lines.append(t("clock.report.overdue", count=count))
    lines += [t("clock.report.overdue_line", id=o["id"], grid=_grid_name(db, o["grid"]),
                worker=_staff_name(db, o["worker"]), category=category_name(o["category"]),
                kind=t(f"clock.kind_{o['kind']}"), due=short(o["deadline"]))
              for o in shown] or [t("clock.report.none")]
    if count > len(shown):
        lines.append(t("clock.report.overdue_more", shown=len(shown), more=count - len(shown)))
    return "\n".join(lines)
