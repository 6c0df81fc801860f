"""What the office pages share: their route table, the office-only gate, and answering a form by
acting like chat (the bot's replies flashed, then POST → 303 → GET)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from multidict import MultiDictProxy

from bot.keys import CLOCK
from bot.web.desk.act import act
from bot.web.desk.auth import require_office
from bot.web.desk.pages import flash, form_number
from language.texts import t

routes = web.RouteTableDef()   # paths inside the workbench sub-app, mounted at MOUNT
MOUNT = "/admin"


def office(request: web.Request) -> None:
    """Staff and admin only: a worker or a grid head gets the 403 page."""
    require_office(request)


def now(request: web.Request) -> datetime:
    return request.config_dict[CLOCK].now()


async def command(request: web.Request, name: str, *parts: str) -> list[str]:
    """Send the chat command `name` as the viewer (same intake, router and handler as WeCom) and flash
    what the bot answered."""
    replies = await act(request, name, *parts)
    for text in replies or [t("desk_office.no_reply")]:
        await flash(request, text)
    return replies


def back(path: str) -> web.HTTPSeeOther:
    """The redirect after a POST to the page at `path` (a route of the sub-app mounted at /admin)."""
    return web.HTTPSeeOther(MOUNT + path)


async def missing(request: web.Request, path: str) -> web.HTTPSeeOther:
    await flash(request, t("desk_office.missing"))
    return back(path)


def field(form: MultiDictProxy, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def number(text: str) -> int | None:
    return form_number(text)


def building_names(buildings: list[dict]) -> dict[str, str]:
    return {b["id"]: b["name"] for b in buildings}


def left(due: str | None, at: datetime) -> tuple[str, bool]:
    """('还剩 2 天 3 小时' / '已超期 5 小时', overdue) for a stored ISO deadline."""
    if not due:
        return "", False
    seconds = (datetime.fromisoformat(due) - at).total_seconds()
    hours = int(abs(seconds) // 3600)
    days, rest = divmod(hours, 24)
    span = t("desk_office.disclosure.days_hours", days=days, hours=rest) if days else \
        t("desk_office.disclosure.hours", hours=hours)
    if seconds < 0:
        return t("desk_office.disclosure.overdue", time=span), True
    return t("desk_office.disclosure.time_left", time=span), False
