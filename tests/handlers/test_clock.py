"""The clocks on the real stack: the FakeClock moves, tick() runs the due jobs, the outbox delivers.

No test sleeps: time only moves through `clock.advance` / `clock.current`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.app import create_app
from bot.clock import TZ, FakeClock
from bot.config import Settings
from bot.keys import DELIVERER, INTAKE
from bot.scheduler import SCHEDULER
from storage import outbox, petitions

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)


async def tick(app) -> dict:
    done = await app[SCHEDULER].tick()
    await app[DELIVERER].drain()
    assert None not in done.values(), done
    return done


async def file_petition(sim, who: str = "r-c", room: str = "3号楼2单元501", text: str = "楼道灯不亮了") -> int:
    await sim.resident(who, f"我住{room}")
    return int(re.search(r"编号 (\d+)", await sim.resident(who, text)).group(1))


def row(sim, pid: int) -> dict:
    return petitions.get(sim.db, pid)


def notes(sim, pid: int) -> list[str]:
    return [e["note"] or "" for e in petitions.history(sim.db, pid)]


async def test_deadlines_are_stored_at_dispatch_and_shown_to_the_worker(sim, clock) -> None:
    clock.current = MONDAY
    pid = await file_petition(sim)
    p = row(sim, pid)
    assert p["clock_started_at"] == "2026-11-30T09:00:00+08:00"
    assert p["sign_deadline"] == "2026-11-30T11:00:00+08:00"
    assert p["resolve_deadline"] == "2026-12-03T09:00:00+08:00"       # 3 working days
    assert p["feedback_deadline"] == "2026-12-01T09:00:00+08:00"
    assert any("签收时限：11-30 11:00｜办结时限：12-03 09:00" in m for m in await sim.log("staff", "li.na"))
    assert "签收时限：11-30 11:00" in await sim.staff("li.na", f"查 {pid}")
    todo = await sim.staff("li.na", "待办")
    assert f"{pid}号" in todo and "⏰签收时限 11-30 11:00" in todo


async def test_todo_lists_oldest_deadline_first(sim, clock) -> None:
    clock.current = MONDAY
    ordinary = await file_petition(sim, "r-a", "3号楼1单元101", "楼道灯不亮了")
    clock.advance(minutes=10)
    utility = await file_petition(sim, "r-b", "3号楼1单元102", "家里停水了，水管没水")
    await sim.staff("li.na", f"接单 {ordinary}")
    await sim.staff("li.na", f"接单 {utility}")
    assert row(sim, utility)["category"] == "utilities"
    todo = await sim.staff("li.na", "待办")
    assert todo.index(f"{utility}号") < todo.index(f"{ordinary}号")   # 24 h beats 3 working days


async def test_ignored_petition_escalates_to_head_then_staff(sim, clock) -> None:
    clock.current = MONDAY
    await tick(sim.app)                                   # nothing periodic is due on this Monday yet
    pid = await file_petition(sim)

    clock.current = MONDAY.replace(hour=10, minute=29)
    await tick(sim.app)
    assert not any("签收提醒" in m for m in await sim.log("staff", "li.na"))
    clock.current = MONDAY.replace(hour=10, minute=31)   # 75 % of the 2 working hours
    assert (await tick(sim.app))["send_due_reminders"] == 1
    assert (await tick(sim.app))["send_due_reminders"] == 0
    assert sum("签收提醒" in m for m in await sim.log("staff", "li.na")) == 1

    clock.current = MONDAY.replace(hour=11, minute=1)    # sign-for limit passed
    assert (await tick(sim.app))["escalate_overdue"] == 1
    head = await sim.log("staff", "wang.qiang")
    assert any("【超时督办】" in m and f"{pid}号签收超时" in m for m in head)
    assert any("已报网格长" in m for m in await sim.log("staff", "li.na"))
    assert not any("【超时上报社区】" in m for m in await sim.log("staff", "sun.hong"))
    assert "超时上报网格长：签收超时" in notes(sim, pid)

    # staff follow 4 working hours later: 11:01 + 59 min before lunch + 3h01 after -> 17:01
    clock.current = MONDAY.replace(hour=17, minute=0)
    assert (await tick(sim.app))["escalate_overdue"] == 0
    clock.current = MONDAY.replace(hour=17, minute=2)
    assert (await tick(sim.app))["escalate_overdue"] == 1
    assert any("【超时上报社区】" in m and f"{pid}号" in m for m in await sim.log("staff", "sun.hong"))
    assert "超时上报社区：签收超时" in notes(sim, pid)
    clock.advance(days=5)
    assert (await tick(sim.app))["escalate_overdue"] == 0
    assert row(sim, pid)["escalation_level"] == 2 and row(sim, pid)["state"] == "assigned"

    texts = [r["text"] for r in outbox.for_ref(sim.db, f"petition:{pid}")]
    # the head once; the community office (孙红, staff, and 周洁, admin) once each
    assert sum("【超时督办】" in x for x in texts) == 1 and sum("【超时上报社区】" in x for x in texts) == 2
    assert {r["status"] for r in outbox.for_ref(sim.db, f"petition:{pid}")} == {"sent"}


async def test_overdue_resolution_escalates_after_sign_for(sim, clock) -> None:
    clock.current = MONDAY
    pid = await file_petition(sim)
    clock.current = MONDAY.replace(hour=9, minute=30)
    await sim.staff("li.na", f"接单 {pid}")
    clock.current = MONDAY.replace(hour=11, minute=30)
    assert (await tick(sim.app))["escalate_overdue"] == 0    # signed in time: nothing to escalate
    clock.current = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)   # 18 of the 24 feedback hours used
    assert (await tick(sim.app))["send_due_reminders"] == 1
    assert any("【反馈提醒】" in m for m in await sim.log("staff", "li.na"))
    clock.current = datetime(2026, 12, 2, 10, 44, tzinfo=TZ)  # 15.75 of 21 working hours at 10:45
    assert (await tick(sim.app))["send_due_reminders"] == 0
    clock.current = datetime(2026, 12, 2, 10, 46, tzinfo=TZ)
    assert (await tick(sim.app))["send_due_reminders"] == 1
    assert any("【办结提醒】" in m and "12-03 09:00" in m for m in await sim.log("staff", "li.na"))
    clock.current = datetime(2026, 12, 3, 9, 1, tzinfo=TZ)
    done = await tick(sim.app)
    assert done["escalate_overdue"] == 1
    assert any(f"{pid}号办结超时" in m for m in await sim.log("staff", "wang.qiang"))


async def test_urge_brings_the_next_escalation_forward(sim, clock) -> None:
    clock.current = MONDAY
    pid = await file_petition(sim)
    clock.current = MONDAY.replace(minute=20)
    assert "催办" in await sim.resident("r-c", "能不能快点处理")
    p = row(sim, pid)
    assert p["urge_count"] == 1
    assert p["escalate_at"] == "2026-11-30T10:10:00+08:00"   # 100 minutes left, halved
    clock.current = MONDAY.replace(hour=10, minute=11)
    assert (await tick(sim.app))["escalate_overdue"] == 1
    assert any("居民已催办 1 次" in m for m in await sim.log("staff", "wang.qiang"))


async def test_follow_up_reminds_once_then_closes_unrated(sim, clock) -> None:
    clock.current = MONDAY
    pid = await file_petition(sim)
    await sim.staff("li.na", f"接单 {pid}")
    await sim.staff("li.na", f"办结 {pid} 已更换灯泡")
    clock.advance(hours=23)
    assert (await tick(sim.app))["send_due_followups"] == 0
    clock.advance(hours=1, minutes=1)
    assert (await tick(sim.app))["send_due_followups"] == 1
    clock.advance(hours=1)
    assert (await tick(sim.app))["send_due_followups"] == 0
    assert sum("还没收到您的评价" in m for m in await sim.log("resident", "r-c")) == 1
    clock.current = MONDAY + timedelta(days=3, minutes=-2)
    assert (await tick(sim.app))["close_unrated"] == 0
    clock.current = MONDAY + timedelta(days=3, minutes=1)
    assert (await tick(sim.app))["close_unrated"] == 1
    p = row(sim, pid)
    assert (p["state"], p["rating"]) == ("closed", "unrated")
    assert any("未评价" in n for n in notes(sim, pid))
    assert any("按“未评价”归档" in m for m in await sim.log("resident", "r-c"))
    from storage import stats
    assert stats.summary(sim.db, now=clock.now())["community"]["satisfaction_rate"] is None


async def test_rated_petition_is_not_closed_as_unrated(sim, clock) -> None:
    clock.current = MONDAY
    pid = await file_petition(sim)
    await sim.staff("li.na", f"办结 {pid} 已修")
    await sim.resident("r-c", "满意")
    clock.advance(days=4)
    done = await tick(sim.app)
    assert done["send_due_followups"] == 0 and done["close_unrated"] == 0
    assert row(sim, pid)["rating"] == "satisfied"


async def test_visit_logged_and_problem_filed_for_the_resident(sim, clock) -> None:
    await sim.resident("r-v", "我住3号楼2单元502")
    reply = await sim.staff("li.na", "走访 3号楼 2单元501 独居老人身体良好")
    assert "走访记录 1 已登记（3号楼2单元501）" in reply
    reply = await sim.staff("li.na", "走访 3号楼 2单元502 问题：楼道灯不亮了")
    pid = int(re.search(r"立案为 (\d+) 号", reply).group(1))
    p = row(sim, pid)
    assert (p["resident"], p["worker"], p["state"], p["category"]) == ("r-v", "li.na", "assigned", "lighting")
    assert p["sign_deadline"] is not None
    assert any(f"{pid} 号问题" in m for m in await sim.log("resident", "r-v"))
    visits = list(sim.db.query("SELECT * FROM visits ORDER BY id"))
    assert [(v["room"], v["petition"]) for v in visits] == [("2单元501", None), ("2单元502", pid)]
    assert "格式" in await sim.staff("li.na", "走访")
    assert "没认出" in await sim.staff("li.na", "走访 火星 101 好")


async def test_scheduled_announcement_survives_a_restart(aiohttp_client, settings: Settings) -> None:
    clock = FakeClock(datetime(2026, 11, 25, 17, 0, tzinfo=TZ))
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    res = await client.post("/api/sim/send", json={"kind": "staff", "id": "sun.hong",
                                                   "text": "定时公告 明天9:00 3号楼 明天上午停水，请提前储水"})
    assert "将于 11-26 09:00 发往 1 个楼栋" in (await res.json())["replies"][0]["text"]
    await tick(app)
    assert not _group(app, "dy-3", "停水")
    await client.close()                                   # the server stops overnight

    clock.current = datetime(2026, 11, 26, 9, 0, 30, tzinfo=TZ)
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    assert (await tick(app))["send_scheduled_announcements"] == 1
    assert (await tick(app))["send_scheduled_announcements"] == 0
    assert len(_group(app, "dy-3", "停水")) == 1
    assert any("已按时发出" in m for m in _staff(app, "sun.hong"))
    await client.close()
    app = create_app(settings, clock=clock, deliver=False)
    await aiohttp_client(app)
    assert (await tick(app))["send_scheduled_announcements"] == 0
    assert len(_group(app, "dy-3", "停水")) == 1


async def test_past_or_missing_time_is_refused(sim) -> None:
    assert "已经过去" in await sim.staff("sun.hong", "定时公告 2020-01-01 09:00 3号楼 测试")
    assert "格式" in await sim.staff("sun.hong", "定时公告 3号楼 测试")
    assert "只有社区工作人员" in await sim.staff("li.na", "定时公告 明天9:00 3号楼 测试")


async def test_monthly_visit_reminder_on_the_first_working_day(aiohttp_client, settings: Settings) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 18, 0, tzinfo=TZ))
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    clock.current = datetime(2026, 12, 1, 8, 29, tzinfo=TZ)     # Tuesday 1 December, before office hours
    assert (await tick(app))["monthly_visit_reminders"] == 0
    await client.close()
    clock.current = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)     # restarted later that morning
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    assert (await tick(app))["monthly_visit_reminders"] == 1
    assert (await tick(app))["monthly_visit_reminders"] == 0
    li_na = [m for m in _staff(app, "li.na") if "入户走访提醒" in m]
    assert len(li_na) == 1 and "1号楼、2号楼、3号楼" in li_na[0] and "2026年12月" in li_na[0]
    assert any("5号楼、6号楼" in m for m in _staff(app, "chen.jie"))
    assert not any("入户走访" in m for m in _staff(app, "wang.qiang"))   # heads are not grid workers
    await client.close()
    app = create_app(settings, clock=clock, deliver=False)
    await aiohttp_client(app)
    clock.advance(days=1)
    assert (await tick(app))["monthly_visit_reminders"] == 0


async def test_monthly_visit_reminder_waits_for_the_holiday_to_end(aiohttp_client, settings: Settings) -> None:
    settings.calendar.holidays = [f"2026-10-0{d}" for d in range(1, 8)]
    clock = FakeClock(datetime(2026, 10, 1, 9, 0, tzinfo=TZ))
    app = create_app(settings, clock=clock, deliver=False)
    await aiohttp_client(app)
    assert (await tick(app))["monthly_visit_reminders"] == 0
    clock.current = datetime(2026, 10, 8, 8, 30, tzinfo=TZ)
    assert (await tick(app))["monthly_visit_reminders"] == 1


async def test_weekly_report_every_monday_at_nine(aiohttp_client, settings: Settings) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 20, 0, tzinfo=TZ))   # Sunday evening
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    assert (await tick(app))["weekly_report"] == 0
    clock.current = datetime(2026, 11, 30, 8, 59, tzinfo=TZ)
    assert (await tick(app))["weekly_report"] == 0
    await client.close()
    clock.current = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    assert (await tick(app))["weekly_report"] == 1
    assert (await tick(app))["weekly_report"] == 0
    reports = [m for m in _staff(app, "sun.hong") if "【定期通报】" in m]
    assert len(reports) == 1 and "2026年11月23日 至 2026年11月29日" in reports[0]
    await client.close()
    app = create_app(settings, clock=clock, deliver=False)
    await aiohttp_client(app)
    clock.advance(hours=3)
    assert (await tick(app))["weekly_report"] == 0
    clock.current = datetime(2026, 12, 7, 9, 0, tzinfo=TZ)
    assert (await tick(app))["weekly_report"] == 1


async def test_scheduler_starts_and_stops_with_the_app(aiohttp_client, settings: Settings) -> None:
    app = create_app(settings, clock=FakeClock(), deliver=False, schedule=True)
    client = await aiohttp_client(app)
    assert app[SCHEDULER].running
    await client.close()
    assert not app[SCHEDULER].running
    quiet = create_app(settings, clock=FakeClock(), deliver=False)
    await aiohttp_client(quiet)
    assert not quiet[SCHEDULER].running


def _group(app, building: str, word: str) -> list[str]:
    return [r["text"] for r in app[INTAKE].db.query(
        "SELECT text FROM chat_log WHERE kind = 'group' AND person = ? AND direction = 'out'", [building])
        if word in r["text"]]


def _staff(app, userid: str) -> list[str]:
    return [r["text"] for r in app[INTAKE].db.query(
        "SELECT text FROM chat_log WHERE kind = 'staff' AND person = ? AND direction = 'out'", [userid])]


async def test_friday_evening_before_a_holiday_gets_working_day_deadlines(aiohttp_client, settings) -> None:
    settings.calendar.holidays = ["2026-04-04", "2026-04-05", "2026-04-06"]     # 清明, Saturday to Monday
    clock = FakeClock(datetime(2026, 4, 3, 19, 0, tzinfo=TZ))
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    for text in ("我住3号楼2单元501", "楼道灯不亮了"):
        res = await client.post("/api/sim/send", json={"kind": "resident", "id": "r-f", "text": text})
    pid = int(re.search(r"编号 (\d+)", (await res.json())["replies"][0]["text"]).group(1))
    p = petitions.get(app[INTAKE].db, pid)
    assert p["sign_deadline"] == "2026-04-07T10:30:00+08:00"      # 2 working hours from Tuesday 08:30
    assert p["resolve_deadline"] == "2026-04-09T17:30:00+08:00"   # Tue, Wed, Thu
    clock.current = datetime(2026, 4, 6, 23, 0, tzinfo=TZ)       # the holiday: nothing is overdue yet
    assert (await tick(app))["escalate_overdue"] == 0
    clock.current = datetime(2026, 4, 7, 10, 31, tzinfo=TZ)
    assert (await tick(app))["escalate_overdue"] == 1
