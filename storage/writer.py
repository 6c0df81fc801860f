"""The single writer: one thread runs every write of the process, in arrival order, with group commit
(one write transaction per batch, a savepoint per job inside it, so that a failing job undoes only its
own writes). Generic: it runs plain functions and knows nothing of messages (bot/intake.py feeds it).

On PostgreSQL, where other instances write to the same database, each job is its own transaction
instead: the row locks it takes (rollup rows, a sender's lock) are held for one job, not a batch, and
PostgreSQL shares the WAL flush of concurrent commits itself. A job that meets a deadlock with another
instance, a serialization failure or a lost connection (opened again) is run again, from the start:
jobs are functions of the store's state."""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlite_utils import Database

from storage.instances import shared

log = logging.getLogger("minsheng.writer")
T = TypeVar("T")


def begin(db: Database) -> None:
    """A write transaction, taking the write lock at once (no deadlock on upgrade later)."""
    db.conn.execute("BEGIN IMMEDIATE")


def commit(db: Database) -> None:
    db.conn.execute("COMMIT")


def rollback(db: Database) -> None:
    """Undo the open transaction, if SQLite has not rolled it back itself."""
    if db.conn.in_transaction:
        db.conn.execute("ROLLBACK")


def savepoint(db: Database, name: str) -> None:
    db.conn.execute(f"SAVEPOINT {name}")


def undo_savepoint(db: Database, name: str) -> None:
    """Undo what was written since the savepoint, and close it."""
    db.conn.execute(f"ROLLBACK TO {name}")
    db.conn.execute(f"RELEASE {name}")


def rollback_to(db: Database, name: str) -> None:
    """Undo what was written since the savepoint; the savepoint stays open."""
    db.conn.execute(f"ROLLBACK TO {name}")


def release(db: Database, name: str) -> None:
    db.conn.execute(f"RELEASE {name}")


# --- the writer thread ------------------------------------------------------------------------------

BATCH_MAX_ITEMS = 128        # at most this many jobs share one COMMIT
BATCH_MAX_SECONDS = 0.030    # and no job joins a batch that has already worked this long
ATTEMPTS = 3                 # PostgreSQL: a job meeting a transient failure runs at most this often
RETRY_PAUSE = 0.05           # seconds before the 2nd attempt (twice that before the 3rd)


class _BatchBroken(Exception):
    """The batch's transaction is gone (SQLite rolled it back): run its jobs one by one instead."""


@dataclass(eq=False)
class Job:
    """A plain function for the writer thread. `future` (on `loop`) gets its result once committed;
    `recover` answers instead of a failing `fn` (after its writes are undone); `after` runs on the
    writer thread once the job is committed (or has failed), before the waiter is woken."""

    fn: Callable[[], Any]
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future | None = None
    recover: Callable[[Exception], Any] | None = None
    after: Callable[[Job], None] | None = None
    result: Any = None
    error: BaseException | None = None


