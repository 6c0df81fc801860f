"""Who is speaking and which handler answers, inside one transaction with the message's id.

All store access runs on one thread (the writer), which also serialises every conversation: WeChat's
retries and double taps for the same resident can never interleave.

Group commit: the store thread takes whatever work is queued (messages and `call`s, in arrival order)
and runs each item inside its own SAVEPOINT of one write transaction, then COMMITs once for the batch
and only then resolves the batch's futures. A message is therefore still on disk before its answer goes
back, but the fsync of the COMMIT (most of the store thread's time with one transaction per message) is
paid once per batch. A failing item rolls back only its savepoint (a failing message is kept in
`failed_inbound`, as before); if the batch itself cannot be committed, every item of it is run again on
its own, in its own transaction, exactly as without batching.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.clock import Clock
from bot.config import Settings
from bot.intents import Matcher
from bot.messages import Message
from bot.texts import t
from handlers import resident, worker
from handlers.context import Ctx
from storage import outbox, people
from storage.db import transaction
from storage.petitions import iso

log = logging.getLogger("minsheng.router")
T = TypeVar("T")

BATCH_MAX_ITEMS = 64        # at most this many items share one COMMIT
BATCH_MAX_SECONDS = 0.020   # and no new item joins a batch that has already worked this long


class _BatchBroken(Exception):
    """The batch's transaction is gone (SQLite rolled it back): run its items one by one instead."""


@dataclass
class _Work:
    fn: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    # what a failing `fn` answers instead of raising (a message: kept for staff, an apology)
    recover: Callable[[Exception], Any] | None = None
    result: Any = None
    error: BaseException | None = None


def _settle(items: list[_Work]) -> None:
    """On the event loop: hand each finished item's result (or error) to its waiter."""
    for item in items:
        if item.future.done():
            continue
        if item.error is not None:
            item.future.set_exception(item.error)
        else:
            item.future.set_result(item.result)


