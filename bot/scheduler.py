"""A thin apscheduler (3.x) wrapper: every `tick_seconds` it runs the due clock jobs on the store thread.

All state lives in the store (handlers/clock.py), so the scheduler keeps none: a restart simply ticks
again. Tests never start it; they move a FakeClock and call `tick()` themselves.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.router import Core
from handlers import clock

log = logging.getLogger("minsheng.scheduler")


class Scheduler:
    def __init__(self, core: Core) -> None:
        self.core = core
        self._aps: AsyncIOScheduler | None = None

    async def tick(self, now: datetime | None = None) -> dict[str, int | None]:
        """Run every job due at `now` (default: the core's clock) and wake the outbox."""
        core = self.core
        done = await core.call(clock.run_due, core.db, now or core.clock.now(), core.settings, core.matcher)
        core.on_outbox()
        return done

    def start(self) -> None:
        tz = ZoneInfo(self.core.settings.timezone)
        self._aps = AsyncIOScheduler(timezone=tz)
        self._aps.add_job(self.tick, IntervalTrigger(seconds=self.core.settings.schedule.tick_seconds, timezone=tz),
                          id="clock-tick", coalesce=True, max_instances=1, next_run_time=datetime.now(tz))
        self._aps.start()
        log.info("clock running every %ss", self.core.settings.schedule.tick_seconds)

    @property
    def running(self) -> bool:
        return bool(self._aps and self._aps.running)

    def shutdown(self) -> None:
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None


SCHEDULER = web.AppKey("scheduler", Scheduler)
