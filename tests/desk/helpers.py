"""Logging in to the workbench from tests: a password set for a roster userid, then the login form."""

from __future__ import annotations

import re

from bot.clock import Clock
from bot.web.desk.auth import hash_password
from storage import accounts
from storage.db import transaction

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def set_password(db, userid: str, password: str = PASSWORD) -> None:
    with transaction(db):
        accounts.set_password(db, userid, hash_password(password), Clock().now())


async def csrf_of(client, path: str = "/admin/login") -> str:
    """The CSRF token of the form on `path` (the session's)."""
    page = await (await client.get(path)).text()
    m = CSRF.search(page)
    assert m, f"no CSRF field on {path}"
    return m.group(1)


async def logged_in(client, db, userid: str, password: str = PASSWORD) -> str:
    """Log `userid` in (setting `password` first); returns the session's CSRF token for later POSTs."""
    set_password(db, userid, password)
    token = await csrf_of(client)
    resp = await client.post("/admin/login", data={"userid": userid, "password": password, "_csrf": token},
                             allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return await csrf_of(client, "/admin/me")


async def desk_page(client, db, path: str, userid: str = "sun.hong") -> str:
    """A workbench page, logging `userid` in first when needed."""
    res = await client.get(path, allow_redirects=False)
    if res.status == 303:
        await logged_in(client, db, userid)
        res = await client.get(path, allow_redirects=False)
    assert res.status == 200, res.status
    return await res.text()