class Core:
    def __init__(self, db: Database, settings: Settings, clock: Clock, matcher: Matcher) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.matcher = matcher
        self.on_outbox: Callable[[], None] = lambda: None
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.batches = 0          # committed batches (and items in them): how well commits are shared
        self.batched_items = 0

    # --- the event-loop side ------------------------------------------------------------------

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the store thread, inside a savepoint of the current batch's transaction
        (a failing `fn` leaves no writes); returns once that transaction is committed."""
        return await self._submit(lambda: fn(*args))

    async def handle(self, msg: Message) -> list[str]:
        """The replies to `msg`, returned once the message and its effects are committed."""
        replies = await self._submit(lambda: self._handle(msg), recover=lambda exc: self._failed(msg, exc))
        self.on_outbox()
        return replies

    async def _submit(self, fn: Callable[[], T], recover: Callable[[Exception], T] | None = None) -> T:
        if self._closed:
            raise RuntimeError("the store thread is closed")
        loop = asyncio.get_running_loop()
        work = _Work(fn, loop, loop.create_future(), recover)
        self._ensure_thread()
        self._queue.put(work)
        return await work.future

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="minsheng-store", daemon=True)
                self._thread.start()

    # --- the store thread -----------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            try:
                stop = self._run_batch(batch)
            except BaseException as exc:  # never leave a waiter hanging (logged below)
                log.exception("store thread: batch of %d items interrupted", len(batch))
                for work in batch:
                    work.error = RuntimeError(f"store thread interrupted: {type(exc).__name__}")
            finally:
                self._finish(batch)

    def _run_batch(self, batch: list[_Work]) -> bool:
        """Run `batch[0]`, and what is queued meanwhile (appended to `batch`), in one transaction with
        one COMMIT. True when the queue asked the thread to stop (after this batch)."""
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            log.exception("could not begin a write transaction; running the item on its own")
            self._one_by_one(batch)
            return False
        started, stop = time.monotonic(), False
        try:
            index = 0
            while True:
                self._in_savepoint(batch[index])
                index += 1
                if len(batch) >= BATCH_MAX_ITEMS or time.monotonic() - started > BATCH_MAX_SECONDS:
                    break
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            conn.execute("COMMIT")
            self.batches += 1
            self.batched_items += len(batch)
        except (sqlite3.Error, _BatchBroken):
            log.exception("group commit of %d items failed; running them one by one", len(batch))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._one_by_one(batch)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return stop

    def _in_savepoint(self, work: _Work) -> None:
        """One item inside the batch: when it fails, only its own writes are undone."""
        conn = self.db.conn
        conn.execute("SAVEPOINT item")
        try:
            work.result = work.fn()
        except Exception as exc:  # handed to the caller (or to `recover`)
            if not conn.in_transaction:
                raise _BatchBroken from exc
            try:
                conn.execute("ROLLBACK TO item")
            except sqlite3.Error as broken:
                raise _BatchBroken from broken
            if work.recover is None:
                work.error = exc
            else:
                work.result = work.recover(exc)
            if not conn.in_transaction:
                raise _BatchBroken from exc
        conn.execute("RELEASE item")

    def _one_by_one(self, batch: list[_Work]) -> None:
        """Without group commit: each item in its own transaction, as the store thread always did."""
        for work in batch:
            work.result, work.error = None, None
            try:
                with transaction(self.db):
                    work.result = work.fn()
            except Exception as exc:  # noqa: BLE001 - handed to the caller (or to `recover`)
                if work.recover is None:
                    work.error = exc
                else:
                    work.result = work.recover(exc)

    def _finish(self, batch: list[_Work]) -> None:
        """After the COMMIT: wake each waiting loop once for the whole batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Work]] = {}
        for work in batch:
            by_loop.setdefault(work.loop, []).append(work)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, items)
            except RuntimeError:
                log.warning("event loop closed; %d results dropped after commit", len(items))

    # --- messages --------------------------------------------------------------------------------

    def handle_sync(self, msg: Message) -> list[str]:
        """One message in its own transaction, on the calling thread (tools and tests)."""
        try:
            with transaction(self.db):
                return self._handle(msg)
        except Exception as exc:  # noqa: BLE001 - a failing handler is kept for staff, never lost
            return self._failed(msg, exc)

    def _failed(self, msg: Message, exc: Exception) -> list[str]:
        """After a failing handler's writes are undone: keep the message for staff, apologise."""
        log.error("handler failed for %s message %s; kept for staff", msg.channel, msg.key, exc_info=exc)
        self._keep_failed(msg)
        return [t("common.internal_error")]

    def _handle(self, msg: Message) -> list[str]:
        if msg.key:
            earlier = people.seen(self.db, msg.key)
            if earlier is not None:
                log.info("duplicate callback %s answered from the ledger", msg.key)
                if earlier["replied_late"]:
                    return []
                self.db.conn.execute("UPDATE inbound SET answered_again = 1 WHERE key = ?", (msg.key,))
                return json.loads(earlier["reply"] or "[]")
        ctx = Ctx(self.db, self.clock.now(), self.settings, self.matcher)
        kind = "resident" if msg.role == "resident" else "staff"
        if msg.kind == "text":
            people.log_chat(self.db, kind, msg.sender, "in", msg.text, ctx.now)
        if msg.role == "resident":
            resident.handle(ctx, msg)
        else:
            worker.handle(ctx, msg)
        for reply in ctx.replies:
            people.log_chat(self.db, kind, msg.sender, "out", reply, ctx.now)
        if msg.key:
            people.remember(self.db, msg.key, msg.channel, msg.sender,
                            json.dumps(ctx.replies, ensure_ascii=False), ctx.now)
        return ctx.replies

    async def run_job(self, job: Callable[[Ctx], T]) -> T:
        """Run a time-driven job (it takes a Ctx) in one transaction on the store thread."""
        def run() -> T:
            with transaction(self.db):
                return job(Ctx(self.db, self.clock.now(), self.settings, self.matcher))
        result = await self.call(run)
        self.on_outbox()
        return result

    async def reply_late(self, msg: Message, replies: list[str]) -> None:
        """Replies that missed the callback's answer window go out as messages instead."""
        await self.call(self._reply_late, msg, replies)
        self.on_outbox()

    def _reply_late(self, msg: Message, replies: list[str]) -> None:
        with transaction(self.db):
            row = people.seen(self.db, msg.key) if msg.key else None
            if row is not None and row["answered_again"]:
                return  # a retry already carried these replies
            if row is not None:
                self.db.conn.execute("UPDATE inbound SET replied_late = 1 WHERE key = ?", (msg.key,))
            kind = "resident" if msg.role == "resident" else "staff"
            for text in replies:
                outbox.enqueue(self.db, kind, msg.sender, text, self.clock.now(), ref="late-reply")

    def _keep_failed(self, msg: Message) -> None:
        """A message whose handling failed is still stored, once, for staff to see."""
        try:
            with transaction(self.db):
                if msg.key and people.seen(self.db, msg.key):
                    return
                self.db.conn.execute(
                    "INSERT INTO failed_inbound (key, at, channel, sender, kind, text) VALUES (?,?,?,?,?,?)",
                    (msg.key, iso(self.clock.now()), msg.channel, msg.sender, msg.kind, msg.text))
        except Exception:
            log.exception("could not keep failed message %s", msg.key)

    def close(self) -> None:
        """Finish the queued work, then stop the store thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
