"""Who is speaking and which handler answers, inside one transaction with the message's id.

All store access runs on one thread (the writer), which also serialises every conversation: WeChat's
retries and double taps for the same resident can never interleave.

Callbacks are journalled first (`answer`): the event loop appends the message to the intake journal
(`bot/journal.py`, files synced before anything is answered), so an acknowledged message is on disk.
Handling it (classification, the petition, the worker's notice: most of the work) follows in arrival
order on the store thread, in the background; the callback waits for its own replies (the passive
reply) only while few messages are ahead of it and the answer window allows, else it answers "success"
and the replies follow as messages. Handling commits the message's effects and its `inbound` record;
journal records a crash leaves whose keys are not in `inbound` are handled at the next start. While
callbacks keep arriving and the event loop is busy with them, background handling yields the core to
them (`_Governor`), so a burst is acknowledged at the speed of the journal write.

Group commit: the store thread takes whatever work is queued (`call`s and background handling) and runs each item inside its own SAVEPOINT of one write transaction, then COMMITs once for
the batch and only then resolves the batch's futures. A failing item rolls back only its savepoint (a
failing message is kept in `failed_inbound`, as before); if the batch itself cannot be committed,
every item of it is run again on its own, in its own transaction, exactly as without batching.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlite_utils import Database

from bot.clock import Clock
from bot.config import Settings
from bot.flood import FloodGate
from bot.journal import IntakeJournal, journal_dir
from bot.logsafe import short
from bot.messages import Message
from bot.quarantine import to_message
from handlers import resident, worker
from handlers.context import Ctx
from language.intents import Matcher
from language.texts import t
from storage import chat, held, inbound, outbox, writer
from storage.db import transaction

log = logging.getLogger("minsheng.router")
T = TypeVar("T")

BATCH_MAX_ITEMS = 64            # at most this many items share one COMMIT
BATCH_MAX_SECONDS = 0.020       # and no new item joins a batch that has already worked this long
BACKGROUND_BATCH_SECONDS = 0.004  # nor one that handles journalled messages, after this long
CALM_LIMIT, CALM_STEP = 0.5, 0.005  # an outbox send waits at most this long for a burst to pass
PASSIVE_BACKLOG = 4             # a callback waits for its own replies only behind fewer messages than this


class _BatchBroken(Exception):
    """The batch's transaction is gone (SQLite rolled it back): run its items one by one instead."""


class _Entry:
    """A journalled message waiting to be handled. `claim` says who carries its replies: None (not
    decided yet), "passive" (the waiting callback's answer) or "late" (messages, from the outbox).
    `written`: resolved once its journal record is durable; `segment`: the journal file holding it
    (None: the legacy `intake` table of an earlier version)."""

    __slots__ = ("claim", "loop", "msg", "result", "segment", "written")

    def __init__(self, msg: Message, loop: asyncio.AbstractEventLoop | None,
                 result: asyncio.Future | None, claim: str | None = None) -> None:
        self.msg, self.loop, self.result, self.claim = msg, loop, result, claim
        self.written: asyncio.Future | None = None
        self.segment: int | None = None


@dataclass
class _Work:
    fn: Callable[[], Any]
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future | None
    # what a failing `fn` answers instead of raising (a message: kept for staff, an apology)
    recover: Callable[[Exception], Any] | None = None
    result: Any = None
    error: BaseException | None = None
    entry: _Entry | None = None   # background handling of this journalled message


_NOTHING = object()
_WAKE = object()   # queued to wake a sleeping store thread for journalled messages


