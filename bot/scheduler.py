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

from bot.intake import Intake
from handlers import clock

log = logging.getLogger("minsheng.scheduler")


class Scheduler:
    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self._aps: AsyncIOScheduler | None = None

    async def tick(self, now: datetime | None = None) -> dict[str, int | None]:
        """Run every job due at `now` (default: the intake's clock) and wake the outbox."""
        intake = self.intake
        done = await intake.writer.call(clock.run_due, intake.db, now or intake.clock.now(), intake.settings, intake.dispatcher.matcher)
        intake.on_outbox()
        return done

    def start(self) -> None:
        tz = ZoneInfo(self.intake.settings.timezone)
        self._aps = AsyncIOScheduler(timezone=tz)
        self._aps.add_job(self.tick, IntervalTrigger(seconds=self.intake.settings.schedule.tick_seconds, timezone=tz),
                          id="clock-tick", coalesce=True, max_instances=1, next_run_time=datetime.now(tz))
        self._aps.start()
        log.info("clock running every %ss", self.intake.settings.schedule.tick_seconds)

    @property
    def running(self) -> bool:
        return bool(self._aps and self._aps.running)

    def shutdown(self) -> None:
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None


SCHEDULER = web.AppKey("scheduler", Scheduler)
