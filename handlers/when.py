"""Reading a time staff write at the start of a command: '2026-12-01 09:00', '12月1日 9点半', '明天9:00'."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

_DATE = (r"(?:(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
         r"|(?P<m2>\d{1,2})\s*[-/月]\s*(?P<d2>\d{1,2})\s*[日号]?"
         r"|(?P<rel>今天|明天|后天))")
_TIME = (r"(?P<ampm>上午|早上|中午|下午|晚上)?\s*(?P<h>\d{1,2})"
         r"(?:\s*[:：]\s*(?P<mi>\d{2})|\s*点(?:\s*(?P<half>半)|\s*(?P<mi2>\d{1,2})\s*分?)?)")
_WHEN = re.compile(rf"^\s*(?:{_DATE})?\s*T?\s*{_TIME}")
_RELATIVE = {"今天": 0, "明天": 1, "后天": 2}


def parse(text: str, now: datetime) -> tuple[datetime, str] | None:
    """(the moment, the text after it) for a time at the start of `text`, in `now`'s zone; None if none."""
    m = _WHEN.match(text)
    if m is None:
        return None
    day = _day(m, now)
    clock = _time(m)
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, now.tzinfo), text[m.end():].strip()


def _day(m: re.Match[str], now: datetime) -> date | None:
    today = now.date()
    try:
        if m["y"]:
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        if m["m2"]:
            day = date(today.year, int(m["m2"]), int(m["d2"]))
            return day if day >= today else date(today.year + 1, day.month, day.day)
    except ValueError:
        return None
    return today + timedelta(days=_RELATIVE.get(m["rel"] or "今天", 0))


def _time(m: re.Match[str]) -> time | None:
    hour = int(m["h"])
    minute = 30 if m["half"] else int(m["mi"] or m["mi2"] or 0)
    if m["ampm"] in ("下午", "晚上") and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
