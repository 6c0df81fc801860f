"""Issue 14, point 7: staff help lists every staff command with an example; scheduled announcements
are listed and cancelled; a wrong building, number or state is named, not answered with a format."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.keys import INTAKE
from handlers.clock import run_due
from language.commands import COMMANDS


async def test_staff_help_lists_every_command_with_an_example(sim) -> None:
    shown = await sim.staff("sun.hong", "帮助")
    codes = {code for code, _ in COMMANDS.values()} - {"help"}
    missing = [code for code in codes if not any(w in shown for w, (c, _) in COMMANDS.items() if c == code)]
    assert missing == []
    for example in ("公告 3号楼、5号楼", "定时公告列表", "取消定时公告 4", "投票情况 1", "发起投票 议题2 截止",
                    "答复公开 3", "派单 128 刘芳", "回复 3"):
        assert example in shown
    worker_help = await sim.staff("li.na", "帮助")
    assert "定时公告列表" not in worker_help and "回复 内容" in worker_help


async def test_scheduled_announcements_are_listed_and_cancelled(sim, clock) -> None:
    made = await sim.staff("sun.hong", "定时公告 明天9:00 3号楼 上午停水检修")
    aid = int(re.search(r"定时公告 (\d+)", made).group(1))
    listed = await sim.staff("sun.hong", "定时公告列表")
    assert f"{aid}." in listed and "3号楼" in listed and "停水检修" in listed
    assert "已取消定时公告" in await sim.staff("sun.hong", f"取消定时公告 {aid}")
    assert "没有待发送" in await sim.staff("sun.hong", "定时公告列表")
    assert "已经取消过了" in await sim.staff("sun.hong", f"取消定时公告 {aid}")
    clock.advance(days=2)
    core = sim.app[INTAKE]
    await core.writer.call(lambda: run_due(core.db, clock.now(), core.settings, core.dispatcher.matcher))
    assert not any("停水检修" in m for m in await sim.log("group", "dy-3"))
    assert "没有定时公告 99" in await sim.staff("sun.hong", "取消定时公告 99")
    now = await sim.staff("sun.hong", "公告 3号楼 今晚电梯检修")
    done = int(re.search(r"公告 (\d+)", now).group(1))
    assert "立即发布" in await sim.staff("sun.hong", f"取消定时公告 {done}")
    assert "只有社区工作人员" in await sim.staff("li.na", "定时公告列表")


async def test_an_unknown_building_is_named(sim) -> None:
    assert await sim.staff("sun.hong", "公告 火星 测试") == \
        "没找到“火星”：请写楼栋（如 3号楼）、网格名称（如 第一网格）或“全社区”。"
    assert "“9号楼”" in await sim.staff("sun.hong", "公告 3号楼、9号楼 明天停水")
    assert "请写上公告内容" in await sim.staff("sun.hong", "公告 3号楼")
    assert "“火星”" in await sim.staff("sun.hong", "定时公告 明天9:00 火星 测试")


async def test_merge_names_what_is_wrong(sim) -> None:
    await sim.resident("m1", "我住3号楼2单元501")
    a = int(re.search(r"编号 (\d+)", await sim.resident("m1", "楼下健身器材的单杠松动了")).group(1))
    assert await sim.staff("li.na", f"合并 {a} 到 999") == "没有 999 号诉求，无法合并。"
    assert "合并到它自己" in await sim.staff("li.na", f"合并 {a} 到 {a}")
    assert "合并到哪一件" in await sim.staff("li.na", f"合并 {a}")
    b = int(re.search(r"编号 (\d+)", await sim.resident("m1", "单元门禁坏了刷不开")).group(1))
    await sim.staff("li.na", f"接单 {b}")
    await sim.staff("li.na", f"办结 {b} 已修好")
    assert f"{b} 号当前是“已办结”" in await sim.staff("li.na", f"合并 {a} 到 {b}")
    assert "没有 998 号诉求" in await sim.staff("li.na", "合并 998 到 1")


async def test_answer_disclosure_names_what_is_wrong(sim) -> None:
    await sim.resident("d1", "我住3号楼2单元501")
    did = int(re.search(r"公开 (\d+)", await sim.resident("d1", "申请公开 停车费收支")).group(1))
    assert "没有公开 99" in await sim.staff("sun.hong", "答复公开 99 内容")
    assert "请写上答复内容" in await sim.staff("sun.hong", f"答复公开 {did}")
    assert "已答复" in await sim.staff("sun.hong", f"答复公开 {did} 两年共收12万元")
    assert "答复过了" in await sim.staff("sun.hong", f"答复公开 {did} 再答一次")
    own = int(re.search(r"公开 (\d+)", await sim.staff("sun.hong", "主动公开 惠民资金：8万元")).group(1))
    assert "主动公开的事项" in await sim.staff("sun.hong", f"答复公开 {own} 内容")


async def test_vote_command_names_what_is_wrong(sim) -> None:
    assert "没有议题 42" in await sim.staff("sun.hong", "发起投票 议题42 截止 12-01 18:00 范围 3号楼")
    created = await sim.staff("sun.hong", "议题 楼顶加装太阳能板")
    topic = int(re.search(r"议题 (\d+)", created).group(1))
    assert "没认出截止时间" in await sim.staff("sun.hong", f"发起投票 议题{topic} 范围 3号楼")
    assert "已经过去了" in await sim.staff("sun.hong", f"发起投票 议题{topic} 截止 01-01 08:00 范围 3号楼")


async def test_a_month_and_day_just_past_is_refused_not_moved_to_next_year(sim, clock) -> None:
    """Written without a year, a day that passed days ago is a mistake (said so); one long past is next
    year's, and the confirmation then shows the year."""
    now = clock.now()
    past = now - timedelta(days=2)
    refused = await sim.staff("sun.hong", f"定时公告 {past.month}月{past.day}日 9:00 3号楼 测试")
    assert "已经过去" in refused
    later = now - timedelta(days=200)
    made = await sim.staff("sun.hong", f"定时公告 {later.month}月{later.day}日 9:00 3号楼 明年的通知")
    assert f"{now.year + 1}-{later.month:02d}-{later.day:02d} 09:00" in made
    assert f"{now.year + 1}-{later.month:02d}-{later.day:02d} 09:00" in await sim.staff("sun.hong", "定时公告列表")
