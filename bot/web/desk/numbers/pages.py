"""/admin/numbers (统计), its CSV exports, and /admin/map.

A worker or grid head sees the numbers and buildings of their own grid(s); staff and admin the whole
community with every grid and worker. Every number comes from storage.desk_stats (rollups and covering
indexes: no scan of the petitions), read on a read-only connection in a thread."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlite_utils import Database

from bot.keys import CLOCK, SETTINGS
from bot.web.desk.auth import Viewer
from bot.web.desk.numbers.tables import Names, Table, as_csv, charts, tables
from bot.web.desk.pages import form_date, read, render
from language.texts import t
from storage import desk_stats, org

routes = web.RouteTableDef()

DEFAULT_WEEKS = 12
MAX_WEEKS = 156      # three years of weeks at most in one view
EXPORTS = ("summary", "trend", "grids", "workers", "categories", "satisfaction", "buildings")
CHARTED = ("trend", "grids", "workers", "categories", "satisfaction")


def period(query: dict, today: date) -> tuple[date, date]:
    """The whole weeks of the view: [first Monday, the Monday after the last week). Without from/to (or
    with ones that are not dates): the last DEFAULT_WEEKS weeks, this one included."""
    last = form_date(query.get("to")) or today
    first = form_date(query.get("from")) or desk_stats.monday(last) - timedelta(weeks=DEFAULT_WEEKS - 1)
    start, end = desk_stats.monday(min(first, last)), desk_stats.monday(max(first, last)) + timedelta(weeks=1)
    if end - start > timedelta(weeks=MAX_WEEKS):
        start = end - timedelta(weeks=MAX_WEEKS)
    return start, end


def _names(db: Database) -> Names:
    return Names({g["id"]: g["name"] for g in org.grids(db)}, {s["userid"]: s["name"] for s in org.staff_list(db)})


def _gather(db: Database, grids: desk_stats.Scope, start: date, end: date, tz: ZoneInfo, now: datetime
            ) -> tuple[dict, Names]:
    return desk_stats.numbers(db, grids, start, end, tz, now), _names(db)


async def _numbers(request: web.Request) -> tuple[dict[str, Table], dict, date, date]:
    viewer: Viewer = request["viewer"]
    settings = request.config_dict[SETTINGS]
    tz = ZoneInfo(settings.timezone)
    now = request.config_dict[CLOCK].now()
    start, end = period(dict(request.query), now.astimezone(tz).date())
    n, names = await read(request, _gather, viewer.grids, start, end, tz, now)
    return tables(n, names), charts(n, names), start, end


@routes.get("/numbers")
async def numbers_page(request: web.Request) -> web.Response:
    made, drawn, start, end = await _numbers(request)
    query = f"from={start.isoformat()}&to={(end - timedelta(days=1)).isoformat()}"
    return await render(request, "numbers.html", {
        "start": start, "last": end - timedelta(days=1), "query": query, "summary": made.pop("summary"),
        "sections": [(made[name], name in drawn) for name in CHARTED], "charts": drawn})


def _download(table: Table, stem: str) -> web.Response:
    filename = f"{stem}.csv"
    return web.Response(body=as_csv(table), content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"})


@routes.get("/numbers/export")
async def export(request: web.Request) -> web.Response:
    name = request.query.get("table", "")
    if name not in EXPORTS:
        raise web.HTTPNotFound(text=t("desk_numbers.no_such_table"))
    if name == "buildings":
        return _download(await _buildings_table(request), "buildings")
    made, _, start, end = await _numbers(request)
    return _download(made[name], f"numbers-{name}-{start.isoformat()}-{(end - timedelta(days=1)).isoformat()}")


# --- the map ---------------------------------------------------------------------------------------

def _map_rows(db: Database, grids: desk_stats.Scope, now: datetime) -> tuple[list[dict], Names]:
    return desk_stats.building_map(db, grids, now), _names(db)


async def _buildings(request: web.Request) -> tuple[list[dict], Names]:
    viewer: Viewer = request["viewer"]
    return await read(request, _map_rows, viewer.grids, request.config_dict[CLOCK].now())


def buildings_table(buildings: list[dict], names: Names) -> Table:
    h = "desk_numbers.col."
    rows: list[list[str | int]] = [
        [b["name"], names.grid(b["grid"]), b["open"], b["urgent"], b["overdue"],
         t("desk_numbers.map.no_place") if b["lat"] is None or b["lng"] is None else f"{b['lat']:.5f}, {b['lng']:.5f}"]
        for b in buildings]
    return Table("buildings", [t(h + k) for k in ("building", "grid", "open", "urgent", "overdue", "place")], rows)


async def _buildings_table(request: web.Request) -> Table:
    buildings, names = await _buildings(request)
    return buildings_table(buildings, names)


@routes.get("/map")
async def map_page(request: web.Request) -> web.Response:
    buildings, names = await _buildings(request)
    placed = [{"name": b["name"], "lat": b["lat"], "lng": b["lng"], "open": b["open"], "urgent": b["urgent"],
               "overdue": b["overdue"]} for b in buildings if b["lat"] is not None and b["lng"] is not None]
    tiles = request.config_dict[SETTINGS].desk.map_tiles
    data = {"tiles": tiles, "buildings": placed,
            "labels": {k: t(f"desk_numbers.col.{k}") for k in ("open", "urgent", "overdue")},
            "attribution": t("desk_numbers.map.attribution") if tiles else ""}
    return await render(request, "map.html", {"table": buildings_table(buildings, names), "map": data,
                                              "tiles": bool(tiles), "placed": len(placed)})
