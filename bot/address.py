"""Finding a building, unit and room in what residents write: 3号楼 / 3栋 / 三号楼 / 3#楼 / 3-2-501."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_CN = "零〇一二两三四五六七八九十百"
_NUM = rf"(\d{{1,3}}|[{_CN}]{{1,4}})"
_BUILDING = re.compile(_NUM + r"\s*(?:号楼|號樓|号院楼|栋楼|栋|棟|幢|座|#楼|#|＃|号(?=\s*\d{1,2}\s*单元))")
_UNIT = re.compile(_NUM + r"\s*(?:单元|單元)")
_ROOM = re.compile(r"(?<![\d.])(\d{3,4})(?:室|号|房)?(?![\d.])")
_DASHED = re.compile(r"(?<![\d.])(\d{1,3})\s*[-－—]\s*(\d{1,2})\s*[-－—]\s*(\d{3,4})(?![\d.])")


def cn_number(token: str) -> int | None:
    """'3' -> 3, '三' -> 3, '十二' -> 12, '二十' -> 20, '一百零五' -> 105."""
    if token.isdigit():
        return int(token)
    total, current = 0, 0
    for ch in token:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
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
    if address.unit and address.room:
        return f"{address.unit}单元{address.room}"
    return address.room or (f"{address.unit}单元" if address.unit else None)
