"""Intake: every message of every channel (the simulator included) comes in here, once.

A message is appended to the intake journal (`bot/journal.py`, files synced before anything is
answered), so whatever is acknowledged is on disk; then it is handed to the writer thread
(storage/writer.py), which routes it (bot/dispatcher.py) and commits its effects with its `inbound`
record, in arrival order and with group commit. The callback waits for its own replies, to give them
as the passive reply, while they are ready within the answer window; past it, it answers "success"
and the replies go as messages from the outbox. Who carries the replies is decided once, under a lock
(`claim`): the waiting callback ("passive") or the outbox ("late"), never both and never neither.

Journal records a crash leaves, whose keys are in neither `inbound` nor `failed_inbound`, are handled at
the next start (their replies go as messages), before anything new.

On PostgreSQL (several instances on one database) the journal is the `intake` table instead
(bot/journal_db.py): a retry reaching another instance is answered "success" there, the message is
handled once, under the sender's lock, by the instance holding its row, and the rows of an instance
that died are taken over by another once its lease lapses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.journal import IntakeJournal, journal_dir
from bot.journal_db import DbJournal
from bot.logsafe import short
from bot.messages import Message
from bot.quarantine import to_message
from handlers.context import Ctx
from storage import inbound, outbox
from storage.writer import Job, Writer

log = logging.getLogger("minsheng.intake")
T = TypeVar("T")


class _Entry:
    """A journalled message waiting to be handled. `claim`: who carries its replies: None (not decided
    yet), "passive" (the waiting callback's answer) or "late" (messages, from the outbox). `segment`:
    the journal file holding it (None: the legacy `intake` table of an earlier version)."""

    __slots__ = ("claim", "key", "msg", "result", "segment", "written")

    def __init__(self, msg: Message, result: asyncio.Future | None, claim: str | None = None) -> None:
        self.msg, self.result, self.claim = msg, result, claim
        self.key = msg.key or f"local:{uuid.uuid4().hex}"   # a message without one is still one row
        self.written: asyncio.Future | None = None
        self.segment: int | None = None


class Intake:
    def __init__(self, writer: Writer, dispatcher: Dispatcher, settings: Settings) -> None:
        self.writer = writer
        self.dispatcher = dispatcher
        self.db = writer.db
        self.settings, self.clock = settings, dispatcher.clock
        self.on_outbox: Callable[[], None] = lambda: None
        self.instance = uuid.uuid4().hex[:12]   # this process, among the instances sharing the store
        self.journal: IntakeJournal | DbJournal
        if settings.storage.url:
            self.journal = DbJournal(settings.storage.url, self.instance, settings.storage.lease_seconds,
                                     self.clock, self._arrived, self._taken_over)
        else:
            self.journal = IntakeJournal(journal_dir(settings.storage.path), self._arrived)
        # journalled messages not handled yet, by key (added on the loop, removed on the writer thread)
        self._pending: dict[str, _Entry] = {}
        self._claims = threading.Lock()
        self._idle: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.handled = 0          # journalled messages handled
        writer.on_commit = self._committed

    @property
    def backlog(self) -> int:
        """Journalled messages not handled yet (read from any thread)."""
        return len(self._pending)

    def start(self) -> None:
        """From the event loop: start the writer, which first picks up what a previous run left in the
        journal (whose replies then go out as messages)."""
        self._loop = asyncio.get_running_loop()
        self.writer.start(first=self._load_journal)
        self.journal.start()

    async def answer(self, msg: Message, within: float | None) -> list[str]:
        """The replies to `msg` once it is in the journal on disk and handled within `within` seconds
        (None: however long it takes, for the simulator), else [] ("success"; they follow as messages).
        A retry of a handled message gets the same replies; a retry while the first copy still waits
        gets "success", and the replies go as messages."""
        if self._closed:
            raise RuntimeError("intake is closed")
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self.start()
        first = self._pending.get(msg.key) if msg.key else None
        if first is not None:
            # WeChat retries when the first answer did not reach it: that answer may be lost
            self._give_up(first)
            log.info("retry of %s while it waits to be handled; replies follow as messages", short(msg.key))
            return []
        # no time to wait at all: the replies go as messages, decided before the writer can claim them
        entry = _Entry(msg, loop.create_future(), "late" if within is not None and within <= 0 else None)
        await self._write(entry, loop)
        try:
            return await self._wait(entry, within, started)
        except asyncio.CancelledError:
            self._give_up(entry)   # the caller went away: whatever it would have answered goes as messages
            raise

    async def _write(self, entry: _Entry, loop: asyncio.AbstractEventLoop) -> None:
        key = entry.msg.key
        entry.written = loop.create_future()
        if key:
            self._pending[key] = entry
        try:
            self.journal.append(entry, vars(entry.msg))
            await entry.written   # cancelled with this callback alone: the write goes on for the others
        except OSError:
            if key and self._pending.get(key) is entry:
                del self._pending[key]   # not on disk, not acknowledged: WeChat sends it again
            raise
        except asyncio.CancelledError:
            self._give_up(entry)
            raise

    async def _wait(self, entry: _Entry, within: float | None, started: float) -> list[str]:
        """The replies once handled, or [] when they are not ready within `within` (a timer, not a
        task per callback: this runs for every message)."""
        result = entry.result
        assert result is not None
        timer = None
        if within is not None:
            remaining = within - (time.monotonic() - started)
            if remaining <= 0:
                self._expire(entry, within)
            else:
                timer = asyncio.get_running_loop().call_later(remaining, self._expire, entry, within)
        try:
            replies = await result   # cancelled with this callback alone (answer() gives the replies up)
        finally:
            if timer is not None:
                timer.cancel()
        self.on_outbox()
        return replies

    def _expire(self, entry: _Entry, within: float) -> None:
        """The answer window is over: unless the writer has claimed them for this answer already (then
        they come in a moment), the replies go as messages and the callback answers "success"."""
        if self._give_up(entry):
            log.warning("%s: answer for %s not ready within %ss; replies follow as messages",
                        entry.msg.channel, short(entry.msg.key), within)
            if entry.result is not None and not entry.result.done():
                entry.result.set_result([])

    def _give_up(self, entry: _Entry) -> bool:
        """Stop waiting for `entry`'s replies: True when they will go as messages instead."""
        with self._claims:
            if entry.claim is None:
                entry.claim = "late"
            return entry.claim == "late"

    def _arrived(self, entries: list[_Entry], elsewhere: list[_Entry] | None = None) -> None:
        """On the loop, from the journal: these messages are durable; the writer handles them.
        `elsewhere`: retries of messages another instance holds: answered "success" (it sends their
        replies as messages)."""
        for entry in elsewhere or ():
            if self._pending.get(entry.msg.key) is entry:
                del self._pending[entry.msg.key]
            self._give_up(entry)
            if entry.result is not None and not entry.result.done():
                entry.result.set_result([])
        if self._closed:
            return
        for entry in entries:
            self._submit(entry)

    def _taken_over(self, rows: list[tuple[str, str]]) -> None:
        """On the loop: journalled messages of an instance that stopped, now this one's to handle
        (nobody waits for their replies)."""
        if self._closed:
            return
        for key, raw in rows:
            entry = _from_row(key, raw)
            if entry is None or key in self._pending:
                continue
            self._pending[key] = entry
            self._submit(entry)

    def _submit(self, entry: _Entry) -> None:
        loop = self._loop if entry.result is not None else None
        self.writer.submit(Job(lambda: self._process(entry), loop, entry.result,
                               recover=lambda exc: self._recover(entry, exc), after=self._after(entry)))

    def _process(self, entry: _Entry) -> list[str]:
        """On the writer thread: handle one journalled message (its effects and its `inbound` record in
        the job's savepoint), unless another instance has taken it over."""
        with self._claims:
            if entry.claim == "passive":   # run again (PostgreSQL, after a deadlock): nothing was kept
                entry.claim = None
        if not self._take(entry):
            return self._lost_answer(entry)
        return self._deliver(entry, self.dispatcher.feed(self.db, entry.msg))

    def _lost_answer(self, entry: _Entry) -> list[str]:
        """Its row is gone. Handled by this instance in a transaction whose COMMIT's answer was lost
        (the ledger has it, replies not sent as messages): the same replies, by the usual way. Else
        another instance took it over and sends its replies: nothing here."""
        earlier = inbound.seen(self.db, entry.key)
        if earlier is None or earlier["replied_late"]:
            return []
        return self._deliver(entry, self.dispatcher.feed(self.db, entry.msg))

    def _recover(self, entry: _Entry, exc: Exception) -> list[str]:
        """A failing handler (its writes undone): the message is kept for staff, the sender gets an
        apology."""
        if not self._take(entry):
            return []
        return self._deliver(entry, self.dispatcher.failed(self.db, entry.msg, exc))

    def _take(self, entry: _Entry) -> bool:
        """In the handling transaction: the message's journal row is this instance's to handle (and
        gone with the commit). Not held, or a retry reached another instance meanwhile: its replies
        (if any) go as messages."""
        held, late = self.journal.take(self.db, entry)
        if not held or late:
            with self._claims:
                if entry.claim is None:
                    entry.claim = "late"
        if not held:
            log.info("%s was taken over by another instance", short(entry.key))
        return held

    def _deliver(self, entry: _Entry, replies: list[str]) -> list[str]:
        with self._claims:
            if entry.claim is None:
                entry.claim = "passive"
        if entry.claim == "late":
            self._send_late(entry.msg, replies)
        return replies

    def _send_late(self, msg: Message, replies: list[str]) -> None:
        """Replies nobody waits for go out as one message, from the outbox (same transaction)."""
        if msg.key:
            inbound.mark_replied_late(self.db, msg.key)
        if replies:
            kind = "resident" if msg.role == "resident" else "staff"
            outbox.enqueue(self.db, kind, msg.sender, "\n\n".join(replies), self.dispatcher.clock.now(),
                           ref="late-reply")

    def _after(self, entry: _Entry) -> Callable[[Job], None]:
        def after(job: Job) -> None:
            self.handled += 1
            key = entry.msg.key
            if self._pending.get(key) is entry:
                del self._pending[key]
            if job.error is None:
                self.journal.handled(entry.segment)
            else:                   # its record stays, for the next start (or another instance)
                self.journal.failed(entry)
            if entry.claim == "late":
                job.result = []      # its replies went into the outbox: a waiter answers "success"
        return after

    def _committed(self, batch: list[Job]) -> None:
        """On the writer thread, after each COMMIT: the outbox may have work; `settled` waiters."""
        if self._loop is not None and any(job.after is not None for job in batch):   # messages were handled
            try:
                self._loop.call_soon_threadsafe(self.on_outbox)
            except RuntimeError:
                pass
        if not self._pending and self._idle:
            idle, self._idle = self._idle, []
            for loop, future in idle:
                try:
                    loop.call_soon_threadsafe(_wake, future)
                except RuntimeError:
                    pass

    async def settled(self) -> None:
        """Returns once every journalled message has been handled (tests, tools, shutdown)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def register() -> None:
            if self._pending:
                self._idle.append((loop, future))
            else:
                loop.call_soon_threadsafe(_wake, future)
        await self.writer.call(register)
        await future

    async def run_job(self, job: Callable[[Ctx], T]) -> T:
        """A time-driven job (it takes a Ctx), in one transaction on the writer; wakes the outbox."""
        result = await self.writer.call(self.dispatcher.job, self.db, job)
        self.on_outbox()
        return result

    def _load_journal(self) -> None:
        """On the writer thread, at start: messages journalled but not handled before a stop or crash
        (and rows of the `intake` table an earlier version kept); nobody waits for their replies."""
        if isinstance(self.journal, DbJournal):
            return   # its thread takes over what stopped instances left, from the start on
        found: list[_Entry] = []
        for key, raw in inbound.legacy_intake(self.db):
            entry = _from_row(key, raw)
            if entry is None:
                self.journal.problems.quarantined += 1
            else:
                found.append(entry)
        legacy = len(found)
        for seg_id, msg in self.journal.load_leftover(lambda keys: inbound.known(self.db, keys)):
            found.append(_Entry(msg, None, claim="late"))
            found[-1].segment = seg_id
        for entry in found:
            if entry.msg.key in self._pending:
                self.journal.handled(entry.segment)   # the same message twice in the journal: once
                continue
            if entry.msg.key:
                self._pending[entry.msg.key] = entry
            self._submit(entry)
        if found:
            log.warning("%d journalled messages from the previous run will be handled now (%d legacy)",
                        len(found), legacy)

    def close(self) -> None:
        """Finish the queued work, then stop the writer (journalled messages not handled yet stay in
        the journal for the next start)."""
        if self._closed:
            return
        self._closed = True
        self.writer.close()
        self.journal.close()


def _from_row(key: str, raw: str) -> _Entry | None:
    """The message of an `intake` row, nobody waiting for its replies; None (logged) when the row holds
    none (it stays in the table, for staff)."""
    try:
        entry = _Entry(to_message(json.loads(raw)), None, claim="late")
    except (ValueError, RecursionError):
        log.error("intake row %s is not a message; left in the table", short(key))
        return None
    entry.key = key
    return entry


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
