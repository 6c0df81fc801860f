"""The working-time calendar: office hours, weekdays, public holidays and 调休 make-up working days.

A working day is a configured weekday that is not a holiday, or any day listed as a make-up working
day (调休上班). Working time is the configured periods (e.g. 08:30–12:00 and 14:00–17:30) of working
days. "N working days" of a limit means N times the working time of one day, counted in working time:
a petition dispatched on Tuesday 10:00 with 3 working days is due Friday 10:00; one dispatched on a
Friday evening starts counting at the next working day's first period and is due at its third
working day's closing time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import pairwise

MAX_DAYS = 3660  # a calendar that yields no working time within ten years is a configuration error


def parse_period(text: str) -> tuple[time, time]:
    """'08:30-12:00' -> (08:30, 12:00); ValueError when malformed or empty."""
    start, sep, end = text.replace("–", "-").replace("~", "-").partition("-")
    if not sep:
        raise ValueError(f"working period {text!r}: expected HH:MM-HH:MM")
    a, b = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    if b <= a:
        raise ValueError(f"working period {text!r}: ends before it starts")
    return a, b


def parse_dates(values: Iterable[str]) -> frozenset[date]:
    return frozenset(date.fromisoformat(str(v).strip()) for v in values)


@dataclass(frozen=True)
class WorkCalendar:
    periods: tuple[tuple[time, time], ...]
    weekdays: frozenset[int]          # ISO weekdays, Monday = 1
    holidays: frozenset[date]
    workdays: frozenset[date]         # 调休: make-up working days on weekends
    tz: tzinfo

    @classmethod
    def build(cls, working_hours: Iterable[str], weekdays: Iterable[int], holidays: Iterable[str],
              workdays: Iterable[str], tz: tzinfo) -> WorkCalendar:
        periods = tuple(sorted(parse_period(p) for p in working_hours))
        if not periods:
            raise ValueError("no working hours configured")
        for (_, end), (start, _) in pairwise(periods):
            if start < end:
                raise ValueError("working periods overlap")
        days = frozenset(int(d) for d in weekdays)
        if not days <= set(range(1, 8)):
            raise ValueError("weekdays are ISO numbers 1 (Monday) to 7 (Sunday)")
        return cls(periods, days, parse_dates(holidays), parse_dates(workdays), tz)

    @property
    def day_hours(self) -> float:
        """Working hours in one working day."""
        return sum(_hours_between(a, b) for a, b in self.periods)

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def next_workday(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one."""
        for _ in range(MAX_DAYS):
            if self.is_workday(day):
                return day
            day += timedelta(days=1)
        raise ValueError("the calendar has no working day")

    def first_workday_of_month(self, year: int, month: int) -> date:
        return self.next_workday(date(year, month, 1))

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, self.periods[0][0], self.tz)

    def _spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working spans from `start` on, in order, the first clipped to begin at `start`."""
        start = start.astimezone(self.tz)
        day = start.date()
        for _ in range(MAX_DAYS):
            if self.is_workday(day):
                for a, b in self.periods:
                    s, e = datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz)
                    if e > start:
                        yield max(s, start), e
            day += timedelta(days=1)
        raise ValueError("the calendar has no working time")

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `start`."""
        remaining = timedelta(hours=hours)
        for s, e in self._spans(start):
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
        raise AssertionError("unreachable")

    def add_working_days(self, start: datetime, days: float) -> datetime:
        return self.add_working_hours(start, days * self.day_hours)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working time from `start` to `end` in hours (0 when end is not after start)."""
        total = timedelta()
        for s, e in self._spans(start):
            if s >= end:
                break
            total += min(e, end) - s
        return total.total_seconds() / 3600


def _hours_between(a: time, b: time) -> float:
    return (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds() / 3600
