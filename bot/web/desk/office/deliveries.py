"""/admin/deliveries: what could not be delivered (residents out of the 48-hour window, other failed
messages) with a retry per row and for all, and what came in but needs staff: senders held back by
flood control, messages whose handling failed, rooms two residents are bound to."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlite_utils import Database

from bot.intake import Intake
from bot.keys import DELIVERER, INTAKE
from bot.outbox import Deliverer
from bot.web.desk.auth import audit
from bot.web.desk.office.common import back, number, office, routes
from bot.web.desk.pages import flash, read, render
from language.texts import t
from storage import deliberation, desk_office, held, org, outbox, petitions
from storage.db import transaction

log = logging.getLogger("minsheng.admin")
PATH = "/deliveries"


def unreachable(row: dict) -> bool:
    """A resident the Official Account may not write to: outside the 48-hour window, no template left."""
    return row["target_kind"] == "resident" and "48" in (row["last_error"] or "")


def _page(db: Database) -> dict:
    names = {b["id"]: b["name"] for b in org.buildings(db)}
    failed = desk_office.failed_deliveries(db)
    for r in failed:
        r["building_name"] = names.get(r["resident_building"] or (r["target_id"] if r["target_kind"] in (
            "group", "fanout") else ""), "")
        r["target_label"] = t(f"desk_office.targets.{r['target_kind']}") \
            if r["target_kind"] in ("resident", "staff", "group", "fanout") else r["target_kind"]
    rooms = deliberation.room_conflicts(db)
    for r in rooms:
        r["who"] = t("desk_office.deliveries.name_sep").join(r["names"] or r["residents"])
    return {"unreachable": [r for r in failed if unreachable(r)],
            "failed": [r for r in failed if not unreachable(r)],
            "held": held.by_sender(db), "failed_inbound": petitions.failed_inbound(db), "rooms": rooms}


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    office(request)
    data = await read(request, _page)
    await audit(request, "view_deliveries")   # residents' names, senders and what they wrote
    return await render(request, "office_deliveries.html", data)


def _requeue(intake: Intake, deliverer: Deliverer, oid: int | None) -> list[int]:
    """On the store thread: the failed row (or every failed row) pending again, due now, its attempts
    reset and its retry horizon starting again, tried at once even if its API has not answered lately."""
    now = intake.clock.now()
    with transaction(intake.db):
        ids = outbox.resend(intake.db, now, oid)
    if ids:
        deliverer.probe_now(now)
    return ids


async def _retry(request: web.Request, oid: int | None) -> web.Response:
    office(request)
    intake = request.config_dict[INTAKE]
    ids = await intake.writer.call(_requeue, intake, request.config_dict[DELIVERER], oid)
    if ids:
        log.info("outbox: %s resent %s failed message(s): %s", request["viewer"].userid, len(ids),
                 ",".join(map(str, ids)))
        intake.on_outbox()
        await flash(request, t("desk_office.deliveries.retried", count=len(ids)))
    else:
        await flash(request, t("desk_office.deliveries.not_failed"))
    raise back(PATH)


@routes.post(PATH + "/{id}/retry")
async def retry_one(request: web.Request) -> web.Response:
    oid = number(request.match_info["id"])
    if oid is None:
        raise web.HTTPNotFound()
    return await _retry(request, oid)


@routes.post(PATH + "/retry-all")
async def retry_all(request: web.Request) -> web.Response:
    return await _retry(request, None)
