"""The former staff dashboard (/admin/overview): the numbers and open work, until they have their own pages\n(what could not be delivered, what came in for staff, wishes and suggestions: bot/web/desk/office/)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiohttp import web

from bot.keys import INTAKE
from bot.web.desk.auth import require_office
from handlers import deadlines, plain
from language.texts import t
from storage import org, petitions, states, stats

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}}
h1{{color:#07c160}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ddd;
padding:.3em .6em;text-align:left;vertical-align:top}}th{{background:#f3f3f3}}.warn{{color:#c0392b}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"""


def _table(headers: list[str], rows: list[list[object]]) -> str:
    if not rows:
        return f"<p>{escape(t('admin.none'))}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c if c is not None else ''))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _urgent(db) -> list[str]:
    """Open emergencies, first of the work on the page, with their sign-for limit and whether it is kept
    (past the limit unsigned: the clock has escalated it)."""
    rows = petitions.open_urgent(db)
    if not rows:
        return []

    def signed(p: dict) -> str:
        if p["state"] != "assigned" and p["accepted_at"]:
            return t("safety.admin.signed_yes")
        return t("safety.admin.signed_late" if p["escalation_level"] else "safety.admin.signed_no")

    mark = t("petition.urgent_mark")
    return [f"<h2 class='warn'>{escape(t('safety.admin.urgent'))}</h2>", _table(
        [*_heads("number", "building", "category", "state", "worker"), t("safety.admin.sign_deadline"),
         t("safety.admin.signed"), t("admin.head.content")],
        [[f"{mark}{p['id']}", plain.building_name(db, p["building"]), plain.category_name(p["category"]),
          states.label(p["state"]), plain.staff_name(db, p["worker"]),
          deadlines.short(p["sign_deadline"] or ""), signed(p), p["text"][:40]] for p in rows])]


def _heads(*keys: str) -> list[str]:
    """Column headings from the catalogue ([admin.head])."""
    return [t(f"admin.head.{k}") for k in keys]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def render(db, backlog: int = 0, warnings: Sequence[str] = ()) -> str:
    """The dashboard; `backlog`: messages acknowledged and journalled but not handled yet; `warnings`:
    what the intake journal reports (`IntakeJournal.staff_warnings`)."""
    numbers = stats.summary(db)
    grid_names = {g["id"]: g["name"] for g in org.grids(db)}
    c = numbers["community"]
    parts = [f"<h2>{escape(t('admin.numbers'))}</h2>", _table(
        _heads("scope", "received", "open", "response_rate", "completion_rate", "satisfaction_rate"),
        [[t("admin.community"), c["received"], c["open"], _pct(c["response_rate"]), _pct(c["completion_rate"]),
          _pct(c["satisfaction_rate"])]]
        + [[grid_names.get(g, g), n["received"], n["open"], _pct(n["response_rate"]), _pct(n["completion_rate"]),
            _pct(n["satisfaction_rate"])] for g, n in numbers["grids"].items()])]
    if backlog:
        parts.append(f"<p class='warn'>{escape(t('admin.backlog', count=backlog))}</p>")
    parts += [f"<p class='warn'>{escape(w)}</p>" for w in warnings]
    parts += _urgent(db)
    open_rows = [[p["id"], plain.building_name(db, p["building"]), plain.category_name(p["category"]),
                  states.label(p["state"]), plain.staff_name(db, p["worker"]), p["text"][:40]]
                 for p in petitions.returned_queue(db)]
    parts += [f"<h2>{escape(t('admin.triage'))}</h2>",
              _table(_heads("number", "building", "category", "state", "worker", "content"), open_rows)]
    return PAGE.format(title=escape(t("admin.title")), body="".join(parts))


routes = web.RouteTableDef()


@routes.get("/overview")
async def admin(request: web.Request) -> web.Response:
    """The former one-page dashboard, for the office, until its parts have their own pages."""
    require_office(request)
    intake = request.config_dict[INTAKE]
    page = await intake.writer.call(lambda: render(intake.db, intake.backlog, intake.journal.staff_warnings()))
    return web.Response(text=page, content_type="text/html")
