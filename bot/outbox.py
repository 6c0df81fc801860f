"""The delivery worker: sends what handlers wrote into the outbox, retrying with backoff.

A row is marked sent in the store right after its API call succeeds; a restart resumes what is
pending. Every delivered message is also written to the chat log the simulator shows.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.channels.senders import SendError, Senders
from bot.router import Core
from storage import org, outbox, people
from storage.db import transaction

log = logging.getLogger("minsheng.outbox")
MAX_ATTEMPTS = 8
MAX_DELAY = 300.0
# per-target limits: channel -> (messages, per seconds). A group robot takes 20 messages a minute.
RATE_LIMITS = {"robot": (20, 60.0)}


@dataclass(frozen=True)
class Route:
    via: str          # sim | oa | wecom | robot | appchat | fanout | none
    address: str = ""
    log_kind: str = ""
    log_id: str = ""


def backoff(attempts: int) -> float:
    return min(MAX_DELAY, 2.0 ** attempts) * (0.5 + random.random() / 2)


class Deliverer:
    def __init__(self, core: Core, senders: Senders) -> None:
        self.core = core
        self.senders = senders
        self._wake = asyncio.Event()
        core.on_outbox = self.wake

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("outbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                pass
            self._wake.clear()

    async def drain(self, rounds: int = 20) -> int:
        """Deliver everything due now (bounded); returns how many rows were handled."""
        handled = 0
        for _ in range(rounds):
            rows = await self.core.call(lambda: outbox.due(self.core.db, self.core.clock.now()))
            if not rows:
                break
            for row in rows:
                await self.deliver(row)
                handled += 1
        return handled

    def _route(self, row: dict) -> Route:
        db, kind, target = self.core.db, row["target_kind"], row["target_id"]
        settings = self.core.settings
        if kind == "resident":
            r = people.resident(db, target)
            if r is None:
                return Route("none", "unknown resident")
            via = "oa" if r["channel"] == "oa" else "sim"
            return Route(via, target, "resident", target)
        if kind == "staff":
            return Route("wecom" if self.senders.wecom else "sim", target, "staff", target)
        if kind == "fanout":
            return Route("fanout", target, "group", target)
        b = org.building(db, target)
        group = (b or {}).get("grp") or ""
        if group.startswith("robot:"):
            return Route("robot", group[6:], "group", target)
        if group.startswith("appchat:"):
            return Route("appchat", group[8:], "group", target)
        if group == "fanout":
            return Route("fanout", target, "group", target)
        if group == "sim" or (group and not settings.wecom.enabled):
            return Route("sim", target, "group", target)
        return Route("none", "building has no group")

    async def deliver(self, row: dict) -> None:
        route = await self.core.call(self._route, row)
        if route.via in ("sim", "none", "fanout"):
            await self.core.call(self._finish_local, row, route)
            return
        if await self.core.call(self._rate_limited, row, route):
            return
        send = {"oa": self.senders.to_resident, "wecom": self.senders.to_staff,
                "robot": self.senders.to_robot, "appchat": self.senders.to_appchat}[route.via]
        try:
            await send(route.address, row["text"])
        except SendError as exc:
            if exc.out_of_window and route.via == "oa":
                await self._template_fallback(row, route, exc)
                return
            await self.core.call(self._failed_attempt, row, exc)
            return
        await self.core.call(self._sent, row, route, route.via)

    async def _template_fallback(self, row: dict, route: Route, first: SendError) -> None:
        try:
            await self.senders.template(route.address, row["text"])
        except SendError as exc:
            reason = f"unreachable: {first}; template: {exc}"
            await self.core.call(self._failed_attempt, row, SendError(reason, exc.retryable))
            return
        await self.core.call(self._sent, row, route, "template")

    def _rate_limited(self, row: dict, route: Route) -> bool:
        limit = RATE_LIMITS.get(route.via)
        if limit is None:
            return False
        count, per = limit
        db, now = self.core.db, self.core.clock.now()
        recent = outbox.sent_since(db, route.via, route.address, now - timedelta(seconds=per))
        if len(recent) < count:
            return False
        with transaction(db):
            until = datetime.fromisoformat(recent[len(recent) - count]) + timedelta(seconds=per, milliseconds=1)
            outbox.postpone(db, row["id"], max(until, now))
        return True

    def _sent(self, row: dict, route: Route, via: str) -> None:
        db, now = self.core.db, self.core.clock.now()
        with transaction(db):
            outbox.mark_sent(db, row["id"], now, via, route.address)
            if route.log_kind:
                people.log_chat(db, route.log_kind, route.log_id, "out", row["text"], now)

    def _finish_local(self, row: dict, route: Route) -> None:
        db, now = self.core.db, self.core.clock.now()
        with transaction(db):
            if route.via == "fanout":
                for r in people.residents_of_building(db, route.address):
                    outbox.enqueue(db, "resident", r["openid"], row["text"], now, row["ref"])
                people.log_chat(db, "group", route.address, "out", row["text"], now)
                outbox.mark_sent(db, row["id"], now, "fanout")
            elif route.via == "sim":
                people.log_chat(db, route.log_kind, route.log_id, "out", row["text"], now)
                outbox.mark_sent(db, row["id"], now, "sim")
            else:
                outbox.mark_failed(db, row["id"], route.address)
                log.warning("outbox %s not deliverable: %s", row["id"], route.address)
        if route.via == "fanout":
            self.wake()

    def _failed_attempt(self, row: dict, exc: SendError) -> None:
        db, now = self.core.db, self.core.clock.now()
        with transaction(db):
            if exc.retryable and row["attempts"] + 1 < MAX_ATTEMPTS:
                outbox.mark_retry(db, row["id"], now, backoff(row["attempts"] + 1), str(exc))
                log.info("outbox %s attempt %s failed (%s); will retry", row["id"], row["attempts"] + 1, exc)
            else:
                outbox.mark_failed(db, row["id"], str(exc))
                log.warning("outbox %s failed for good: %s", row["id"], exc)
