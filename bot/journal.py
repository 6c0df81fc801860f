"""The intake journal: a callback's message is on disk before WeChat gets any answer.

Append-only segment files beside the store (`<store>.intake/000001.jsonl`, one JSON message per line).
The event loop appends the records of all callbacks of one loop iteration with one write; a sync thread
makes them durable with `fdatasync` and wakes the loop once per sync, which then answers those
callbacks and hands their messages to the store thread (syncing on the loop measured 15–25% fewer
callbacks per second: the core idles while the disk flushes).

A message is handled (its effects and its `inbound` record committed) by the store thread; the
journal only needs to know when every record of a segment is handled, to delete the segment. At
start, the records of the segments left over whose keys are not in `inbound` (nor `failed_inbound`)
are handled again; a last line cut short by a crash was never acknowledged, and is skipped. A line
that cannot be read is never handled nor lost: its bytes are kept in quarantine (`bot/quarantine.py`)
and counted in `problems`; a failed write or sync stays in `failure` until a later one succeeds (both
shown on /admin and /healthz). A store without a path (":memory:") has a journal without files.
On PostgreSQL the journal is the `intake` table instead (bot/journal_db.py).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.messages import Message
from bot.quarantine import (
    QUARANTINE,
    Problems,
    probe_write,
    quarantine,
    quarantine_ids,
    scan_segment,
    sync_dir,
)
from language.texts import t
from storage import inbound

log = logging.getLogger("minsheng.journal")

SEGMENT_BYTES = 32 * 1024 * 1024   # a new segment after this many bytes; handled ones are deleted
SUFFIX = ".jsonl"
LOW_DISK_BYTES = 2 * SEGMENT_BYTES   # /healthz warns when the journal's disk has less free space
PROBE_BYTES = 4096                   # a probe write takes a new block, as a segment's next write would


def journal_dir(store_path: str | Path) -> Path | None:
    """Where the journal of the store at `store_path` lives (None for an in-memory store)."""
    text = str(store_path)
    if not text or text == ":memory:" or text.startswith("file::memory:"):
        return None
    return Path(text + ".intake")   # not "-journal": that name is SQLite's own rollback journal


def segments(directory: Path) -> list[tuple[int, Path]]:
    """The segment files in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    out = []
    for path in directory.iterdir():
        if path.suffix == SUFFIX and path.stem.isdigit():
            out.append((int(path.stem), path))
    return sorted(out)


def read_segment(path: Path) -> Iterator[dict[str, Any]]:
    """The messages of one segment, in order, as records; lines that are none are left out."""
    for msg in scan_segment(path).messages:
        yield vars(msg)


def keys_on_disk(store_path: str | Path) -> list[str]:
    """Every message key in the journal files of this store (handled or not): for tools and tests."""
    directory = journal_dir(store_path)
    if directory is None:
        return []
    return [str(r.get("key", "")) for _, path in segments(directory) for r in read_segment(path)]


class _Segment:
    __slots__ = ("fd", "id", "path", "size", "unhandled")

    def __init__(self, seg_id: int, path: Path, fd: int = -1) -> None:
        self.id, self.path, self.fd = seg_id, path, fd
        self.size = 0
        self.unhandled = 0


