"""The aiohttp application factory: config -> storage -> channels -> intake -> routers -> writer -> outbox."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlite_utils import Database

from bot import logsafe
from bot.channels import simulator, wechat, wecom
from bot.channels.freshness import Freshness
from bot.channels.senders import Senders
from bot.clock import Clock
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.intake import Intake
from bot.keys import CLOCK, DB, DELIVERER, FRESHNESS, INTAKE, SENDERS, SETTINGS
from bot.outbox import Deliverer
from bot.router import Router
from bot.scheduler import SCHEDULER, Scheduler
from bot.web import desk, public
from handlers import (
    binding,
    deliberation,
    handoff,
    lifecycle,
    mine,
    report,
    resident,
    staff,
    visits,
    volunteers,
    worker,
)
from language.intents import Matcher, default_matcher
from storage import health, org
from storage.db import open_db
from storage.writer import Writer

log = logging.getLogger("minsheng.app")

# Every message goes down this list until a handler takes it (first match wins; bot/router.py).
ROUTERS: list[Router] = [
    # residents
    resident.events,            # subscribe, unsubscribe, a location, media, an empty message
    deliberation.residents,     # 投票, 投票情况, 申请公开: explicit commands drop a pending question
    volunteers.residents,       # 双报到, 认领 / 完成 / 确认 心愿, 心愿清单
    handoff.residents,          # 我的网格员是谁; in an open 转人工 hand-off: to the worker, 结束
    resident.pending,           # 算了 in any conversation; an expired one is forgotten
    report.steps,               # which building? / which did you mean?
    mine.steps,                 # which of your petitions?
    lifecycle.steps,            # why not satisfied?
    mine.ratings,               # a rating word while petitions wait for a rating: never a new report
    report.router,              # an emergency, an unclear message, a report
    binding.router,             # where I live
    mine.router,                # query, urge, cancel, rate
    handoff.router,             # 转人工: a hand-off to the grid worker
    resident.router,            # wish, suggestion, consultation, a person; help for the rest
    # grid workers, heads and staff
    handoff.workers,            # 回复, 结束: answering a resident in a hand-off
    staff.guide,                # 帮助 for staff: every staff command with an example
    worker.gate,                # not on the roster, events, help, staff-only commands
    worker.router,              # 待办
    staff.router,               # 公告, 定时公告, 公示
    deliberation.staff,         # 议题, 表决, 公开, 答复
    volunteers.staff,           # 审核心愿, 登记党员 / 观察员
    visits.router,              # 走访
    worker.petition_gate,       # a number, a petition that exists and is yours; 查看
    deliberation.on_petitions,  # 合并, 取消合并
    worker.actions,             # 接单, 进展, 办结, 退回, 上报, 转派, 派单, 驳回
]


HEALTH_SECONDS = 5.0   # /healthz waits this long for the store's write probe


async def healthz(request: web.Request) -> web.Response:
    """200 while the bot can take messages in: the store takes a committed write (`storage.health`)
    and the journal's last write succeeded (or a probe write does now); else 503, `errors` saying
    why. Lines kept in quarantine and a nearly full disk are `warnings` with a 200: restarting or
    taking the bot out of service would not mend them, while it still answers residents. No
    message content in either (polled by monitoring). On PostgreSQL the write says whether this
    instance reaches the database (within `HEALTH_SECONDS`), and the journal whether messages of a
    stopped instance wait to be taken over."""
    intake = request.app[INTAKE]
    errors: list[str] = []
    try:
        await asyncio.wait_for(intake.writer.call(health.probe, intake.db, intake.clock.now()), HEALTH_SECONDS)
    except TimeoutError:
        errors.append(f"store: no answer within {HEALTH_SECONDS:g} s")
    except Exception as exc:  # noqa: BLE001 - whatever stops a write is what to report
        errors.append(f"store: cannot write: {exc}")
    journal_errors, warnings = await asyncio.to_thread(intake.journal.health)
    errors += journal_errors
    body = {"ok": not errors, "errors": errors, "warnings": warnings}
    return web.json_response(body, status=503 if errors else 200)


def setup_routes(app: web.Application, settings: Settings) -> None:
    app.router.add_get("/healthz", healthz)
    wechat.setup(app)
    wecom.setup(app)
    public.setup(app)
    desk.setup(app, settings)
    if settings.simulator_on:
        simulator.setup(app)
    _log_exposure(settings)


def _log_exposure(settings: Settings) -> None:
    """Say at start what is reachable without a real channel's signature."""
    if settings.simulator_on and settings.has_real_channel:
        log.warning("simulator enabled beside real channels (test deployment): it refuses roster userids"
                    " and Official Account openids")
    elif settings.simulator.enabled and settings.has_real_channel:
        log.info("simulator off: real channels are configured ([simulator] test_deployment is not set)")
    if settings.server.admin_token:
        log.warning("[server] admin_token no longer opens /admin: staff log in with their own accounts"
                    " (minsheng staff passwd USERID)")


def open_store(settings: Settings) -> Database:
    """The store, with the configured organisation file (or the demo one) loaded into it."""
    db = open_db(settings.storage.target)
    org.load_file(db, settings.org_path)
    return db


GC_THRESHOLD = (10_000, 10, 10)   # Python's default is (700, 10, 10)


def tune_gc() -> None:
    """For a serving process, once the app is built: what is loaded at start (catalogue, model, org)
    lives as long as the process, so it is moved out of the collector's sight (`gc.freeze`), and the
    youngest generation is collected every 10,000 allocations instead of 700. A callback allocates
    hundreds of objects; with the defaults the collector ran every few callbacks and its full passes
    walked the whole model and every journalled message, holding the GIL: in the callback benchmark
    this was most of the p99 (≈120 → ≈50 ms in a closed loop) and a quarter of the throughput."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def create_app(settings: Settings, clock: Clock | None = None, matcher: Matcher | None = None,
               deliver: bool = True, schedule: bool | None = None) -> web.Application:
    """`deliver=False` leaves the outbox to the caller (tests drive `app[DELIVERER].drain()`);
    `schedule` (default: like `deliver`, and [schedule] enabled) runs the clock jobs every tick, else
    the caller ticks them (`await app[SCHEDULER].tick()`)."""
    app = web.Application(client_max_size=settings.server.max_body_bytes)
    app[SETTINGS] = settings
    app[CLOCK] = clock or Clock()
    app[FRESHNESS] = Freshness(app[CLOCK])
    logsafe.configure(settings.wechat.token + settings.wecom.token + settings.wecom.encoding_aes_key
                      + settings.wechat.encoding_aes_key)
    db = open_store(settings)
    app[DB] = db
    dispatcher = Dispatcher(settings, app[CLOCK], matcher or default_matcher(), ROUTERS)
    intake = Intake(Writer(db), dispatcher, settings)
    app[INTAKE] = intake
    senders = Senders(settings)
    app[SENDERS] = senders
    deliverer = Deliverer(intake, senders)
    app[DELIVERER] = deliverer
    scheduler = Scheduler(intake)
    app[SCHEDULER] = scheduler
    run_clock = (deliver if schedule is None else schedule) and settings.schedule.enabled

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await senders.start()
        intake.start()   # handles what a previous run left in the intake journal
        task = asyncio.create_task(deliverer.run()) if deliver else None
        if run_clock:
            scheduler.start()
        yield
        scheduler.shutdown()
        # no new sends; those in flight finish and are recorded as sent before the store closes
        await deliverer.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await senders.close()
        intake.close()
        db.conn.close()

    app.cleanup_ctx.append(lifecycle)
    setup_routes(app, settings)
    return app
