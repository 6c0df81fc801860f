"""Emergencies (issue 14, points 1 and 2) on the real stack: an emergency reaches the worker, the grid
head and the staff on duty at once, each delivery recorded; it must be signed for within 15 minutes
(configurable) or the head and staff are told; it stands out in 待办, on /admin and in the ledger. A lift
that merely does not work, or a cat up a tree, is an ordinary report."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import create_app
from bot.clock import TZ
from bot.config import Settings, load_settings
from bot.keys import DELIVERER
from bot.scheduler import SCHEDULER
from storage import ledger, outbox, petitions
from tests.conftest import Sim
from tests.desk.helpers import desk_page
from tests.engines import app_store_url

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)


def number(reply: str) -> int:
    return int(re.search(r"编号 (\d+)", reply).group(1))


async def tick(app) -> dict:
    done = await app[SCHEDULER].tick()
    await app[DELIVERER].drain()
    assert None not in done.values(), done
    return done


async def gas_report(sim, clock) -> int:
    clock.current = MONDAY
    await sim.resident("g1", "我住3号楼2单元501")
    reply = await sim.resident("g1", "楼道里闻到很重的煤气味")
    assert "96777" in reply
    return number(reply)


async def test_an_emergency_reaches_the_worker_the_head_and_the_staff_at_once(sim, clock) -> None:
    pid = await gas_report(sim, clock)
    worker = await sim.log("staff", "li.na")
    head = await sim.log("staff", "wang.qiang")
    staff = await sim.log("staff", "sun.hong")
    assert any("【紧急诉求】" in m and f"{pid}号" in m and "15 分钟内签收" in m for m in worker)
    assert any("【紧急诉求·同步】" in m and f"{pid}号" in m and "李娜" in m for m in head)
    assert any("【紧急诉求·同步】" in m and f"{pid}号" in m for m in staff)
    assert not any("【紧急】" in m for m in worker + head + staff if "紧急诉求" in m)   # said once, not twice
    # not the other grid's head
    assert not any(f"{pid}号" in m for m in await sim.log("staff", "zhao.min"))
    # each delivery is an outbox row under the petition, sent; who was told is in its log
    rows = [r for r in outbox.for_ref(sim.db, f"petition:{pid}") if r["target_kind"] == "staff"]
    assert {r["target_id"] for r in rows} == {"li.na", "wang.qiang", "sun.hong", "zhou.jie"}
    assert {r["status"] for r in rows} == {"sent"}
    notes = [e["note"] or "" for e in petitions.history(sim.db, pid)]
    assert "紧急通知已发：李娜（网格员）、王强（网格长）、孙红（社区）、周洁（社区）" in notes


async def test_the_resident_is_told_who_was_alerted_only_once_it_is_true(sim, clock) -> None:
    clock.current = MONDAY
    first = await sim.resident("f1", "着火了！楼道里全是烟")
    assert "119" in first and "哪栋楼" in first and "已通知" not in first   # nobody told yet
    filed = await sim.resident("f1", "5栋")
    assert "已同时通知网格员、网格长和社区值班人员" in filed and "15 分钟内签收" in filed
    assert any("【紧急诉求·同步】" in m for m in await sim.log("staff", "zhao.min"))


async def test_an_unsigned_emergency_goes_to_head_and_staff_after_fifteen_minutes(sim, clock) -> None:
    pid = await gas_report(sim, clock)
    p = petitions.get(sim.db, pid)
    assert p["sign_deadline"] == "2026-11-30T09:15:00+08:00"
    clock.current = MONDAY.replace(minute=14)
    assert (await tick(sim.app))["escalate_overdue"] == 0
    clock.current = MONDAY.replace(minute=16)
    assert (await tick(sim.app))["escalate_overdue"] == 1
    for who in ("wang.qiang", "sun.hong"):
        assert any("【紧急超时】" in m and f"{pid}号签收超时" in m for m in await sim.log("staff", who))
    assert any("已报网格长和社区" in m for m in await sim.log("staff", "li.na"))
    assert "紧急超时，已报网格长和社区：签收超时" in [e["note"] for e in petitions.history(sim.db, pid)]
    clock.advance(hours=1)
    assert (await tick(sim.app))["escalate_overdue"] == 0      # told once


async def test_the_emergency_sign_for_limit_is_configurable(aiohttp_client, clock, tmp_path: Path,
                                                            request: pytest.FixtureRequest) -> None:
    settings: Settings = load_settings(overrides={"storage": {"path": str(tmp_path / "t.db"),
                                                              "url": app_store_url(request)},
                                                  "time_limits": {"emergency_sign_for_minutes": 5}}, environ={})
    app = create_app(settings, clock=clock, deliver=False)
    sim = Sim(await aiohttp_client(app), app)
    pid = await gas_report(sim, clock)
    assert petitions.get(sim.db, pid)["sign_deadline"] == "2026-11-30T09:05:00+08:00"
    assert any("5 分钟内签收" in m for m in await sim.log("staff", "li.na"))


async def test_an_emergency_stands_out_in_todo_admin_and_ledger(sim, clock, tmp_path: Path) -> None:
    clock.current = MONDAY
    await sim.resident("o1", "我住3号楼1单元101")
    ordinary = number(await sim.resident("o1", "单元门口的路灯不亮了"))
    urgent = await gas_report(sim, clock)
    todo = await sim.staff("li.na", "待办")
    assert "🚨 其中 1 件为紧急诉求" in todo
    assert todo.index(f"{urgent}号 【紧急】") < todo.index(f"{ordinary}号")
    # the head and the staff on duty see it in their 待办 too
    assert f"{urgent}号 【紧急】" in await sim.staff("wang.qiang", "待办")
    assert f"{urgent}号 【紧急】" in await sim.staff("sun.hong", "待办")
    assert f"{urgent}号" not in await sim.staff("zhao.min", "待办")

    board = await desk_page(sim.client, sim.db, "/admin/orders/board")    # the workbench's board, on top
    assert "未办结的紧急工单" in board and f'href="/admin/orders/{urgent}"' in board and "未签收" in board
    await sim.staff("li.na", f"接单 {urgent}")
    board = await desk_page(sim.client, sim.db, "/admin/orders/board")
    assert "已签收" in board

    out = tmp_path / "ledger.xlsx"
    ledger.export(sim.db, "xlsx", str(out))
    sheet = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    rows = {int(m.group(2)): m.group(1) for m in re.finditer(r'(<row r="\d+">.*?<v>(\d+)</v>.*?</row>)', sheet)}
    assert 's="2"' in rows[urgent] and 's="2"' not in rows[ordinary]
    assert "applyFill" in zipfile.ZipFile(out).read("xl/styles.xml").decode()


async def test_a_lift_that_does_not_work_is_an_ordinary_report(sim, clock) -> None:
    clock.current = MONDAY
    await sim.resident("l1", "我住5号楼2单元301")
    reply = await sim.resident("l1", "电梯这礼拜又卡住两回了，按了没反应，老人只能爬楼")
    assert "不要扒门" not in reply and "96333" not in reply
    pid = number(reply)
    p = petitions.get(sim.db, pid)
    assert (p["urgent"], p["category"]) == (0, "elevator")
    assert not any(f"{pid}号" in m for m in await sim.log("staff", "sun.hong"))


async def test_a_cat_up_a_tree_is_no_lift_emergency(sim, clock) -> None:
    clock.current = MONDAY
    await sim.resident("c1", "我住3号楼2单元501")
    reply = await sim.resident("c1", "楼下有只小猫被困在树上好久了，一直叫")
    assert "不要扒门" not in reply and "紧急" not in reply


async def test_someone_shut_in_the_lift_gets_the_entrapment_script(sim, clock) -> None:
    clock.current = MONDAY
    await sim.resident("t1", "我住5号楼2单元301")
    reply = await sim.resident("t1", "电梯卡在两层中间了，我和孩子在里面出不来")
    assert "不要扒门" in reply and "96333" in reply
    assert petitions.get(sim.db, number(reply))["urgent"] == 1
