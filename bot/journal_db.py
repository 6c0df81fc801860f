"""The intake journal in the database, for several instances on one PostgreSQL store.

What bot/journal.py does with files on one machine this does with rows of `intake`
(storage/intake_rows.py), so that a message acknowledged by an instance that then dies is handled by
another. The event loop hands the messages of one loop iteration to this journal's thread, which
inserts them with one statement on its own connection (committed before the callbacks are answered)
and wakes the loop once per batch. A key already journalled (a retry reaching this instance while
another holds the message) is answered "success", and the row is marked so that its replies go as
messages. The thread also renews this instance's leases and takes over the rows of instances whose
leases have lapsed (their replies go as messages), every third of the lease, from the start on.

The writer deletes a message's row in the transaction that handles it (`take`), under the sender's
lock, and only while this instance still holds it: a message is handled once, by one instance.
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
from typing import Any

from sqlite_utils import Database

from bot.clock import Clock
from bot.quarantine import Problems
from language.texts import t
from storage import intake_rows
from storage.db import Store

log = logging.getLogger("minsheng.journal")
MAX_BATCH = 500   # rows in one INSERT


class DbJournal:
    """Batched inserts from the event loop, leases and take-overs on its own thread."""

    directory = None   # nothing on this machine's disk

    def __init__(self, url: str, owner: str, lease: float, clock: Clock,
                 on_durable: Callable[[list[Any], list[Any]], None],
                 on_taken: Callable[[list[tuple[str, str]]], None]) -> None:
        self.url, self.owner, self.lease, self.clock = url, owner, lease, clock
        self.on_durable = on_durable   # on the loop: (journalled now, journalled already elsewhere)
        self.on_taken = on_taken       # on the loop: (key, message JSON) taken over from lapsed leases
        self.problems = Problems()     # never any: nothing is read back from files
        self.failure: str | None = None
        self.failures = 0
        self._buffered: list[tuple[Any, dict[str, Any]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: queue.SimpleQueue[list[tuple[Any, dict[str, Any]]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._db: Database | None = None
        self._db_lock = threading.Lock()
        self._abandoned: list[str] = []   # keys whose handling failed: given up at the next turn
        self._abandon_lock = threading.Lock()

    # --- the event loop ------------------------------------------------------------------------

    def append(self, entry: Any, record: dict[str, Any]) -> None:
        """Journal `record` for `entry` with this loop iteration's others; `entry.written` is resolved
        once its row is committed, or gets the error."""
        if not self._buffered:
            self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._flush)
            self._start()
        self._buffered.append((entry, record))

    def _flush(self) -> None:
        batch, self._buffered = self._buffered, []
        for i in range(0, len(batch), MAX_BATCH):
            self._queue.put(batch[i:i + MAX_BATCH])

    def _durable(self, batch: list[tuple[Any, dict[str, Any]]], inserted: set[str], error: str | None) -> None:
        entries = [entry for entry, _ in batch]
        for entry in entries:
            if entry.written is not None and not entry.written.done():
                if error is None:
                    entry.written.set_result(None)
                else:
                    entry.written.set_exception(OSError(f"journal write failed: {error}"))
        if error is None:
            self.on_durable([e for e in entries if e.key in inserted], [e for e in entries if e.key not in inserted])

    # --- the writer thread (in the transaction handling the message) ----------------------------

    def take(self, db: Database, entry: Any) -> tuple[bool, bool]:
        """(held, late): whether this instance still holds the message (its row is deleted now), and
        whether a retry reached another instance meanwhile (then its replies go as messages)."""
        return intake_rows.take(db, entry.key, entry.msg.sender, self.owner)

    def handled(self, segment: int | None) -> None:
        """Nothing to do: the row went in the handling transaction."""

    def failed(self, entry: Any) -> None:
        """From the writer thread: handling `entry` failed even its recovery (the database refused every
        attempt): its row is given up at the next turn, for whichever instance sweeps first."""
        with self._abandon_lock:
            self._abandoned.append(entry.key)

    # --- the journal's thread --------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="minsheng-journal", daemon=True)
            self._thread.start()

    def start(self) -> None:
        """Begin renewing leases and taking over lapsed ones now, before any message arrives."""
        self._loop = asyncio.get_running_loop()
        self._start()

    def _run(self) -> None:
        every = max(self.lease / 3, 0.2)
        due = 0.0
        while True:
            try:
                batch = self._queue.get(timeout=max(due - time.monotonic(), 0))
            except queue.Empty:
                batch = []
            if batch is None:
                return
            if batch:
                self._write(batch)
            if time.monotonic() >= due:
                self._tend()
                due = time.monotonic() + every

    def _connection(self) -> Database:
        if self._db is None:
            from storage import pg

            self._db = Store(pg.PgConnection.connect(self.url))
        return self._db

    def _call(self, fn: Callable[[Database], Any]) -> Any:
        """`fn` on this journal's connection; a connection that failed is opened again next time."""
        with self._db_lock:
            try:
                return fn(self._connection())
            except Exception:
                if self._db is not None:
                    self._db.conn.close()
                    self._db = None
                raise

    def _write(self, batch: list[tuple[Any, dict[str, Any]]]) -> None:
        records = [(entry.key, entry.msg.sender, json.dumps(record, ensure_ascii=False)) for entry, record in batch]
        error: str | None = None
        inserted: set[str] = set()
        try:
            try:
                inserted = self._call(lambda db: self._insert(db, records))
            except sqlite3.OperationalError:   # a lost connection: once more, on a new one
                inserted = self._call(lambda db: self._insert(db, records))
            self.failure = None
        except Exception as exc:  # noqa: BLE001 - not journalled: not acknowledged, WeChat sends it again
            error = f"{type(exc).__name__}: {exc}"
            self.failure, self.failures = f"write failed: {error}", self.failures + 1
            log.error("journal insert failed (%s); %d callbacks not acknowledged", error, len(batch))
        self._to_loop(self._durable, batch, inserted, error)

    def _insert(self, db: Database, records: list[tuple[str, str, str]]) -> set[str]:
        """The keys journalled for this instance: inserted now, or by this instance's attempt whose
        answer a lost connection swallowed."""
        inserted = intake_rows.journal(db, self.owner, self.lease, self.clock.now(), records)
        elsewhere = [key for key, _, _ in records if key not in inserted]
        if elsewhere:
            inserted |= intake_rows.held_by(db, elsewhere, self.owner)
            elsewhere = [key for key in elsewhere if key not in inserted]
        if elsewhere:
            held = intake_rows.mark_late(db, elsewhere)
            gone = [r for r in records if r[0] in elsewhere and r[0] not in held]
            if gone:   # handled meanwhile: journalled again, the ledger answers the retry
                inserted |= intake_rows.journal(db, self.owner, self.lease, self.clock.now(), gone)
            log.info("%d retries of messages another instance holds (%d handled already)", len(elsewhere),
                     len(gone))
        return inserted

    def _tend(self) -> None:
        """Renew this instance's leases; take over the rows of instances that stopped renewing."""
        try:
            taken = self._call(self._renew_and_take)
        except Exception as exc:  # noqa: BLE001 - tried again at the next turn
            log.error("journal leases not renewed: %s", exc)
            return
        if taken:
            log.warning("took over %d journalled messages from an instance that stopped", len(taken))
            self._to_loop(self.on_taken, taken)

    def _renew_and_take(self, db: Database) -> list[tuple[str, str]]:
        with self._abandon_lock:
            abandoned, self._abandoned = self._abandoned, []
        if abandoned:   # no longer this instance's: any sweep takes them, this one's next
            try:
                intake_rows.abandon(db, abandoned, self.owner)
            except Exception:
                with self._abandon_lock:
                    self._abandoned[:0] = abandoned   # tried again at the next turn
                raise
        intake_rows.renew(db, self.owner, self.lease)
        return intake_rows.take_over(db, self.owner, self.lease)

    def _to_loop(self, fn: Callable[..., None], *args: Any) -> None:
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            log.warning("event loop closed; journal results dropped (the rows stay for a take-over)")

    # --- health --------------------------------------------------------------------------------

    def health(self) -> tuple[list[str], list[str]]:
        """For /healthz: (errors, warnings), naming no message content."""
        errors = [f"journal: {self.failure}"] if self.failure else []
        warnings: list[str] = []
        try:
            total, lapsed = self._call(intake_rows.backlog)
        except Exception as exc:  # noqa: BLE001 - what stops a read is what to report
            errors.append(f"journal: cannot read the intake table: {exc}")
        else:
            if lapsed:
                warnings.append(f"journal: {lapsed} of {total} message(s) wait for an instance to take them over")
        return errors, warnings

    def staff_warnings(self) -> list[str]:
        return [t("journal.failure")] if self.failure is not None else []

    def close(self) -> None:
        """Stop the thread once what is queued is written; rows not handled stay for a take-over."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
        try:
            released = self._call(lambda db: intake_rows.release(db, self.owner))
        except Exception as exc:  # noqa: BLE001 - then the leases lapse by themselves
            log.warning("journal rows not released at stop (%s); others take them over after the lease", exc)
        else:
            if released:
                log.info("%d journalled messages left for another instance", released)
        if self._db is not None:
            self._db.conn.close()
