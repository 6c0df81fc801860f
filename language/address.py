"""Finding a building, unit and room in what residents write: 3号楼 / 3栋 / 三号楼 / 3#楼 / 3-2-501."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from language.words import words

_W = words("address", "parts")   # catalogue/words.toml [address.parts]
_DIGITS: dict[str, int] = _W["digits"]
_TEN, _HUNDRED = _W["ten"], _W["hundred"]
_NUM = rf"(\d{{1,3}}|[{''.join(_DIGITS)}{_TEN}{_HUNDRED}]{{1,4}})"
_BUILDING = re.compile(_NUM + rf"\s*(?:{_W['building']})")
_UNIT = re.compile(_NUM + rf"\s*(?:{_W['unit']})")
_ROOM = re.compile(rf"(?<![\d.])(\d{{3,4}})(?:{_W['room']})?(?![\d.])")
_DASHED = re.compile(r"(?<![\d.])(\d{1,3})\s*[-－—]\s*(\d{1,2})\s*[-－—]\s*(\d{3,4})(?![\d.])")


def cn_number(token: str) -> int | None:
    """'3' -> 3, '三' -> 3, '十二' -> 12, '二十' -> 20, '一百零五' -> 105."""
    if token.isdigit():
        return int(token)
    total, current = 0, 0
    for ch in token:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == _TEN:
            total += (current or 1) * 10
            current = 0
        elif ch == _HUNDRED:
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


@dataclass(frozen=True)
class Address:
    building_no: int | None = None
    unit: str | None = None
    room: str | None = None

    @property
    def empty(self) -> bool:
        return self.building_no is None and self.unit is None and self.room is None


def parse(text: str) -> Address:
    dashed = _DASHED.search(text)
    if dashed:
        return Address(int(dashed.group(1)), dashed.group(2), dashed.group(3))
    b = _BUILDING.search(text)
    building_no = cn_number(b.group(1)) if b else None
    rest = text[b.end():] if b else text
    u = _UNIT.search(rest)
    unit = str(cn_number(u.group(1))) if u else None
    room_part = rest[u.end():] if u else rest
    r = _ROOM.search(room_part)
    return Address(building_no, unit, r.group(1) if r else None)


def _number_of(name: str) -> int | None:
    m = _BUILDING.search(name) or re.fullmatch(_NUM, name.strip())
    return cn_number(m.group(1)) if m else None


def find_building(text: str, buildings: list[dict], community: str | None = None) -> dict | None:
    """The building `text` names, by name or alias first, then by number; None when unclear."""
    named = []
    for b in buildings:
        names = [b["name"], *json.loads(b.get("aliases") or "[]")]
        if any(n and n in text for n in names):
            named.append(b)
    candidates = named
    if not candidates:
        number = parse(text).building_no
        if number is None:
            return None
        candidates = [b for b in buildings if number in
                      {_number_of(n) for n in [b["name"], *json.loads(b.get("aliases") or "[]")]}]
    if len(candidates) > 1 and community:
        candidates = [b for b in candidates if b["community"] == community] or candidates
    return candidates[0] if len(candidates) == 1 else None


def room_label(address: Address) -> str | None:
    unit = _W["unit_label"]
    if address.unit and address.room:
        return f"{address.unit}{unit}{address.room}"
    return address.room or (f"{address.unit}{unit}" if address.unit else None)
