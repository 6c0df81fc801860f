"""Reading a time staff write at the start of a command: '2026-12-01 09:00', '12月1日 9点半', '明天9:00'."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from language.words import pattern, words

# the date and time forms, and which words are today, tomorrow ... and afternoon: catalogue/words.toml
_WHEN = pattern("when")
RECENT = timedelta(days=60)


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
            # a month and day without a year: this year's, unless it passed more than RECENT ago (then next
            # year's: "1月5日" written in December). One that passed just now stays in the past, so the
            # caller says it is over instead of scheduling it a year later.
            day = date(today.year, int(m["m2"]), int(m["d2"]))
            return day if day >= today - RECENT else date(today.year + 1, day.month, day.day)
    except ValueError:
        return None
    return today + timedelta(days=words("when", "days_ahead").get(m["rel"] or "", 0))


def _time(m: re.Match[str]) -> time | None:
    hour = int(m["h"])
    minute = 30 if m["half"] else int(m["mi"] or m["mi2"] or 0)
    if m["ampm"] in words("when", "afternoon") and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
