"""Parsing worker and staff commands (SPEC §5): the number may stand anywhere ("接单128", "#128 办结 …")."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue" / "commands.toml"


def _load() -> tuple[dict[str, tuple[str, bool]], re.Pattern[str], re.Pattern[str]]:
    """The command words (catalogue/commands.toml): word -> (code, needs a petition number); the
    number pattern, and what may stand before a command word."""
    doc = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    needs = set(doc["number"]["needs"])
    commands = {word: (code, code in needs) for word, code in doc["words"].items()}
    before = "|".join(re.escape(b) for b in sorted(doc["number"]["before"], key=len, reverse=True))
    after = "|".join(re.escape(a) for a in doc["number"]["after"])
    stop = re.escape(doc["number"]["not_followed_by"])
    # a petition number ends at a word boundary: "1e3", "12.5" or "12a" are no number at all
    number = re.compile(rf"(?:{before})?\s*([0-9０-９]{{1,7}})\s*(?:{after})?(?![0-9０-９A-Za-z._\-/{stop}])")
    hashes = "|".join(re.escape(b) for b in doc["number"]["before"] if not b[0].isalnum() and len(b) == 1)
    lead = re.compile(rf"(?:{hashes})?\s*\d{{1,7}}\s*(?:{after})?")
    return commands, number, lead


COMMANDS, _NUMBER, _LEAD = _load()
_WORDS = sorted(COMMANDS, key=len, reverse=True)


@dataclass(frozen=True)
class Command:
    code: str
    number: int | None
    rest: str


def parse(text: str) -> Command | None:
    """The command in `text`, or None when it holds none. Commands must lead or follow a number."""
    raw = text.strip()
    for word in _WORDS:
        pos = raw.find(word)
        if pos < 0:
            continue
        before = raw[:pos].strip()
        if before and not _LEAD.fullmatch(before):
            continue
        code, needs_number = COMMANDS[word]
        after = raw[pos + len(word):]
        number = None
        m = _NUMBER.search(before) if before else None
        if m is None and needs_number:
            m = _NUMBER.match(after.lstrip(" :：,，"))
            if m:
                after = after.lstrip(" :：,，")[m.end():]
        if m:
            number = int(m.group(1))
        rest = after.strip(" :：,，。")
        return Command(code, number, rest)
    return None


def word(code: str) -> str:
    """The first command word catalogue/commands.toml lists for `code` (what a page writes when it acts
    like a chat message); a code with no word is a programming error."""
    for w, (c, _) in COMMANDS.items():
        if c == code:
            return w
    raise KeyError(code)
