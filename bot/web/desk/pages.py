"""Rendering and reading for the workbench's pages: Jinja2 templates with the page globals, reads on
read-only connections in threads (never on the event loop or the writer), flash messages."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from bot.keys import INTAKE
from handlers import deadlines
from storage.db import open_reader

T = TypeVar("T")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"
READERS = 4   # pages read at most this many at once; more wait their turn


class Readers:
    """Read-only connections, one per reading thread, opened on first use and closed with the app."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pool = ThreadPoolExecutor(READERS, thread_name_prefix="desk-read")
        self.local = threading.local()
        self.opened: list = []
        self.lock = threading.Lock()

    def _db(self):
        db = getattr(self.local, "db", None)
        if db is None:
            db = open_reader(self.path)
            self.local.db = db
            with self.lock:
                self.opened.append(db)
        return db

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn` on this thread's connection; a PostgreSQL connection found lost (the server restarted)
        is opened again and `fn` read once more."""
        db = self._db()
        try:
            return fn(db, *args)
        except sqlite3.OperationalError:
            if not getattr(db.conn, "broken", False):
                raise
            db.conn.reconnect()
            return fn(db, *args)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for db in self.opened:
            db.conn.close()


READERS_KEY = web.AppKey("desk_readers", Readers)


async def read(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    """`fn(db, *args)` on a read-only connection in a reading thread (an in-memory store has only the
    writer's connection: then on the writer thread)."""
    intake = request.config_dict[INTAKE]
    readers = request.config_dict.get(READERS_KEY)
    if readers is None:
        return await intake.writer.call(fn, intake.db, *args)
    return await asyncio.get_running_loop().run_in_executor(readers.pool, lambda: readers.run(fn, *args))


async def write(request: web.Request, fn: Callable[..., T], *args: Any) -> T:
    """`fn(db, *args)` on the single writer thread: a page's write that is no chat command (an audit
    entry, a password, a roster import); chat commands go through `act`."""
    intake = request.config_dict[INTAKE]
    return await intake.writer.call(fn, intake.db, *args)


async def flash(request: web.Request, text: str) -> None:
    """Show `text` once, on the next page this person sees (after a POST's redirect)."""
    session = await get_session(request)
    session["flash"] = [*session.get("flash", []), text][-5:]


async def render(request: web.Request, template: str, context: dict[str, Any] | None = None,
                 status: int = 200) -> web.Response:
    """The page `template` with the globals every page has: t, viewer, csrf, flashes, static, when."""
    session = await get_session(request)
    flashes = session.pop("flash", []) if not request.headers.get("HX-Request") else []
    page = {"viewer": request.get("viewer"), "csrf": session.get("csrf", ""), "flashes": flashes,
            "path": request.path, **(context or {})}
    return aiohttp_jinja2.render_template(template, request, page, status=status)


def static_url(path: str) -> str:
    return f"/admin/static/{path}"


def when(iso: str | None) -> str:
    """A stored ISO time as 'MM-DD HH:MM' (empty for none)."""
    return deadlines.short(iso or "")


FIRST_YEAR, LAST_YEAR = 2000, 2099   # dates a form may name; others are as if not given
MAX_NUMBER = 10**9                   # numbers a form or a URL may name (ids, pages)


def form_date(text: str | None) -> date | None:
    """A YYYY-MM-DD from a form or a query string, within FIRST_YEAR..LAST_YEAR; else None."""
    try:
        day = date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None
    return day if day and FIRST_YEAR <= day.year <= LAST_YEAR else None


def form_number(text: str | None) -> int | None:
    """A whole number from a form, a query string or a URL, 0..MAX_NUMBER; else None."""
    try:
        n = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return n if 0 <= n <= MAX_NUMBER else None