class IntakeJournal:
    """Group-committed, fsynced appends from the event loop; `handled` from the store thread."""

    def __init__(self, directory: Path | None, on_durable: Callable[[list[Any]], None]) -> None:
        self.directory = directory
        self.on_durable = on_durable            # on the loop: these entries are on disk now
        self._lock = threading.Lock()           # segment bookkeeping (loop and store thread)
        self._segments: dict[int, _Segment] = {}
        self._current: _Segment | None = None
        self._next_id = 1
        self._lock_fd = -1
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._hold(directory)
            found = segments(directory)
            # never the id of a segment with lines in quarantine: its file there is never overwritten
            self._next_id = max([seg_id for seg_id, _ in found] + quarantine_ids(directory), default=0) + 1
            self.leftover = [(seg_id, path) for seg_id, path in found]
        else:
            self.leftover = []
        # the loop side: records of this loop iteration, writes waiting for their sync
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer: list[bytes] = []
        self._buffered: list[Any] = []
        self._flush_scheduled = False
        self._seq = 0
        self._waiting: list[tuple[int, list[Any]]] = []
        # the sync thread
        self._cond = threading.Condition()
        self._requests: list[tuple[int, int, bool]] = []   # (seq, fd, close after the sync)
        self._thread: threading.Thread | None = None
        self._stopping = False
        # what went wrong: lines not handled at start, and the last write or sync if it failed
        self.problems = Problems()
        self.failure: str | None = None
        self.failures = 0
        self._failed_at = 0   # the write sequence number of `failure`: a later durable write clears it

    def _hold(self, directory: Path) -> None:
        """One process per journal: a second server on the same store would delete files the first
        still appends to."""
        fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RuntimeError(f"the intake journal {directory} is in use by another process "
                               "(is another minsheng serve running on this store?)") from None
        self._lock_fd = fd

    # --- the event loop ------------------------------------------------------------------------

    def append(self, entry: Any, record: dict[str, Any]) -> None:
        """Write `record` for `entry` with this loop iteration's others; `entry.written` (a future)
        is resolved once it is durable, or gets the write's error."""
        self._buffer.append(json.dumps(record, ensure_ascii=False).encode() + b"\n")
        self._buffered.append(entry)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        data, entries = b"".join(self._buffer), self._buffered
        self._buffer, self._buffered = [], []
        if self.directory is None:
            self._durable(entries, None)
            return
        try:
            segment = self._segment_for(len(data))
            view = memoryview(data)
            while view:
                view = view[os.write(segment.fd, view):]
        except OSError as exc:
            log.error("journal write failed (%s); %d callbacks not acknowledged", exc, len(entries))
            self._retire()   # never append after a torn record: the next write starts a new segment
            self._failed(f"write failed: {exc}")
            self._durable(entries, exc)
            return
        with self._lock:
            segment.size += len(data)
            segment.unhandled += len(entries)
        for entry in entries:
            entry.segment = segment.id
        self._seq += 1
        self._waiting.append((self._seq, entries))
        self._request(self._seq, segment.fd, close=False)

    def _segment_for(self, size: int) -> _Segment:
        """The segment to append to: a new one when there is none or the current one is full (the full
        one is synced and closed by the sync thread, and deleted once all its records are handled)."""
        current = self._current
        if current is not None and current.size + size <= SEGMENT_BYTES:
            return current
        assert self.directory is not None
        self._retire()
        seg_id, self._next_id = self._next_id, self._next_id + 1
        path = self.directory / f"{seg_id:06d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        sync_dir(self.directory)   # the new file's name is durable before any record in it counts
        segment = _Segment(seg_id, path, fd)
        with self._lock:
            self._segments[seg_id] = segment
            self._current = segment
        return segment

    def _request(self, seq: int, fd: int, close: bool) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._sync_loop, name="minsheng-journal", daemon=True)
            self._thread.start()
        with self._cond:
            self._requests.append((seq, fd, close))
            self._cond.notify()

    def _retire(self) -> None:
        """Stop appending to the current segment (when it is full, or after a failed write or sync,
        whose file is not to be trusted with more records): it is synced, closed, and deleted once
        handled."""
        with self._lock:
            current, self._current = self._current, None
        if current is not None and current.fd >= 0:
            self._seq += 1
            self._waiting.append((self._seq, []))
            self._request(self._seq, current.fd, close=True)
            current.fd = -1
            self._delete_if_done(current)

    def _failed(self, why: str) -> None:
        with self._lock:
            self.failure, self._failed_at = why, self._seq
            self.failures += 1

    def _synced(self, upto: int, error: BaseException | None) -> None:
        if error is not None:
            self._retire()
            self._failed(f"sync failed: {error}")
        elif self.failure is not None and upto > self._failed_at:
            with self._lock:
                self.failure = None   # a write after the failure is durable
        done = 0
        while done < len(self._waiting) and self._waiting[done][0] <= upto:
            done += 1
        finished, self._waiting = self._waiting[:done], self._waiting[done:]
        for _, entries in finished:
            self._durable(entries, error)

    def _durable(self, entries: list[Any], error: BaseException | None) -> None:
        for entry in entries:
            if not entry.written.done():
                if error is None:
                    entry.written.set_result(None)
                else:
                    entry.written.set_exception(OSError(f"journal write failed: {error}"))
        if error is None and entries:
            self.on_durable(entries)

    # --- the sync thread ------------------------------------------------------------------------

    def _sync_loop(self) -> None:
        while True:
            with self._cond:
                while not self._requests and not self._stopping:
                    self._cond.wait()
                if not self._requests:
                    return
                requests, self._requests = self._requests, []
            error: BaseException | None = None
            synced: set[int] = set()
            for _, fd, close in requests:
                try:
                    if fd not in synced:
                        os.fdatasync(fd)
                        synced.add(fd)
                except OSError as exc:
                    log.error("journal sync failed: %s", exc)
                    error = exc
                if close:
                    os.close(fd)
            loop = self._loop
            if loop is not None:
                try:
                    loop.call_soon_threadsafe(self._synced, requests[-1][0], error)
                except RuntimeError:
                    log.warning("journal: event loop closed before %d syncs were reported", len(requests))

    # --- the store thread ------------------------------------------------------------------------

    def register_leftover(self, seg_id: int, path: Path, unhandled: int) -> None:
        """At start (store thread): a segment of a previous run with `unhandled` records to handle."""
        segment = _Segment(seg_id, path)
        segment.unhandled = unhandled
        with self._lock:
            self._segments[seg_id] = segment
        self._delete_if_done(segment)

    def load_leftover(self, known: Callable[[list[str]], set[str]]) -> list[tuple[int, Message]]:
        """At start (store thread): the messages of the segments a previous run left whose keys are not
        `known` (handled), with their segment ids, in order. Lines that are not messages are kept in
        quarantine first; a segment whose bad lines could not be kept is never deleted."""
        out: list[tuple[int, Message]] = []
        for seg_id, path in self.leftover:
            assert self.directory is not None   # only a journal with files has segments left over
            scan = scan_segment(path)
            kept = quarantine(self.directory, path, scan, self.problems) if scan.bad else True
            done = known([m.key for m in scan.messages])
            unhandled = [m for m in scan.messages if m.key not in done]
            out.extend((seg_id, m) for m in unhandled)
            if kept:
                self.register_leftover(seg_id, path, len(unhandled))
        self.leftover = []
        return out

    def health(self) -> tuple[list[str], list[str]]:
        """For /healthz: (errors, warnings), naming no message content. Blocking (a probe write while
        `failure` is set, and statvfs): call it off the event loop."""
        errors: list[str] = []
        warnings = list(self.problems.details)
        if self.problems.count > len(self.problems.details):
            warnings.append(f"journal: {self.problems.count} line(s) in quarantine or unsaved in all")
        if self.directory is None:
            return errors, warnings
        failure, failures = self.failure, self.failures
        if failure is not None:
            error = probe_write(self.directory, PROBE_BYTES)
            if error is None:
                with self._lock:
                    if self.failures == failures:   # no new failure meanwhile
                        self.failure = None   # the disk takes a synced write again
            else:
                errors.append(f"journal: {failure}; a probe write failed too: {error}")
        try:
            stat = os.statvfs(self.directory)
        except OSError as exc:
            errors.append(f"journal: cannot read the disk's free space: {exc}")
        else:
            free = stat.f_bavail * stat.f_frsize
            if free < LOW_DISK_BYTES:
                warnings.append(f"disk: {free // 1_000_000} MB free where the journal and store are")
        return errors, warnings

    def staff_warnings(self) -> list[str]:
        """What the staff dashboard says about the journal (no message content)."""
        out = [t("journal.failure")] if self.failure is not None else []
        if self.problems.quarantined:
            folder = self.directory / QUARANTINE if self.directory is not None else "-"
            out.append(t("journal.quarantined", count=self.problems.quarantined, folder=folder))
        if self.problems.unsaved:
            out.append(t("journal.unsaved", count=self.problems.unsaved))
        return out

    def start(self) -> None:
        """Nothing to start before the first append (the sync thread starts with it)."""

    def take(self, db: Database, entry: Any) -> tuple[bool, bool]:
        """(held, late) as bot/journal_db.py answers it: a record here is always this process's (a row
        of the legacy table goes with the commit)."""
        if entry.segment is None:
            inbound.forget_legacy(db, entry.msg.key)
        return True, False

    def failed(self, entry: Any) -> None:
        """Its handling failed even its recovery: the record stays for the next start."""

    def handled(self, seg_id: int | None) -> None:
        """A record of this segment is handled (committed): a closed segment all handled goes."""
        if seg_id is None:
            return
        with self._lock:
            segment = self._segments.get(seg_id)
            if segment is None:
                return
            segment.unhandled -= 1
        self._delete_if_done(segment)

    def _delete_if_done(self, segment: _Segment) -> None:
        with self._lock:
            if segment.unhandled > 0 or segment is self._current or segment.id not in self._segments:
                return
            del self._segments[segment.id]
        try:
            segment.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("journal: could not delete handled segment %s: %s", segment.path.name, exc)

    def close(self) -> None:
        """After the loop's last write: sync and close the current segment (deleted when all its
        records are handled), and stop the sync thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)   # its last syncs done: no fd of ours is in use there
        with self._lock:
            current, self._current = self._current, None
        if current is not None and current.fd >= 0:
            try:
                os.fdatasync(current.fd)
            finally:
                os.close(current.fd)
                current.fd = -1
            self._delete_if_done(current)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)   # releases the lock
            self._lock_fd = -1