class Writer:
    """The single writer: one thread runs every write, in arrival order. It takes whatever is queued,
    runs each job inside its own SAVEPOINT of one write transaction and COMMITs once for the batch
    (group commit); only then are the jobs' waiters woken. A failing job rolls back only its own
    savepoint; a batch that cannot be committed is run again job by job, each in its own
    transaction. It knows nothing of messages: `on_commit(batch)` tells its owner what was committed."""

    def __init__(self, db: Database, name: str = "minsheng-writer") -> None:
        self.db = db
        self.name = name
        self.on_commit: Callable[[list[Job]], None] = lambda batch: None
        self.batches = 0          # committed batches and jobs in them: how well commits are shared
        self.batched_items = 0
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.alone = shared(db)   # one transaction per job (PostgreSQL), not group commit
        self.retried = 0          # jobs run again after a transient failure

    def start(self, first: Callable[[], None] | None = None) -> None:
        """Start the thread (once); `first` runs on it before any job."""
        if self._thread is not None and not self._closed:   # every `run` asks: no lock once started
            return
        with self._lock:
            if self._closed:
                raise RuntimeError("the writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, args=(first,), name=self.name, daemon=True)
                self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job (from any thread)."""
        if self._closed:
            raise RuntimeError("the writer is closed")
        self._queue.put(job)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the writer thread; returns once its transaction is committed."""
        return await self.run(lambda: fn(*args))

    async def run(self, fn: Callable[[], T], recover: Callable[[Exception], T] | None = None) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self.start()
        self.submit(Job(fn, loop, future, recover))
        return await future

    def close(self) -> None:
        """Finish the queued jobs, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()

    # --- on the writer thread ---------------------------------------------------------------------

    def _run(self, first: Callable[[], None] | None) -> None:
        if first is not None:
            try:
                first()
            except Exception:
                log.exception("%s: start-up work failed", self.name)
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            stop = False
            try:
                stop = self._run_batch(batch)
            except BaseException as exc:  # never leave a waiter hanging (logged)
                log.exception("%s: batch of %d jobs interrupted", self.name, len(batch))
                for item in batch:
                    item.error = RuntimeError(f"writer interrupted: {type(exc).__name__}")
            finally:
                self._finish(batch)
            if stop:
                return

    def _run_batch(self, batch: list[Job]) -> bool:
        """Run `batch[0]` and what is queued meanwhile (appended to `batch`) in one transaction with
        one COMMIT. True when the queue asked the thread to stop (after this batch)."""
        if self.alone:
            self._alone(batch[0])
            self.batches += 1
            self.batched_items += 1
            return False
        try:
            begin(self.db)
        except sqlite3.Error:
            log.exception("%s: could not begin a write transaction; running the job on its own", self.name)
            self._one_by_one(batch)
            return False
        started, stop, index = time.monotonic(), False, 0
        try:
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
            commit(self.db)
            self.batches += 1
            self.batched_items += len(batch)
        except (sqlite3.Error, _BatchBroken):
            log.exception("%s: group commit of %d jobs failed; running them one by one", self.name, len(batch))
            rollback(self.db)
            self._one_by_one(batch)
        except BaseException:
            rollback(self.db)
            raise
        return stop

    def _in_savepoint(self, job: Job) -> None:
        """One job inside the batch: when it fails, only its own writes are undone."""
        conn = self.db.conn
        savepoint(self.db, "job")
        try:
            job.result = job.fn()
        except Exception as exc:  # handed to the waiter (or to `recover`)
            if not conn.in_transaction:
                raise _BatchBroken from exc
            try:
                rollback_to(self.db, "job")
            except sqlite3.Error as broken:
                raise _BatchBroken from broken
            if job.recover is None:
                job.error = exc
            else:
                job.result = job.recover(exc)
            if not conn.in_transaction:
                raise _BatchBroken from exc
        release(self.db, "job")

    def _one_by_one(self, batch: list[Job]) -> None:
        """Without group commit: each job in its own transaction."""
        for job in batch:
            job.result, job.error = None, None
            self._alone(job)

    def _alone(self, job: Job) -> None:
        """One job in its own transaction, run again after a transient failure; a failing job's
        `recover` answers in a transaction of its own."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                job.result = self._in_transaction(job.fn)
                return
            except Exception as exc:  # noqa: BLE001 - handed to the waiter (or to `recover`)
                if attempt < ATTEMPTS and self._mended(exc):
                    time.sleep(RETRY_PAUSE * attempt)   # let the other instance's transaction end
                    self.retried += 1
                    log.info("%s: job met %s; running it again", self.name, type(exc.__cause__ or exc).__name__)
                    continue
                if job.recover is None:
                    job.error = exc
                    return
                try:
                    job.result = self._in_transaction(functools.partial(job.recover, exc))
                except Exception as again:  # noqa: BLE001
                    job.error = again
                return

    def _in_transaction(self, fn: Callable[[], T]) -> T:
        begin(self.db)
        try:
            result = fn()
            commit(self.db)
        except BaseException:
            try:
                rollback(self.db)
            except sqlite3.Error:
                log.warning("%s: rollback failed (the connection is lost)", self.name)
            raise
        return result

    def _mended(self, exc: Exception) -> bool:
        """True when `exc` may pass if the job runs again (a lost connection is opened again first);
        never on SQLite, where no other instance makes a transaction fail."""
        if not self.alone:
            return False
        from storage import pg

        conn = self.db.conn
        if not pg.transient(exc):
            return False
        if conn.broken:
            try:
                conn.reconnect()
            except sqlite3.Error as again:
                log.error("%s: the database cannot be reached: %s", self.name, again)
                return False
        return True

    def _finish(self, batch: list[Job]) -> None:
        """After the COMMIT: each job's `after`, then each waiting loop woken once for the batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Job]] = {}
        for job in batch:
            if job.after is not None:
                try:
                    job.after(job)
                except Exception:
                    log.exception("%s: after-commit step failed", self.name)
            if job.loop is not None and job.future is not None:
                by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, jobs)
            except RuntimeError:
                log.warning("%s: event loop closed; %d results dropped after commit", self.name, len(jobs))
        try:
            self.on_commit(batch)
        except Exception:
            log.exception("%s: on_commit failed", self.name)


def _settle(jobs: list[Job]) -> None:
    """On the event loop: hand each finished job's result (or error) to its waiter."""
    for job in jobs:
        if job.future is None or job.future.done():
            continue
        if job.error is not None:
            job.future.set_exception(job.error)
        else:
            job.future.set_result(job.result)
