"""Staff send failed messages again from /admin: the row is pending and due now, its attempts reset
and its retry horizon starting again. One log line per resend."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.intake import Intake
from bot.keys import DELIVERER, INTAKE
from bot.outbox import Deliverer
from bot.web.desk.auth import require_office
from language.texts import t
from storage import outbox
from storage.db import transaction

log = logging.getLogger("minsheng.admin")


def _requeue(intake: Intake, deliverer: Deliverer, oid: int | None) -> list[int]:
    """On the store thread: the failed row (or every failed row) back in the queue, tried at once
    even if its API has not answered lately."""
    now = intake.clock.now()
    with transaction(intake.db):
        ids = outbox.resend(intake.db, now, oid)
    if ids:
        deliverer.probe_now(now)
    return ids


async def _resend(request: web.Request, oid: int | None) -> web.Response:
    require_office(request)
    intake = request.config_dict[INTAKE]
    ids = await intake.writer.call(_requeue, intake, request.config_dict[DELIVERER], oid)
    if not ids and oid is not None:
        return web.Response(status=404, text=t("outbox.not_failed"))
    log.info("outbox: staff resent %s failed message(s): %s", len(ids), ",".join(map(str, ids)))
    intake.on_outbox()
    raise web.HTTPSeeOther("/admin/overview")


async def resend_one(request: web.Request) -> web.Response:
    try:
        oid = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    return await _resend(request, oid)


async def resend_all(request: web.Request) -> web.Response:
    return await _resend(request, None)


routes = web.RouteTableDef()
routes.post("/outbox/{id}/resend")(resend_one)
routes.post("/outbox/resend-all")(resend_all)
