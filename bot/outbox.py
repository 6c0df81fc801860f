"""The delivery worker: sends what handlers wrote into the outbox, retrying with backoff.

A row is marked sent in the store right after its API call succeeds; a restart resumes what is
pending. Every delivered message is also written to the chat log the simulator shows.

One store call per batch of due rows (`_plan`): it reads them, routes them, finishes on the spot
those that need no network call (simulator, fan-out, undeliverable) and applies the robot rate
limit, counting the sends it plans in the same batch. The rest go out concurrently, at most
`SEND_CONCURRENCY` API calls at a time, one target (channel and address) after another in row order.
Under load the store thread is shared with incoming messages: one call per batch instead of two or
three per row keeps the outbox from falling behind.

Outages: a retryable failure is tried again with capped exponential backoff ([outbox]
max_delay_seconds) until [outbox] retry_hours after the row was written (or resent by staff); only
then is it failed and listed on /admin. While an API does not answer (refused, timed out, HTTP 5xx)
only one message tries it each `PROBE_EVERY`; the others wait without counting attempts. When a send
to that API succeeds again, everything waiting for it is due at once. On shutdown (`stop`) no new row
is taken and the sends in flight finish and are recorded, so none is sent twice after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta

from bot.channels import targets
from bot.channels.senders import SendError, Senders
from bot.channels.targets import API_OF, RATE_LIMITS, VIAS, Route
from bot.intake import Intake
from storage import chat, outbox, people
from storage.db import transaction
from storage.instances import shared

log = logging.getLogger("minsheng.outbox")
MAX_DELAY = 600.0   # the default cap of the backoff, seconds ([outbox] max_delay_seconds)
SEND_CONCURRENCY = 8  # API calls in flight at once (different targets; one target's rows go in order)
PROBE_EVERY = timedelta(minutes=1)   # while an API does not answer, one message tries it this often


def backoff(attempts: int, cap: float = MAX_DELAY) -> float:
    return min(cap, 2.0 ** min(attempts, 30)) * (0.5 + random.random() / 2)


class Deliverer:
    def __init__(self, intake: Intake, senders: Senders) -> None:
        self.intake = intake
        self.senders = senders
        self._wake = asyncio.Event()
        intake.on_outbox = self.wake
        self._down: set[str] = set()                    # APIs whose last try got no answer (event loop)
        self._next_probe: dict[str, datetime] = {}      # API -> when it may be tried again (store thread)
        self._stopping = False
        self._active = 0                                # drains in progress
        self._idle = asyncio.Event()
        self._idle.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            await self.intake.writer.call(self._claims_of_the_last_run)
        except Exception:
            log.exception("outbox: claims of the previous run not released; they lapse")
        while not self._stopping:
            try:
                await self.drain()
            except Exception:
                log.exception("outbox pass failed")
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                pass
            self._wake.clear()

    async def drain(self, rounds: int = 20) -> int:
        """Deliver everything due now (bounded); returns how many rows were handled."""
        handled = 0
        self._active += 1
        self._idle.clear()
        try:
            for _ in range(rounds):
                if self._stopping:
                    break
                down = frozenset(self._down)
                seen, sends, fanned_out = await self.intake.writer.call(self._plan, down)
                if not seen:
                    break
                await self._send_all(sends, down)
                handled += seen
                if fanned_out:
                    self.wake()
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()
        return handled

    def grace(self) -> float:
        """How long a send in flight may take: a token fetch, the call, a refresh and the call again."""
        settings = self.intake.settings
        return 2 * max(settings.wechat.timeout, settings.wecom.timeout) + 1

    async def stop(self, grace: float | None = None) -> bool:
        """Take no new row; wait (at most `grace` seconds) for the sends in flight to finish and be
        recorded in the store. True when nothing was left in flight."""
        self._stopping = True
        self.wake()
        try:
            await asyncio.wait_for(self._idle.wait(), self.grace() if grace is None else grace)
        except TimeoutError:
            log.warning("outbox: sends still in flight at shutdown; they may go out again after a restart")
            return False
        # what this instance claimed and did not send is for whoever runs next, without waiting for
        # the claim to lapse
        try:
            await self.intake.writer.call(self._release)
        except Exception as exc:  # noqa: BLE001 - the store is closed or gone: the claims lapse by themselves
            log.info("outbox: claims not released at stop (%s); they lapse", type(exc).__name__)
        return True

    def _claims_of_the_last_run(self) -> None:
        """On SQLite one process uses the store (its journal's lock says so): rows a killed run had
        claimed are due again at once, not after their claim lapses."""
        if not shared(self.intake.db):
            with transaction(self.intake.db):
                count = outbox.release(self.intake.db, None)
            if count:
                log.warning("outbox: %d messages the previous run was sending are due again", count)

    def _release(self, ids: list[int] | None = None) -> None:
        """This instance's claimed rows (or those of `ids`) it will not send: pending again."""
        with transaction(self.intake.db):
            outbox.release(self.intake.db, self.intake.instance, ids)

    def _plan(self, down: frozenset[str] = frozenset()) -> tuple[int, list[tuple[dict, Route]], bool]:
        """On the store thread: the due rows, claimed for this instance (how many), those that need an
        API call, with their route, in row order, and whether a fan-out queued new rows. Local rows are
        finished here, rows over a rate limit postponed, and rows for an API that does not answer
        (`down`) held, but for one probe per API, each in its own savepoint."""
        db, now = self.intake.db, self.intake.clock.now()
        probing = self._probes(down, now)
        until = now + timedelta(seconds=max(self.intake.settings.outbox.claim_seconds, 2 * self.grace()))
        lapsed = outbox.lapse(db, now)
        if lapsed:
            log.warning("outbox: %d messages an instance stopped sending are due again", lapsed)
        rows = outbox.claim(db, now, self.intake.instance, until)
        sends: list[tuple[dict, Route]] = []
        fanned_out = False
        for row in rows:
            route = targets.route(self.intake.db, row, self.intake.settings, self.senders.wecom is not None)
            if route.via in targets.LOCAL:
                self._finish_local(row, route, wake=False)
                fanned_out = fanned_out or route.via == "fanout"
                continue
            api = API_OF[route.via]
            if api in down and api not in probing:
                self._hold(row, route, now)
                continue
            probing.discard(api)
            if not self._rate_limited(row, route):
                sends.append((row, route))
        return len(rows), sends, fanned_out

    def probe_now(self, now: datetime) -> None:
        """On the store thread (staff resent messages): an API that did not answer is tried at the
        next pass, not at its next probe time."""
        for api in VIAS:
            self._next_probe[api] = now

    def _probes(self, down: frozenset[str], now: datetime) -> set[str]:
        """The APIs that do not answer and may be tried once now; for each, the message waiting the
        least is made due (if none is due already, it is the one that tries)."""
        probing: set[str] = set()
        for api in down:
            if now < self._next_probe.setdefault(api, now + PROBE_EVERY):
                continue
            self._next_probe[api] = now + PROBE_EVERY
            with transaction(self.intake.db):
                outbox.probe(self.intake.db, VIAS[api], now)
            probing.add(api)
        return probing

    async def _send_all(self, sends: list[tuple[dict, Route]], down: frozenset[str] = frozenset()) -> None:
        """Each target's rows in order; different targets concurrently, bounded. A target stops at
        shutdown, when its API stopped answering during this pass, or when its rows' claim would lapse
        before a send could end (another instance may send them then). What was not tried is given
        back (pending again) at the end of the pass."""
        by_target: dict[tuple[str, str], list[tuple[dict, Route]]] = {}
        for row, route in sends:
            by_target.setdefault((route.via, route.address), []).append((row, route))
        if not by_target:
            return
        gate = asyncio.Semaphore(SEND_CONCURRENCY)
        tried: set[int] = set()

        async def target(items: list[tuple[dict, Route]]) -> None:
            async with gate:
                for row, route in items:
                    api = API_OF[route.via]
                    if self._stopping or (api in self._down and api not in down) or not self._still_mine(row):
                        return
                    tried.add(row["id"])
                    await self._send(row, route)

        # every target runs to its end; then the first unexpected error fails the pass, as before
        results = await asyncio.gather(*(target(items) for items in by_target.values()), return_exceptions=True)
        untried = [row["id"] for row, _ in sends if row["id"] not in tried]
        if untried:
            await self.intake.writer.call(self._release, untried)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _still_mine(self, row: dict) -> bool:
        """A send begun now ends (`grace`) before the row's claim lapses."""
        until = row.get("claim_until")
        return until is None or self.intake.clock.now() + timedelta(seconds=self.grace()) < datetime.fromisoformat(until)

    async def _send(self, row: dict, route: Route) -> None:
        try:
            await self.senders.send(route.via, route.address, row["text"])
        except SendError as exc:
            if exc.out_of_window and route.via == "oa":
                await self._template_fallback(row, route, exc)
                return
            await self._failed(row, route, exc)
            return
        await self.intake.writer.call(self._sent, row, route, route.via)
        await self._answered(route.via)

    async def _template_fallback(self, row: dict, route: Route, first: SendError) -> None:
        try:
            await self.senders.template(route.address, row["text"])
        except SendError as exc:
            reason = f"unreachable: {first}; template: {exc}"
            await self._failed(row, route, SendError(reason, exc.retryable, unreachable=exc.unreachable))
            return
        await self.intake.writer.call(self._sent, row, route, "template")
        await self._answered(route.via)

    async def _failed(self, row: dict, route: Route, exc: SendError) -> None:
        api = API_OF[route.via]
        if exc.unreachable and api not in self._down:
            self._down.add(api)
            log.warning("outbox: the %s API does not answer (%s); one message tries it every %s s", api, exc,
                        int(PROBE_EVERY.total_seconds()))
        await self.intake.writer.call(self._failed_attempt, row, exc, route.via)

    async def _answered(self, via: str) -> None:
        """A send went through: if its API had stopped answering, what waits for it is due now."""
        api = API_OF[via]
        if api not in self._down:
            return
        self._down.discard(api)
        count = await self.intake.writer.call(self._resume, api)
        log.info("outbox: the %s API answers again; %s waiting messages are due now", api, count)
        if count:
            self.wake()

    def _resume(self, api: str) -> int:
        self._next_probe.pop(api, None)
        with transaction(self.intake.db):
            return outbox.resume(self.intake.db, VIAS[api], self.intake.clock.now())

    def _deadline(self, row: dict) -> datetime:
        """Until when a row is retried: [outbox] retry_hours after it was written or resent."""
        start = datetime.fromisoformat(row.get("retry_from") or row["created_at"])
        return start + timedelta(hours=self.intake.settings.outbox.retry_hours)

    def _hold(self, row: dict, route: Route, now: datetime) -> None:
        """The row's API does not answer and another message is trying it: the row waits, without an
        attempt, until the API answers again (`_resume`) or the backoff cap; past its horizon it fails."""
        db, deadline = self.intake.db, self._deadline(row)
        with transaction(db):
            if now >= deadline:
                reason = row["last_error"] or f"{route.via}: the API does not answer"
                outbox.mark_failed(db, row["id"], reason)
                log.warning("outbox %s failed for good: %s", row["id"], reason)
                return
            until = min(now + timedelta(seconds=self.intake.settings.outbox.max_delay_seconds), deadline)
            outbox.postpone(db, row["id"], until, route.via)

    def _rate_limited(self, row: dict, route: Route) -> bool:
        """True (and the row postponed) when its destination has had its limit of messages in the
        window, counting rows on their way there from any instance; else the row is marked as on its
        way (`outbox.sending_to`). When a postponed row is due again the limit is checked once more."""
        limit = RATE_LIMITS.get(route.via)
        if limit is None:
            return False
        count, per = limit
        db, now = self.intake.db, self.intake.clock.now()
        with transaction(db):
            recent = [datetime.fromisoformat(at) for at in
                      outbox.sent_since(db, route.via, route.address, now - timedelta(seconds=per), now)]
            if len(recent) < count:
                outbox.sending_to(db, row["id"], route.via, route.address)
                return False
            until = recent[len(recent) - count] + timedelta(seconds=per, milliseconds=1)
            outbox.postpone(db, row["id"], max(until, now))
        return True

    def _sent(self, row: dict, route: Route, via: str) -> None:
        db, now = self.intake.db, self.intake.clock.now()
        with transaction(db):
            outbox.mark_sent(db, row["id"], now, via, route.address)
            if route.log_kind:
                chat.log_chat(db, route.log_kind, route.log_id, "out", row["text"], now)

    def _finish_local(self, row: dict, route: Route, wake: bool = True) -> None:
        db, now = self.intake.db, self.intake.clock.now()
        with transaction(db):
            if route.via == "fanout":
                for r in people.residents_of_building(db, route.address):
                    outbox.enqueue(db, "resident", r["openid"], row["text"], now, row["ref"])
                chat.log_chat(db, "group", route.address, "out", row["text"], now)
                outbox.mark_sent(db, row["id"], now, "fanout")
            elif route.via == "sim":
                chat.log_chat(db, route.log_kind, route.log_id, "out", row["text"], now)
                outbox.mark_sent(db, row["id"], now, "sim")
            else:
                outbox.mark_failed(db, row["id"], route.address)
                log.warning("outbox %s not deliverable: %s", row["id"], route.address)
        if route.via == "fanout" and wake:
            self.wake()

    def _failed_attempt(self, row: dict, exc: SendError, via: str | None = None) -> None:
        db, now = self.intake.db, self.intake.clock.now()
        deadline = self._deadline(row)
        attempt = row["attempts"] + 1
        with transaction(db):
            if exc.retryable and now < deadline:
                delay = backoff(attempt, self.intake.settings.outbox.max_delay_seconds)
                delay = min(delay, (deadline - now).total_seconds())
                outbox.mark_retry(db, row["id"], now, delay, str(exc), via)
                log.info("outbox %s attempt %s failed (%s); will retry in %.0f s", row["id"], attempt, exc, delay)
            else:
                outbox.mark_failed(db, row["id"], str(exc))
                log.warning("outbox %s failed for good after %s attempts: %s", row["id"], attempt, exc)
