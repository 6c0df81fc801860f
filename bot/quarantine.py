"""Journal lines that cannot be handled are kept byte for byte, never deleted with their segment.

A line of a journal segment that is not JSON, or not a message (a field unknown, missing or of the
wrong type), may have been acknowledged to WeChat all the same (a disk, a tool or a hand damaged it
afterwards): reading the journal at start skips it, handles the rest of the segment and every other
segment, and first writes its exact bytes to `<store>.intake/quarantine/<segment>.bad` (synced), so
the segment can be deleted once its good records are handled without destroying anything. A last
line cut short by a stop was never acknowledged (it is skipped as before) and is kept there too.
What was found is counted in `Problems`, described without any of the message's content (personal data).
(And the journal's probe write, for /healthz after a failed write.)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.messages import Message

log = logging.getLogger("minsheng.journal")

QUARANTINE = "quarantine"   # the folder inside the journal's folder
BAD_SUFFIX = ".bad"
MAX_DETAILS = 20            # descriptions kept in memory (the counts go on)

_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "None": (type(None),)}


def _accepted(annotation: Any) -> tuple[type, ...] | None:
    """The types a Message field accepts, from its annotation ("float | None"); None: anything."""
    out: tuple[type, ...] = ()
    for part in str(annotation).split("|"):
        types = _TYPES.get(part.strip())
        if types is None:
            return None
        out += types
    return out


_FIELDS = {f.name: _accepted(f.type) for f in dataclasses.fields(Message)}
_REQUIRED = [f.name for f in dataclasses.fields(Message)
             if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
ROLES = ("resident", "staff")


class NotAMessage(ValueError):
    """A journal record that holds no message; says why without its content."""


def to_message(record: object) -> Message:
    """The Message a journal record holds; NotAMessage when it holds none."""
    if not isinstance(record, dict):
        raise NotAMessage("not a JSON object")
    unknown = [k for k in record if k not in _FIELDS]
    if unknown:
        raise NotAMessage(f"{len(unknown)} unknown field(s)")
    missing = [name for name in _REQUIRED if not record.get(name)]
    if missing:
        raise NotAMessage(f"field(s) {', '.join(missing)} missing or empty")
    for name, value in record.items():
        accepted = _FIELDS[name]
        if accepted is not None and (isinstance(value, bool) or not isinstance(value, accepted)):
            raise NotAMessage(f"field {name} of the wrong type")
    if record["role"] not in ROLES:
        raise NotAMessage("field role neither resident nor staff")
    return Message(**record)


@dataclass
class Scan:
    """One segment read: its messages in order, and its lines that are not (number, bytes, why)."""
    messages: list[Message] = field(default_factory=list)
    bad: list[tuple[int, bytes, str]] = field(default_factory=list)
    cut: bool = False   # the last of `bad` is a line cut short by a stop (never acknowledged)


def scan_segment(path: Path) -> Scan:
    scan = Scan()
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                scan.bad.append((number, line, "cut short by a stop (never acknowledged)"))
                scan.cut = True
                continue
            try:
                scan.messages.append(to_message(json.loads(line)))
            except (ValueError, RecursionError) as exc:   # JSON and UTF-8 errors are ValueErrors too
                why = str(exc) if isinstance(exc, NotAMessage) else "not JSON"
                scan.bad.append((number, line, why))
    return scan


@dataclass
class Problems:
    """What reading the journal at start found; `details` name segments and lines, never content."""
    quarantined: int = 0   # lines that may have been acknowledged, kept in quarantine (not handled)
    cut: int = 0           # last lines cut short by a stop (never acknowledged), kept in quarantine too
    unsaved: int = 0       # segments whose bad lines could not be written to quarantine (kept whole)
    details: list[str] = field(default_factory=list)

    def note(self, detail: str) -> None:
        if len(self.details) < MAX_DETAILS:
            self.details.append(detail)

    @property
    def count(self) -> int:
        return self.quarantined + self.unsaved


def quarantine_ids(directory: Path) -> list[int]:
    """The segment ids with lines in quarantine (a new segment never takes one of these ids)."""
    folder = directory / QUARANTINE
    if not folder.is_dir():
        return []
    return [int(p.name.split(".")[0].split("-")[0]) for p in folder.iterdir()
            if p.name.endswith(BAD_SUFFIX) and p.name.split(".")[0].split("-")[0].isdigit()]


def keep(directory: Path, segment: Path, bad: list[tuple[int, bytes, str]]) -> Path:
    """Write the bad lines' exact bytes, in order, to quarantine (synced, file and folder) before the
    segment may go. Reading the same segment again (a stop before it was deleted) finds the same
    bytes there and writes nothing; a file is never overwritten. OSError when it cannot be written."""
    data = b"".join(line for _, line, _ in bad)
    folder = directory / QUARANTINE
    if not folder.is_dir():
        folder.mkdir(mode=0o700, exist_ok=True)
        sync_dir(directory)
    n = 1
    while True:
        target = folder / f"{segment.stem}{'' if n == 1 else f'-{n}'}{BAD_SUFFIX}"
        if not target.exists():
            break
        if target.read_bytes() == data:
            return target
        n += 1
    partial = folder / f".{target.name}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fdatasync(fd)
    finally:
        os.close(fd)
    os.rename(partial, target)
    sync_dir(folder)
    return target


def quarantine(directory: Path, path: Path, scan: Scan, problems: Problems) -> bool:
    """Keep the segment `path`'s bad lines (`keep`), count and describe them in `problems`; False when
    they could not be kept (the segment must then stay as it is)."""
    for number, _, why in scan.bad:
        log.warning("journal %s: line %d %s; not handled", path.name, number, why)
    try:
        target = keep(directory, path, scan.bad)
    except OSError as exc:
        log.error("journal %s: could not write its %d bad lines to quarantine (%s); the segment is kept",
                  path.name, len(scan.bad), exc)
        problems.unsaved += 1
        problems.note(f"{path.name}: {len(scan.bad)} bad line(s) not quarantined ({exc}); segment kept")
        return False
    problems.cut += int(scan.cut)
    problems.quarantined += len(scan.bad) - int(scan.cut)
    for number, _, why in scan.bad[:len(scan.bad) - int(scan.cut)]:
        problems.note(f"{path.name} line {number}: {why}; bytes in {QUARANTINE}/{target.name}")
    return True


def probe_write(directory: Path, size: int) -> str | None:
    """A synced write of a new file of `size` bytes in `directory` (what a new segment needs): None
    when it succeeded, else the error. The file is removed."""
    path = directory / "probe"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(bytes(size))
            while view:
                view = view[os.write(fd, view):]
            os.fdatasync(fd)
        finally:
            os.close(fd)
            path.unlink(missing_ok=True)
    except OSError as exc:
        return str(exc)
    return None


def sync_dir(directory: Path) -> None:
    """Make the folder's entries (a new or deleted file's name) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
