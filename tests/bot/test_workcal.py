"""The working-time calendar, the limits computed from it, and staff's time expressions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import TZ
from bot.config import ConfigError, load_settings
from bot.workcal import WorkCalendar
from handlers.deadlines import after, calendar, limits
from language import dates

QINGMING = ["2026-04-04", "2026-04-05", "2026-04-06"]
NATIONAL_DAY = [f"2026-10-0{d}" for d in range(1, 8)]


def cal(holidays: list[str] = (), workdays: list[str] = ()) -> WorkCalendar:
    return WorkCalendar.build(["08:30-12:00", "14:00-17:30"], [1, 2, 3, 4, 5], holidays, workdays, TZ)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_working_hours_skip_lunch_nights_and_weekends() -> None:
    c = cal()
    assert c.day_hours == 7
    assert c.add_working_hours(at("2026-11-24T11:30"), 2) == at("2026-11-24T15:30")
    assert c.add_working_hours(at("2026-11-24T22:00"), 2) == at("2026-11-25T10:30")
    assert c.add_working_hours(at("2026-11-27T17:00"), 2) == at("2026-11-30T10:00")  # Friday -> Monday
    assert c.add_working_days(at("2026-11-24T10:00"), 3) == at("2026-11-27T10:00")
    assert c.working_hours_between(at("2026-11-27T17:00"), at("2026-11-30T10:00")) == 2


def test_friday_evening_before_a_holiday() -> None:
    c = cal(QINGMING)
    friday = at("2026-04-03T19:00")
    assert c.add_working_hours(friday, 2) == at("2026-04-07T10:30")   # Sat, Sun and Monday 清明 off
    assert c.add_working_days(friday, 3) == at("2026-04-09T17:30")


def test_holiday_week_with_make_up_saturday() -> None:
    c = cal(NATIONAL_DAY, ["2026-09-20", "2026-10-10"])
    assert c.is_workday(at("2026-10-10T00:00").date()) and not c.is_workday(at("2026-10-05T00:00").date())
    # Wednesday evening before the holiday: Thu 8, Fri 9 and the make-up Saturday 10
    assert c.add_working_days(at("2026-09-30T19:00"), 3) == at("2026-10-10T17:30")
    assert c.first_workday_of_month(2026, 10) == at("2026-10-08T00:00").date()
    assert c.first_workday_of_month(2026, 11) == at("2026-11-02T00:00").date()   # 1 Nov is a Sunday


def test_limits_per_category_and_urgency() -> None:
    s = load_settings(overrides={"calendar": {"holidays": QINGMING},
                                 "time_limits": {"category_resolve_hours": {"elevator": 8},
                                                 "category_resolve_working_days": {"construction": 10}}},
                      environ={})
    friday = at("2026-04-03T19:00")

    def due(category: str, urgent: bool = False) -> tuple[datetime, datetime]:
        lim = limits(s, {"category": category, "urgent": urgent})
        return after(s, friday, lim["sign"]), after(s, friday, lim["resolve"])

    assert due("lighting") == (at("2026-04-07T10:30"), at("2026-04-09T17:30"))
    assert due("utilities") == (at("2026-04-07T10:30"), at("2026-04-04T19:00"))      # 24 wall-clock hours
    assert due("gas", urgent=True) == (at("2026-04-03T19:15"), at("2026-04-03T21:00"))   # 15 min to sign
    assert due("elevator")[1] == at("2026-04-04T03:00")
    assert due("construction")[1] == at("2026-04-20T17:30")
    assert calendar(s).holidays == frozenset(at(d + "T00:00").date() for d in QINGMING)


@pytest.mark.parametrize("text", [
    '[calendar]\nworking_hours = ["17:00-08:00"]\n',
    '[calendar]\nholidays = ["2026-13-01"]\n',
    '[calendar]\nweekdays = [0]\n',
    '[schedule]\nweekly_report_time = "9 o\'clock"\n',
    '[time_limits]\ncategory_resolve_hours = { elevator = "soon" }\n',
])
def test_bad_calendar_is_a_clear_error(tmp_path: Path, text: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(f, environ={})


def test_calendar_from_environment() -> None:
    s = load_settings(environ={"MINSHENG_CALENDAR_HOLIDAYS": "2026-10-01, 2026-10-02"})
    assert s.calendar.holidays == ["2026-10-01", "2026-10-02"]


@pytest.mark.parametrize(("text", "expected", "rest"), [
    ("2026-12-01 08:00 全社区 消防演练", "2026-12-01T08:00", "全社区 消防演练"),
    ("明天9:00 3号楼 停水", "2026-11-26T09:00", "3号楼 停水"),
    ("明天 下午3点半 3号楼 停水", "2026-11-26T15:30", "3号楼 停水"),
    ("12月1日 9点 第一网格 义诊", "2026-12-01T09:00", "第一网格 义诊"),
    ("1月2日 10:00 3号楼 x", "2027-01-02T10:00", "3号楼 x"),
    ("18:00 3号楼 x", "2026-11-25T18:00", "3号楼 x"),
])
def test_staff_time_expressions(text: str, expected: str, rest: str) -> None:
    parsed = dates.parse(text, at("2026-11-25T09:00"))
    assert parsed == (at(expected), rest)


def test_no_time_is_none() -> None:
    assert dates.parse("3号楼 停水", at("2026-11-25T09:00")) is None
    assert dates.parse("2026-02-30 09:00 3号楼", at("2026-11-25T09:00")) is None
