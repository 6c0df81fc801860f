"""The delivery worker: sends what handlers wrote into the outbox, retrying with backoff.

A row is marked sent in the store right after its API call succeeds; a restart resumes what is
pending. Every delivered message is also written to the chat log the simulator shows.

One store call per batch of due rows (`_plan`): it reads them, routes them, finishes on the spot
those that need no network call (simulator, fan-out, undeliverable) and applies the robot rate
limit, counting the sends it plans in the same batch. The rest go out concurrently, at most
`SEND_CONCURRENCY` API calls at a time, one target (channel and address) after another in row order.
Under load the store thread is shared with incoming messages: one call per batch instead of two or
three per row keeps the outbox from falling behind.
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
SEND_CONCURRENCY = 8  # API calls in flight at once (different targets; one target's rows go in order)


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
            seen, sends, fanned_out = await self.core.call(self._plan)
            if not seen:
                break
            await self._send_all(sends)
            handled += seen
            if fanned_out:
                self.wake()
        return handled

    def _plan(self) -> tuple[int, list[tuple[dict, Route]], bool]:
        """On the store thread: the due rows (how many), those that need an API call, with their
        route, in row order, and whether a fan-out queued new rows. Local rows are finished here and
        rows over a rate limit postponed, each in its own savepoint."""
        db, now = self.core.db, self.core.clock.now()
        rows = outbox.due(db, now)
        sends: list[tuple[dict, Route]] = []
        planned: dict[tuple[str, str], list[datetime]] = {}
        fanned_out = False
        for row in rows:
            route = self._route(row)
            if route.via in ("sim", "none", "fanout"):
                self._finish_local(row, route, wake=False)
                fanned_out = fanned_out or route.via == "fanout"
            elif not self._rate_limited(row, route, planned):
                sends.append((row, route))
        return len(rows), sends, fanned_out

    async def _send_all(self, sends: list[tuple[dict, Route]]) -> None:
        """Each target's rows in order; different targets concurrently, bounded."""
        by_target: dict[tuple[str, str], list[tuple[dict, Route]]] = {}
        for row, route in sends:
            by_target.setdefault((route.via, route.address), []).append((row, route))
        if not by_target:
            return
        gate = asyncio.Semaphore(SEND_CONCURRENCY)

        async def target(items: list[tuple[dict, Route]]) -> None:
            async with gate:
                for row, route in items:
                    await self.core.calm()   # a burst of callbacks is acknowledged first
                    await self._send(row, route)

        # every target runs to its end; then the first unexpected error fails the pass, as before
        results = await asyncio.gather(*(target(items) for items in by_target.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

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
        """One row on its own (routing, rate limit, send)."""
        route = await self.core.call(self._route, row)
        if route.via in ("sim", "none", "fanout"):
            await self.core.call(self._finish_local, row, route)
            return
        if await self.core.call(self._rate_limited, row, route):
            return
        await self._send(row, route)

    async def _send(self, row: dict, route: Route) -> None:
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

    def _rate_limited(self, row: dict, route: Route,
                      planned: dict[tuple[str, str], list[datetime]] | None = None) -> bool:
        """True (and the row postponed) when its destination has had its limit of messages in the
        window. `planned`: sends already planned in this batch but not yet recorded, per destination;
        the row is added to it when it may go. When a postponed row is due again the limit is checked
        once more against the recorded send times."""
        limit = RATE_LIMITS.get(route.via)
        if limit is None:
            return False
        count, per = limit
        db, now = self.core.db, self.core.clock.now()
        key = (route.via, route.address)
        recent = [datetime.fromisoformat(at) for at in
                  outbox.sent_since(db, route.via, route.address, now - timedelta(seconds=per))]
        if planned is not None:
            recent += planned.get(key, [])
        if len(recent) < count:
            if planned is not None:
                planned.setdefault(key, []).append(now)
            return False
        with transaction(db):
            until = recent[len(recent) - count] + timedelta(seconds=per, milliseconds=1)
            outbox.postpone(db, row["id"], max(until, now))
        return True

    def _sent(self, row: dict, route: Route, via: str) -> None:
        db, now = self.core.db, self.core.clock.now()
        with transaction(db):
            outbox.mark_sent(db, row["id"], now, via, route.address)
            if route.log_kind:
                people.log_chat(db, route.log_kind, route.log_id, "out", row["text"], now)

    def _finish_local(self, row: dict, route: Route, wake: bool = True) -> None:
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
        if route.via == "fanout" and wake:
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
