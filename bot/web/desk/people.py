"""The admins' pages: accounts (set a password, unlock) and the audit log."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.keys import CLOCK
from bot.web.desk.auth import audit, check_password, hash_password, require_admin
from bot.web.desk.pages import flash, form_number, read, render, write
from language.texts import t
from storage import accounts

routes = web.RouteTableDef()
MIN_PASSWORD = 10
MAX_PASSWORD = 128   # what the login form reads


@routes.get("/accounts")
async def account_list(request: web.Request) -> web.Response:
    require_admin(request)
    return await render(request, "accounts.html", {"people": await read(request, accounts.listing),
                                                   "min_password": MIN_PASSWORD})


@routes.post("/accounts/{userid}/password")
async def set_password(request: web.Request) -> web.Response:
    require_admin(request)
    userid = request.match_info["userid"]
    password = str((await request.post()).get("password", ""))
    if await read(request, accounts.person, userid) is None:
        raise web.HTTPNotFound()
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        await flash(request, t("desk.accounts.too_short", count=MIN_PASSWORD))
        raise web.HTTPSeeOther("/admin/accounts")
    hashed = await asyncio.to_thread(hash_password, password)
    await write(request, accounts.set_password, userid, hashed, request.config_dict[CLOCK].now())
    await audit(request, "set_password", userid)
    await flash(request, t("desk.accounts.password_set", userid=userid))
    raise web.HTTPSeeOther("/admin/accounts")


@routes.post("/accounts/{userid}/unlock")
async def unlock(request: web.Request) -> web.Response:
    require_admin(request)
    userid = request.match_info["userid"]
    if await read(request, accounts.person, userid) is None:
        raise web.HTTPNotFound()
    await write(request, accounts.unlock, userid, request.config_dict[CLOCK].now())
    await audit(request, "unlock", userid)
    await flash(request, t("desk.accounts.unlocked", userid=userid))
    raise web.HTTPSeeOther("/admin/accounts")


@routes.get("/audit")
async def audit_log(request: web.Request) -> web.Response:
    require_admin(request)
    actor, action = request.query.get("actor", ""), request.query.get("action", "")
    before = form_number(request.query.get("before", "0")) or 0
    rows = await read(request, accounts.audit_log, actor, action, 200, before)
    return await render(request, "audit.html", {"rows": rows, "actor": actor, "action": action,
                                                "older": rows[-1]["id"] if len(rows) == 200 else 0})


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    """Who I am here, what I may see, and my own password."""
    viewer = request["viewer"]
    grids = await read(request, _grid_names, sorted(viewer.grids or ()))
    return await render(request, "me.html", {"grids": grids, "min_password": MIN_PASSWORD})


def _grid_names(db, ids: list[str]) -> list[str]:
    from storage import org

    names = {g["id"]: g["name"] for g in org.grids(db)}
    return [names.get(g, g) for g in ids]


@routes.post("/me/password")
async def change_own(request: web.Request) -> web.Response:
    viewer = request["viewer"]
    form = await request.post()
    current, new = str(form.get("current", ""))[:MAX_PASSWORD], str(form.get("new", ""))
    why = await check_password(request, viewer.userid, current)
    if why is not None:
        await flash(request, why)
        raise web.HTTPSeeOther("/admin/me")
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        await flash(request, t("desk.accounts.too_short", count=MIN_PASSWORD))
        raise web.HTTPSeeOther("/admin/me")
    hashed = await asyncio.to_thread(hash_password, new)
    await write(request, accounts.set_password, viewer.userid, hashed, request.config_dict[CLOCK].now())
    await audit(request, "set_password", viewer.userid)
    raise web.HTTPSeeOther("/admin/login")   # the new password ended every session, this one too