class _Governor:
    """Background handling gives the core to the callback path while callbacks keep arriving.

    Acknowledging a callback (HTTP, AES, XML and the journal write, all on the event loop) must not
    wait behind handling earlier ones. While callbacks arrived in the last RECENT seconds, the store
    thread starts the next background batch only once no callback waits for its journal write and the
    event-loop thread has used less than BUSY of the core since the previous batch ended (measured
    over at least MIN_SPAN), or MAX_YIELD after it:
    in the worst burst handling still gets about one batch per MAX_YIELD, and all the core the loop
    leaves otherwise. Queued work (calls) runs at once meanwhile. The loop's use of the
    core is read from its thread CPU clock (Linux); without one there is no yielding. Past MAX_BACKLOG
    waiting messages there is no yielding either: handling then takes its fair share of the core, and
    callbacks slow down instead of the backlog growing without bound in memory.
    """

    RECENT, SLICE, MIN_SPAN, BUSY, MAX_YIELD, MAX_BACKLOG = 0.25, 0.005, 0.0005, 0.6, 0.25, 20_000
    enabled = True   # the benchmark's server can switch it off to compare

    def __init__(self) -> None:
        self.clock_id: int | None = None
        self.last_journal = float("-inf")
        self.batch_end, self.batch_end_cpu = float("-inf"), 0.0

    def bind(self, thread_ident: int) -> None:
        try:
            self.clock_id = time.pthread_getcpuclockid(thread_ident)
            time.clock_gettime(self.clock_id)
        except (AttributeError, OSError):
            self.clock_id = None

    def batch_done(self) -> None:
        self.batch_end = time.monotonic()
        if self.clock_id is not None:
            self.batch_end_cpu = time.clock_gettime(self.clock_id)

    def wait(self, work: queue.SimpleQueue, backlog: int, acknowledging: Callable[[], bool]) -> Any:
        """Before background handling: a queued item that arrived meanwhile, or _NOTHING (go on)."""
        if self.clock_id is None or not self.enabled or backlog > self.MAX_BACKLOG:
            return _NOTHING
        while True:
            now = time.monotonic()
            if now - self.last_journal > self.RECENT or now >= self.batch_end + self.MAX_YIELD:
                return _NOTHING
            span = now - self.batch_end
            if (span >= self.MIN_SPAN and not acknowledging()
                    and time.clock_gettime(self.clock_id) - self.batch_end_cpu < self.BUSY * span):
                return _NOTHING
            try:
                return work.get(timeout=self.SLICE)
            except queue.Empty:
                pass


def _settle(items: list[_Work]) -> None:
    """On the event loop: hand each finished item's result (or error) to its waiter."""
    for item in items:
        if item.future is None or item.future.done():
            continue
        if item.error is not None:
            item.future.set_exception(item.error)
        else:
            item.future.set_result(item.result)


