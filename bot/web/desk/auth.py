"""Who is at the desk: per-person login (argon2 passwords; WeCom web login in wecom_login.py),
encrypted-cookie sessions, CSRF on every POST, lockout after repeated failures, roles, the audit log."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import get_session, new_session
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.keys import CLOCK, SETTINGS
from bot.logsafe import short
from bot.web.desk.pages import read, render, write
from language.texts import t
from storage import accounts

log = logging.getLogger("minsheng.desk")
HASHER = PasswordHasher()
OFFICE_ROLES = ("staff", "admin")
OPEN_PATHS = ("/admin/login", "/admin/static/")
CSRF_FIELD = "_csrf"
# every page may show residents' data: no cache keeps it, no other page frames it
NO_STORE = {"Cache-Control": "no-store"}
FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
CSRF_HEADER = "X-CSRF-Token"
# verified against when the userid has no password, so a wrong userid costs what a wrong password does
_DUMMY = HASHER.hash(secrets.token_urlsafe(16))


ADDRESS_FAILURES = 20                    # wrong logins from one address within ADDRESS_WINDOW ...
ADDRESS_WINDOW = timedelta(minutes=15)   # ... make it wait (one password tried on many userids)


class Refused(Exception):
    """The viewer may not see or do this: the middleware answers with the refusal page (403)."""


@dataclass(frozen=True)
class Viewer:
    userid: str
    name: str
    role: str                          # worker | head | staff | admin
    grids: frozenset[str] | None       # None: every grid

    @property
    def office(self) -> bool:
        return self.role in OFFICE_ROLES

    def sees_grid(self, grid: str | None) -> bool:
        return self.grids is None or (grid is not None and grid in self.grids)


def viewer_from(row: dict) -> Viewer:
    grids = None if row["role"] in OFFICE_ROLES else frozenset(row["grids"])
    return Viewer(row["userid"], row["name"], row["role"], grids)


def require_office(request: web.Request) -> Viewer:
    viewer: Viewer = request["viewer"]
    if not viewer.office:
        raise Refused()
    return viewer


def require_admin(request: web.Request) -> Viewer:
    viewer: Viewer = request["viewer"]
    if viewer.role != "admin":
        raise Refused()
    return viewer


async def audit(request: web.Request, action: str, subject: str = "", detail: str = "") -> None:
    """Record that the viewer (or, before login, `subject`) did `action`: seeing or exporting personal
    data, logging in or out, a lockout, a password change."""
    viewer = request.get("viewer")
    actor = viewer.userid if viewer is not None else subject
    now = request.config_dict[CLOCK].now()
    await write(request, accounts.audit, now, actor, action, subject, detail, request.remote or "")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def session_csrf(request: web.Request) -> str:
    session = await get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


async def check_password(request: web.Request, userid: str, password: str) -> str | None:
    """None when `userid` may log in with `password`; else why not (a catalogue text). A locked
    account stays locked whatever the password; every failure counts towards the lockout, and towards
    its address's: too many from one address and it waits, whatever userid it tries (counted in the
    store, so across every instance)."""
    desk = request.config_dict[SETTINGS].desk
    now = request.config_dict[CLOCK].now()
    address = request.remote or ""
    if await read(request, accounts.address_failures, address, now - ADDRESS_WINDOW) >= ADDRESS_FAILURES:
        log.warning("desk: login from %s refused: %s wrong logins within %s", request.remote, ADDRESS_FAILURES,
                    ADDRESS_WINDOW)
        return t("desk.login.slow_down", minutes=int(ADDRESS_WINDOW.total_seconds() // 60))
    row = await read(request, accounts.account, userid)
    locked = row and row["locked_until"] and row["locked_until"] > now.isoformat(timespec="seconds")
    ok = await asyncio.to_thread(_verify, row["password_hash"] if row else None, password)
    if locked:
        return t("desk.login.locked", minutes=int(desk.lockout_minutes))
    if ok:
        return None
    await write(request, accounts.address_failed, address, now, now - ADDRESS_WINDOW)
    if row is not None:
        until = now + timedelta(minutes=desk.lockout_minutes)
        if await write(request, accounts.failed, userid, now, desk.lockout_failures, until):
            log.warning("desk: account %s locked after %s wrong passwords", short(userid), desk.lockout_failures)
            await audit(request, "lockout", userid)
            return t("desk.login.locked", minutes=int(desk.lockout_minutes))
    await audit(request, "login_failed", userid)
    return t("desk.login.wrong")


def _logged_in(db, userid: str, now) -> dict | None:
    """On the writer: the failure count cleared; the account as it stands (its session epoch)."""
    accounts.succeeded(db, userid, now)
    return accounts.account(db, userid)


async def start_session(request: web.Request, userid: str, how: str, target: str | None = None) -> web.Response:
    """A fresh session for `userid` (a new CSRF token: nothing from before the login carries over)."""
    row = await write(request, _logged_in, userid, request.config_dict[CLOCK].now())
    session = await new_session(request)
    session.update({"user": userid, "epoch": row["epoch"] if row else 0, "at": time.time(),
                    "csrf": secrets.token_urlsafe(32)})
    await audit(request, "login", userid, how)
    target = request.query.get("next", "") if target is None else target
    if not target.startswith("/admin/") or target.startswith("//"):
        target = "/admin/orders"
    raise web.HTTPSeeOther(target)


async def current_viewer(request: web.Request) -> Viewer | None:
    """The logged-in person, read again from the roster on every request (a role change or removal
    takes effect at once); None when not logged in, expired, or their password changed since."""
    session = await get_session(request)
    userid = session.get("user")
    if not userid:
        return None
    hours = request.config_dict[SETTINGS].desk.session_hours
    if time.time() - float(session.get("at", 0)) > hours * 3600:
        session.invalidate()
        return None
    def load(db):
        return accounts.person(db, userid), accounts.account(db, userid)

    person, account = await read(request, load)
    if person is None or (account and account["epoch"] != session.get("epoch", 0)):
        session.invalidate()
        return None
    return viewer_from(person)


def _open(path: str) -> bool:
    return any(path == p or path.startswith(p) for p in OPEN_PATHS)


async def _csrf_ok(request: web.Request) -> bool:
    session = await get_session(request)
    expected = session.get("csrf", "")
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        given = str((await request.post()).get(CSRF_FIELD, ""))
    return bool(expected) and secrets.compare_digest(given, expected)


@web.middleware
async def guard(request: web.Request, handler):
    """CSRF on every state-changing request; a logged-in viewer for every page but login and static."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and not await _csrf_ok(request):
        log.warning("desk: %s %s refused: missing or wrong CSRF token", request.method, request.path)
        return web.Response(status=403, text=t("desk.csrf_refused"))
    if not _open(request.path):
        viewer = await current_viewer(request)
        if viewer is None:
            if request.headers.get("HX-Request"):
                return web.Response(status=401, headers={"HX-Redirect": "/admin/login"})
            if request.method != "GET":
                return web.Response(status=401, text=t("desk.login.needed"))
            raise web.HTTPSeeOther(f"/admin/login?next={quote(str(request.rel_url), safe='/')}")
        request["viewer"] = viewer
    try:
        response = await handler(request)
    except Refused:
        response = await render(request, "refused.html", status=403)
    if not response.prepared:    # a streamed download set its own before it started
        response.headers.update(FRAMING)
        if not request.path.startswith("/admin/static/"):
            response.headers.update(NO_STORE)
    return response
