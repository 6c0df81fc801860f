"""/admin/roster: staff, grids, buildings (group, households, coordinates) and the residents bound to
them (personal data: each view is audited), and importing an XLSX or CSV roster as `minsheng org import`
does: every problem shown with its row, and nothing imported while there is one."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from aiohttp import web
from sqlite_utils import Database

from bot.web.desk.auth import audit
from bot.web.desk.office.common import back, number, office, routes
from bot.web.desk.pages import flash, read, render, write
from language.texts import t
from storage import desk_office
from storage.roster import KINDS, Org, OrgError, parse_file

PATH = "/roster"
SUFFIXES = (".xlsx", ".csv")
RESIDENTS_PER_PAGE = 200
MAX_PAGE = 2000


def _page(db: Database, building: str | None, number: int = 1) -> dict:
    data = desk_office.roster(db)
    found = desk_office.bound_residents(db, building, RESIDENTS_PER_PAGE + 1, (number - 1) * RESIDENTS_PER_PAGE)
    data["residents"], data["more"] = found[:RESIDENTS_PER_PAGE], len(found) > RESIDENTS_PER_PAGE
    data["page"] = number
    data["building"] = building or ""
    data["names"] = {b["id"]: b["name"] for b in data["buildings"]}
    data["grid_names"] = {g["id"]: g["name"] for g in data["grids"]}
    data["staff_names"] = {s["userid"]: s["name"] for s in data["staff"]}
    return data


async def _render(request: web.Request, errors: list[str] | None = None) -> web.Response:
    building = request.query.get("building") or None
    page = max(1, min(number(request.query.get("page", "1")) or 1, MAX_PAGE))
    data = await read(request, _page, building, page)
    await audit(request, "view_roster", building or "", f"page {page}" if page > 1 else "")
    data["errors"] = errors or []
    return await render(request, "office_roster.html", data)


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    office(request)
    return await _render(request)


def _problems(exc: OrgError) -> list[str]:
    """The OrgError's lines, one per problem (its first line says how many and that nothing was imported)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) == 1:
        return lines
    bullet = t("org.problem_line", problem="")
    return [line.removeprefix(bullet).strip() for line in lines[1:]]


def _parse(data: bytes, suffix: str) -> Org:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"roster{suffix}"
        path.write_bytes(data)
        return parse_file(path)


@routes.post(PATH)
async def upload(request: web.Request) -> web.Response:
    office(request)
    form = await request.post()
    upload = form.get("file")
    name = getattr(upload, "filename", "") or ""
    suffix = Path(name).suffix.lower()
    if upload is None or isinstance(upload, str) or not name:
        await flash(request, t("desk_office.roster.no_file"))
        raise back(PATH)
    if suffix not in SUFFIXES:
        await flash(request, t("desk_office.roster.bad_format"))
        raise back(PATH)
    data = upload.file.read()   # within the app's client_max_size (1 MiB by default)
    try:
        parsed = await asyncio.to_thread(_parse, data, suffix)
        if parsed.staff and request["viewer"].role != "admin":
            # staff rows carry roles, and roles open the workbench's doors: an admin's to change
            await audit(request, "import_roster_refused", name, "staff rows")
            await flash(request, t("desk_office.roster.staff_rows_admin_only"))
            raise back(PATH)
        counts = await write(request, desk_office.import_roster, parsed)
    except OrgError as exc:
        return await _render(request, _problems(exc))
    sep = t("desk_office.roster.count_sep")
    said = sep.join(t("desk_office.roster.count", kind=t(f"plain.kinds.{kind}"), count=n)
                    for kind, n in counts.items() if kind in (*KINDS, "residents") and n)
    await audit(request, "import_roster", name, said)
    await flash(request, t("desk_office.roster.imported", counts=said))
    raise back(PATH)