def _wake_all(futures: list[asyncio.Future]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


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
        self._loop: asyncio.AbstractEventLoop | None = None
        # journalled messages not handled yet, by key (written on the loop, removed on the store thread
        # once handled), and those durable, in order (the store thread's)
        self._pending: dict[str, _Entry] = {}
        self._backlog: deque[_Entry] = deque()
        self._arrivals: deque[_Entry] = deque()   # durable, not in the backlog yet (from the loop)
        self._sleeping = False                    # the store thread waits for work: wake it for arrivals
        self.journal = IntakeJournal(journal_dir(settings.storage.path), self._arrived)
        self._claims = threading.Lock()
        self._idle: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._governor = _Governor()
        self._flood = FloodGate(settings.limits.sender_messages, settings.limits.sender_window_seconds)
        self.batches = 0          # committed batches (and items in them): how well commits are shared
        self.batched_items = 0
        self.handled = 0          # journalled messages handled
        self.journalling = 0      # callbacks waiting for their journal write (changed on the loop only)
        self._journal_closed = False

    @property
    def backlog(self) -> int:
        """Journalled messages not handled yet (read from any thread)."""
        return len(self._pending)

    # --- the event-loop side ------------------------------------------------------------------

    def start(self) -> None:
        """From the event loop: start the store thread now; it first picks up what a previous run left
        in the journal (whose replies then go out as messages)."""
        self._ensure_thread()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the store thread, inside a savepoint of the current batch's transaction
        (a failing `fn` leaves no writes); returns once that transaction is committed."""
        return await self._submit(lambda: fn(*args))

    async def handle(self, msg: Message) -> list[str]:
        """The replies to `msg`, handled at once (not journalled), returned once committed. For the
        simulator and tools, whose user waits for the answer whatever the load."""
        replies = await self._submit(lambda: self._handle(msg), recover=lambda exc: self._failed(msg, exc))
        self.on_outbox()
        return replies

    async def answer(self, msg: Message, within: float) -> list[str]:
        """What a callback answers, once `msg` is in the journal on disk: its replies when they are
        ready within `within` seconds and few messages are ahead of it, else [] ("success"; the
        replies follow as messages). A retry of a message already handled gets the same replies; a
        retry while the first copy still waits gets "success", and the replies go as messages."""
        if self._closed:
            raise RuntimeError("the store thread is closed")
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        self._ensure_thread()
        key = msg.key
        first = self._pending.get(key) if key else None
        if first is not None:
            # WeChat retries when the first answer did not reach it: that answer may be lost, so the
            # replies go as messages
            with self._claims:
                if first.claim is None:
                    first.claim = "late"
            log.info("retry of %s while it waits to be handled; replies follow as messages", short(key))
            return []
        # the replies' future only when this callback may wait for them
        late = len(self._pending) >= PASSIVE_BACKLOG
        entry = _Entry(msg, loop, None if late else loop.create_future(), "late" if late else None)
        entry.written = loop.create_future()
        if key:
            self._pending[key] = entry
        self._governor.last_journal = time.monotonic()
        self.journalling += 1
        try:
            self.journal.append(entry, vars(msg))
            await entry.written   # cancelled with this callback alone: the write goes on for the others
        except OSError:
            if key and self._pending.get(key) is entry:
                del self._pending[key]   # not on disk, not acknowledged: WeChat sends it again
            raise
        except asyncio.CancelledError:
            self._give_up(entry)   # the caller went away: whatever it would have answered goes as messages
            raise
        finally:
            self.journalling -= 1
        try:
            if entry.claim == "late" or entry.result is None:
                return []
            remaining = within - (time.monotonic() - started)
            try:
                if remaining <= 0:
                    raise TimeoutError
                replies = await asyncio.wait_for(asyncio.shield(entry.result), remaining)
            except TimeoutError:
                if self._give_up(entry):
                    log.warning("%s: answer for %s not ready within %ss; replies follow as messages",
                                msg.channel, short(msg.key), within)
                    return []
                replies = await entry.result   # claimed for this answer just in time: being committed
        except asyncio.CancelledError:
            self._give_up(entry)
            raise
        self.on_outbox()
        return replies

    def _arrived(self, entries: list[_Entry]) -> None:
        """On the loop, from the journal: these messages are durable; the store thread handles them.
        It is woken for them only when it sleeps: waking it for each write during a burst would hand
        it the GIL (and the core) every few callbacks."""
        if self._journal_closed:
            return
        self._arrivals.extend(entries)
        if self._sleeping:
            self._sleeping = False
            self._queue.put(_WAKE)

    def _give_up(self, entry: _Entry) -> bool:
        """Stop waiting for `entry`'s replies: True when they will go as messages instead."""
        with self._claims:
            if entry.claim is None:
                entry.claim = "late"
            return entry.claim == "late"

    async def calm(self, limit: float = CALM_LIMIT) -> None:
        """For background senders on the loop: wait while callbacks wait for their journal write (a
        burst), but at most `limit` seconds, so sending still goes on during the longest burst."""
        if self.journalling <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while self.journalling > 0 and loop.time() < deadline:
            await asyncio.sleep(CALM_STEP)

    async def settled(self) -> None:
        """Returns once every journalled message has been handled (tests, tools, shutdown)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def register() -> None:
            if self._pending:
                self._idle.append((loop, future))
            else:
                loop.call_soon_threadsafe(_wake_all, [future])
        await self.call(register)
        await future

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
                try:
                    self._loop = asyncio.get_running_loop()
                    self._governor.bind(threading.get_ident())
                except RuntimeError:
                    pass
                self._thread = threading.Thread(target=self._run, name="minsheng-store", daemon=True)
                self._thread.start()

    # --- the store thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._load_journal()
        except Exception:
            log.exception("could not read the intake journal; its messages stay there for the next start")
        while True:
            first = self._take(wait=True, background=True)
            if first is None:
                return
            batch = [first]
            stop = False
            try:
                stop = self._run_batch(batch)
            except BaseException as exc:  # never leave a waiter hanging (logged below)
                log.exception("store thread: batch of %d items interrupted", len(batch))
                for work in batch:
                    work.error = RuntimeError(f"store thread interrupted: {type(exc).__name__}")
            finally:
                self._finish(batch)
            if stop:
                return

    def _take(self, wait: bool, background: bool) -> Any:
        """The next item: queued work first (None asks the thread to stop), then the next journalled
        message (when `background`); _NOTHING when there is none and `wait` is False."""
        while True:
            while self._arrivals:
                self._backlog.append(self._arrivals.popleft())
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = _NOTHING
            if item is _WAKE:
                continue
            if item is _NOTHING and background and self._backlog:
                if wait:
                    item = self._governor.wait(self._queue, len(self._backlog) + len(self._arrivals),
                                               lambda: self.journalling > 0)
                    if item is _WAKE:
                        continue
                if item is _NOTHING:
                    return self._background(self._backlog.popleft())
            if item is _NOTHING:
                if not wait:
                    return _NOTHING
                self._sleeping = True
                if self._arrivals:   # arrived after the look above: the loop may not have woken us
                    self._sleeping = False
                    continue
                item = self._queue.get()
                self._sleeping = False
                if item is _WAKE:
                    continue
            return item

    def _background(self, entry: _Entry) -> _Work:
        return _Work(lambda: self._process(entry), entry.loop, entry.result, entry=entry)

    def _run_batch(self, batch: list[_Work]) -> bool:
        """Run `batch[0]`, and what is queued meanwhile (appended to `batch`), in one transaction with
        one COMMIT. True when the queue asked the thread to stop (after this batch)."""
        db = self.db
        try:
            writer.begin(db)
        except sqlite3.Error:
            log.exception("could not begin a write transaction; running the item on its own")
            self._one_by_one(batch)
            return False
        started, stop = time.monotonic(), False
        limit = BATCH_MAX_SECONDS
        try:
            index = 0
            while True:
                work = batch[index]
                index += 1
                self._in_savepoint(work)
                if work.entry is not None:
                    limit = BACKGROUND_BATCH_SECONDS
                if len(batch) >= BATCH_MAX_ITEMS or time.monotonic() - started > limit:
                    break
                nxt = self._take(wait=False, background=True)
                if nxt is _NOTHING:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            writer.commit(db)
            self.batches += 1
            self.batched_items += len(batch)
        except (sqlite3.Error, _BatchBroken):
            log.exception("group commit of %d items failed; running them one by one", len(batch))
            writer.rollback(db)
            self._one_by_one(batch)
        except BaseException:
            writer.rollback(db)
            raise
        return stop

    def _in_savepoint(self, work: _Work) -> None:
        """One item inside the batch: when it fails, only its own writes are undone."""
        conn = self.db.conn
        writer.savepoint(self.db, "item")
        try:
            work.result = work.fn()
        except Exception as exc:  # handed to the caller (or to `recover`)
            if not conn.in_transaction:
                raise _BatchBroken from exc
            try:
                writer.rollback_to(self.db, "item")
            except sqlite3.Error as broken:
                raise _BatchBroken from broken
            if work.recover is None:
                work.error = exc
            else:
                work.result = work.recover(exc)
            if not conn.in_transaction:
                raise _BatchBroken from exc
        writer.release(self.db, "item")

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
        background = False
        for work in batch:
            if work.entry is not None:
                background = True
                self.handled += 1
                key = work.entry.msg.key
                if self._pending.get(key) is work.entry:
                    del self._pending[key]
                if work.error is None:   # else its record stays, for the next start
                    self.journal.handled(work.entry.segment)
                if work.entry.claim == "late":
                    continue  # nobody waits: its replies went into the outbox
            if work.loop is not None:
                by_loop.setdefault(work.loop, []).append(work)
        if background:
            self._governor.batch_done()
            if self._loop is not None:
                by_loop.setdefault(self._loop, [])
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(self._after_commit, items, background and loop is self._loop)
            except RuntimeError:
                log.warning("event loop closed; %d results dropped after commit", len(items))
        if not self._pending and self._idle:
            idle, self._idle = self._idle, []
            for loop, future in idle:
                try:
                    loop.call_soon_threadsafe(_wake_all, [future])
                except RuntimeError:
                    pass

    def _after_commit(self, items: list[_Work], wake_outbox: bool) -> None:
        _settle(items)
        if wake_outbox:
            self.on_outbox()

    # --- the journal -----------------------------------------------------------------------------

    def _load_journal(self) -> None:
        """At start: messages journalled but not handled before a stop or crash (records whose key is
        in neither `inbound` nor `failed_inbound`, and rows of the `intake` table an earlier version
        kept); nobody waits for their replies any more, so they go as messages."""
        found: list[_Entry] = []
        for key, raw in inbound.legacy_intake(self.db):
            try:
                found.append(_Entry(to_message(json.loads(raw)), None, None, claim="late"))
            except (ValueError, RecursionError):   # the row stays in the table, for staff
                log.error("intake row %s is not a message; left in the table", short(key))
                self.journal.problems.quarantined += 1
        legacy = len(found)
        for seg_id, msg in self.journal.load_leftover(self._known):
            found.append(_Entry(msg, None, None, claim="late"))
            found[-1].segment = seg_id
        for entry in found:
            if entry.msg.key in self._pending:
                self.journal.handled(entry.segment)   # the same message twice in the journal: once
                continue
            if entry.msg.key:
                self._pending[entry.msg.key] = entry
            self._backlog.append(entry)
        if found:
            log.warning("%d journalled messages from the previous run will be handled now (%d legacy)",
                        len(found), legacy)

    def _known(self, keys: list[str]) -> set[str]:
        """Which of these message keys are handled (in `inbound`) or kept as failed."""
        return inbound.known(self.db, keys)

    def _process(self, entry: _Entry) -> list[str]:
        """Handle one journalled message: its effects and its `inbound` record in one savepoint (a
        retry of a message handled before is answered from the ledger); a failing handler is kept for
        staff (as in `handle`)."""
        msg, conn = entry.msg, self.db.conn
        writer.savepoint(self.db, "message")
        try:
            replies = self._handle(msg)
        except Exception as exc:  # kept for staff below, never lost
            if not conn.in_transaction:
                raise _BatchBroken from exc
            writer.undo_savepoint(self.db, "message")
            replies = self._failed(msg, exc)
        else:
            writer.release(self.db, "message")
        if entry.segment is None:   # from the legacy table
            inbound.forget_legacy(self.db, msg.key)
        with self._claims:
            if entry.claim is None:
                entry.claim = "passive"
        if entry.claim == "late":
            self._send_late(msg, replies)
        return replies

    def _send_late(self, msg: Message, replies: list[str]) -> None:
        """Replies nobody waits for go out as messages, from the outbox (same transaction)."""
        if msg.key:
            inbound.mark_replied_late(self.db, msg.key)
        if replies:  # one message, as the passive reply would have been
            kind = "resident" if msg.role == "resident" else "staff"
            outbox.enqueue(self.db, kind, msg.sender, "\n\n".join(replies), self.clock.now(), ref="late-reply")

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
        log.error("handler failed for %s message %s; kept for staff", msg.channel, short(msg.key), exc_info=exc)
        self._keep_failed(msg)
        return [t("common.internal_error")]

    def _answer_again(self, earlier: dict | None) -> list[str]:
        """A retry of a handled message (its `inbound` row): the stored answer, or nothing when its
        replies went as messages."""
        if earlier is None:   # cannot happen inside one transaction; answer nothing rather than fail
            return []
        log.info("duplicate callback %s answered from the ledger", short(earlier["key"]))
        if earlier["replied_late"]:
            return []
        inbound.mark_answered_again(self.db, earlier["key"])
        return json.loads(earlier["reply"] or "[]")

    def _handle(self, msg: Message) -> list[str]:
        if msg.key:
            earlier = inbound.seen(self.db, msg.key)
            if earlier is not None:
                return self._answer_again(earlier)
        ctx = Ctx(self.db, self.clock.now(), self.settings, self.matcher)
        kind = "resident" if msg.role == "resident" else "staff"
        if msg.kind == "text":
            chat.log_chat(self.db, kind, msg.sender, "in", msg.text, ctx.now)
        gate = self._flood.admit(msg.sender, ctx.now.timestamp()) if msg.role == "resident" else "pass"
        if gate != "pass":
            held.hold(self.db, msg.key, msg.channel, msg.sender, msg.kind, msg.text, ctx.now)
            if gate == "notice":
                log.warning("%s: sender %s over the message limit; holding the rest", msg.channel, short(msg.sender))
                ctx.say(t("intake.flood"))
        elif msg.role == "resident":
            resident.handle(ctx, msg)
        else:
            worker.handle(ctx, msg)
        if msg.cut and gate == "pass":
            ctx.say(t("intake.cut", kept=len(msg.text), cut=msg.cut))
        for reply in ctx.replies:
            chat.log_chat(self.db, kind, msg.sender, "out", reply, ctx.now)
        if msg.key:
            inbound.remember(self.db, msg.key, msg.channel, msg.sender,
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

    def _keep_failed(self, msg: Message) -> None:
        """A message whose handling failed is still stored, once, for staff to see."""
        try:
            with transaction(self.db):
                if msg.key and inbound.seen(self.db, msg.key):
                    return
                inbound.keep_failed(self.db, msg.key, msg.channel, msg.sender, msg.kind, msg.text,
                                    self.clock.now())
        except Exception:
            log.exception("could not keep failed message %s", short(msg.key))

    def close(self) -> None:
        """Finish the queued work, then stop the store thread (journalled messages not handled yet
        stay in the journal for the next start)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        self._journal_closed = True
        self.journal.close()
