"""The login page: a password form for everyone with an account, WeCom web login where [wecom] is
configured, and in the demo (no real channel) a list of the roster to enter as."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from bot.keys import CLOCK, SETTINGS
from bot.web.desk import wecom_login
from bot.web.desk.auth import audit, check_password, current_viewer, session_csrf, start_session
from bot.web.desk.pages import read, render, write
from storage import accounts

routes = web.RouteTableDef()
MAX_FIELD = 128


def _demo(request: web.Request) -> bool:
    return not request.config_dict[SETTINGS].has_real_channel


async def _page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    await session_csrf(request)
    people = await read(request, accounts.listing) if _demo(request) else []
    return await render(request, "login.html", {
        "error": error, "demo_people": people, "wecom": wecom_login.configured(request),
        "next": request.query.get("next", ""), "userid": request.get("tried", "")}, status=status)


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    if await current_viewer(request) is not None:
        raise web.HTTPSeeOther("/admin/orders")
    return await _page(request)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    userid = str(form.get("userid", "")).strip()[:MAX_FIELD]
    password = str(form.get("password", ""))[:MAX_FIELD]
    request["tried"] = userid
    why = await check_password(request, userid, password)
    if why is not None:
        return await _page(request, why, status=401)
    return await start_session(request, userid, "password")


@routes.post("/login/demo")
async def demo_login(request: web.Request) -> web.Response:
    """The demo only: enter as anyone on the roster, as the simulator lets anyone talk as anyone."""
    if not _demo(request):
        raise web.HTTPNotFound()
    userid = str((await request.post()).get("userid", ""))[:MAX_FIELD]
    if await read(request, accounts.person, userid) is None:
        return await _page(request, status=400)
    return await start_session(request, userid, "demo")


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    """The cookie is dropped, and the person's sessions end on the server too (a copied cookie is
    worth nothing after it): logging out on one desk logs out on every desk."""
    await write(request, accounts.end_sessions, request["viewer"].userid, request.config_dict[CLOCK].now())
    await audit(request, "logout")
    (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/admin/login")
