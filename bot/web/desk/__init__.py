"""The community workbench (社区工作台) at /admin: an aiohttp sub-application with its own middlewares
(encrypted-cookie sessions, CSRF and login in `auth.guard`), Jinja2 templates with autoescape, and
its static files (vendored htmx and ECharts) served by the package."""

from __future__ import annotations

import base64
import logging
import warnings
from collections.abc import AsyncIterator

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.web.desk import auth, login, numbers, office, orders, people, wecom_login
from bot.web.desk.pages import READERS_KEY, STATIC, TEMPLATES, Readers, static_url, when
from language.texts import has, t

log = logging.getLogger("minsheng.desk")
COOKIE = "minsheng_desk"


def _secret(settings: Settings) -> bytes:
    """The Fernet key for the session cookies; without one configured, a new key for this run."""
    key = settings.desk.session_secret
    if not key:
        log.info("desk: [desk] session_secret is not set; logins last until this process stops")
        return base64.urlsafe_b64decode(Fernet.generate_key())
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ValueError("[desk] session_secret must be a Fernet key (32 url-safe base64 bytes)")
    return raw


async def _index(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/admin/orders")


def create(settings: Settings) -> web.Application:
    # aiohttp-session keeps its storage under a string key on each request: a recommendation, not a fault
    warnings.filterwarnings("ignore", category=web.NotAppKeyWarning)
    desk = web.Application()
    secure = settings.server.public_url.startswith("https://")
    setup_session(desk, EncryptedCookieStorage(
        _secret(settings), cookie_name=COOKIE, max_age=int(settings.desk.session_hours * 3600),
        httponly=True, secure=secure, samesite="Lax", path="/admin"))
    desk.middlewares.append(auth.guard)
    env = aiohttp_jinja2.setup(desk, loader=jinja2.FileSystemLoader(TEMPLATES),
                               autoescape=jinja2.select_autoescape(default=True))
    env.globals.update(t=t, t_has=has, static=static_url, when=when)
    desk.router.add_get("/", _index)
    for module in (login, wecom_login, people, orders, numbers, office):
        desk.router.add_routes(module.routes)
    desk.router.add_static("/static", STATIC, append_version=False)

    if settings.storage.target != ":memory:":
        desk[READERS_KEY] = Readers(settings.storage.target)   # threads and connections open on first read

    async def readers(app: web.Application) -> AsyncIterator[None]:
        yield
        if READERS_KEY in app:
            app[READERS_KEY].close()

    desk.cleanup_ctx.append(readers)
    return desk


def setup(app: web.Application, settings: Settings) -> None:
    app.router.add_get("/admin", _index)
    app.add_subapp("/admin", create(settings))
