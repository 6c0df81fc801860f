"""The list of petitions (the workbench's home), its board of emergencies and overdue petitions, and the
ledger of the list as it is filtered.

The filter form is a plain GET form: without JavaScript it loads /admin/orders?<filters>; with htmx the
same URL answers with the list body alone (an `HX-Request` that is not a history restore) and the
address bar follows (hx-push-url), so a filtered list can always be bookmarked and shared."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlite_utils import Database

from bot.keys import CLOCK, INTAKE, SETTINGS
from bot.web.desk.auth import NO_STORE, audit
from bot.web.desk.orders import query, routes
from bot.web.desk.orders.present import row
from bot.web.desk.pages import read, render
from handlers import plain
from language.rules import CATEGORIES
from language.texts import t
from storage import ledger, org, workorder_detail, workorders
from storage.workorders import COUNT_CAP, MAX_PAGE, PER_PAGE, Filters

FAMILY_NAMES = ("open", "fixed", "closed", "all")


def _list(db: Database, f: Filters, scope: frozenset[str] | None, now: datetime, number: int) -> dict:
    found = workorders.page(db, f, scope, now, number)
    # a short first page is the whole list: no second walk to count it
    total = len(found) if number == 1 and len(found) < PER_PAGE else workorders.count(db, f, scope, now)
    return {"rows": [row(p, now) for p in found], "total": total}


def _board(db: Database, scope: frozenset[str] | None, now: datetime) -> dict:
    """Emergencies and overdue petitions; for the office (every grid) also what waits for it to act."""
    late, n = workorder_detail.overdue(db, scope, now)
    waiting = workorder_detail.triage(db) if scope is None else []
    return {"urgent": [row(p, now) for p in workorder_detail.urgent_open(db, scope)],
            "overdue": [row(p, now) for p in late], "overdue_total": n, "at": plain.when(now.isoformat())[11:],
            "triage": [row(p, now) for p in waiting], "office": scope is None}


def _health(request: web.Request) -> list[str]:
    """For the office: messages received but not filed yet, and what the intake journal reports (no
    message content); nothing when all is well."""
    if not request["viewer"].office:
        return []
    intake = request.config_dict[INTAKE]
    backlog = intake.backlog
    return ([t("desk_orders.backlog", count=backlog)] if backlog else []) + intake.journal.staff_warnings()


async def _board_of(request: web.Request) -> dict:
    now = request.config_dict[CLOCK].now()
    return {**await read(request, _board, _scope(request), now), "health": _health(request)}


def _choices(db: Database, scope: frozenset[str] | None) -> dict:
    """What the filter's selects offer: the viewer's grids and their buildings, every category."""
    grids = [g for g in org.grids(db) if scope is None or g["id"] in scope]
    buildings = [b for b in org.buildings(db) if scope is None or b["grid"] in scope]
    return {"grids": grids, "buildings": buildings, "families": FAMILY_NAMES,
            "categories": [(c, plain.category_name(c)) for c in CATEGORIES], "sorts": workorders.SORTS}


def _filters(request: web.Request) -> tuple[Filters, int]:
    return query.read(request.query, ZoneInfo(request.config_dict[SETTINGS].timezone))


def _scope(request: web.Request) -> frozenset[str] | None:
    return request["viewer"].grids


def _page_links(f: Filters, number: int, shown: int) -> dict:
    return {"number": number,
            "prev": query.link(f, page=number - 1) if number > 1 else None,
            "next": query.link(f, page=number + 1) if shown == PER_PAGE and number < MAX_PAGE else None,
            "last": shown == PER_PAGE and number >= MAX_PAGE}


async def _rows_context(request: web.Request) -> dict:
    f, number = _filters(request)
    now = request.config_dict[CLOCK].now()
    found = await read(request, _list, f, _scope(request), now, number)
    return {**found, "f": f, "values": query.values(f), "cap": COUNT_CAP, "pages": _page_links(f, number, len(found["rows"])),
            "xlsx": query.link(f, format="xlsx"), "csv": query.link(f, format="csv")}


def _partial(request: web.Request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


@routes.get("/orders")
async def orders(request: web.Request) -> web.StreamResponse:
    context = await _rows_context(request)
    if _partial(request):
        response = await render(request, "orders_rows.html", context)
        response.headers["HX-Push-Url"] = "/admin/orders" + query.link(context["f"])   # without empty fields
    else:
        context["board"] = await _board_of(request)
        context["choices"] = await read(request, _choices, _scope(request))
        response = await render(request, "orders.html", context)
    response.headers["Vary"] = "HX-Request"
    return response


@routes.get("/orders/board")
async def board(request: web.Request) -> web.StreamResponse:
    return await render(request, "orders_board.html", {"board": await _board_of(request)})


def _export(db: Database, fmt: str, out: str, f: Filters, scope: frozenset[str] | None, now: datetime,
            phones: bool) -> None:
    ledger.export(db, fmt, out, now=now, only=workorders.ids_where(db, f, scope, now), phones=phones, grids=scope)


@routes.get("/orders/export")
async def export(request: web.Request) -> web.StreamResponse:
    """The ledger of the list as filtered (and of the viewer's grids); phones for the office only."""
    fmt = request.query.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise web.HTTPBadRequest()
    f, _number = _filters(request)
    viewer = request["viewer"]
    now = request.config_dict[CLOCK].now()
    folder = Path(tempfile.mkdtemp(prefix="minsheng-ledger-"))
    out = folder / f"ledger.{fmt}"
    try:
        await read(request, _export, fmt, str(out), f, _scope(request), now, viewer.office)
        await audit(request, "export", fmt, query.link(f))
        return await _send(request, out, fmt, now)
    finally:
        out.unlink(missing_ok=True)
        folder.rmdir()


async def _send(request: web.Request, path: Path, fmt: str, now: datetime) -> web.StreamResponse:
    """The file in chunks read off the event loop (a ledger of many petitions is large)."""
    response = web.StreamResponse(headers={
        "Content-Type": _KINDS[fmt],
        "Content-Disposition": f'attachment; filename="ledger-{now.strftime("%Y%m%d-%H%M")}.{fmt}"',
        **NO_STORE})
    response.content_length = path.stat().st_size
    await response.prepare(request)
    with path.open("rb") as fh:
        while chunk := await asyncio.to_thread(fh.read, 1 << 20):
            await response.write(chunk)
    await response.write_eof()
    return response


_KINDS = {"csv": "text/csv; charset=utf-8",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
