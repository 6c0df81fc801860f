"""Closure rules (issue 14, point 3) on the real stack: 办结 needs a result text (asked for when missing),
an urgent petition is signed for before it is resolved, and a 办结公示 that no longer holds (the petition
was reopened, withdrawn or rejected) is corrected in the building group."""

from __future__ import annotations

import re

from storage import petitions


def number(reply: str) -> int:
    return int(re.search(r"编号 (\d+)", reply).group(1))


async def lamp(sim, who: str = "z1") -> int:
    await sim.resident(who, "我住3号楼2单元501")
    pid = number(await sim.resident(who, "单元门口的路灯不亮了"))
    await sim.staff("li.na", f"接单 {pid}")
    return pid


async def test_resolve_without_a_result_asks_for_it(sim) -> None:
    pid = await lamp(sim)
    for bare in (f"办结 {pid}", f"{pid}办结", f"办结 {pid} 。"):
        reply = await sim.staff("li.na", bare)
        assert reply == f"请写上办理结果，居民会看到，比如“办结 {pid} 已上门处理，问题已解决”。"
    assert petitions.get(sim.db, pid)["state"] == "accepted"
    assert not any("已办结" in m for m in await sim.log("group", "dy-3"))
    assert "已办结" in await sim.staff("li.na", f"办结 {pid} 已更换灯泡")
    resident = await sim.log("resident", "z1")
    assert any(f"{pid} 号问题已办结：已更换灯泡" in m for m in resident)
    assert not any("已处理完毕" in m for m in resident + await sim.log("group", "dy-3"))


async def test_an_urgent_petition_is_signed_for_before_it_is_resolved(sim) -> None:
    await sim.resident("u1", "我住3号楼2单元501")
    pid = number(await sim.resident("u1", "楼道里闻到很重的煤气味"))
    reply = await sim.staff("li.na", f"办结 {pid} 已关阀通风")
    assert reply == f"{pid} 号是紧急诉求，请先签收（回复“接单 {pid}”）再办结。"
    assert petitions.get(sim.db, pid)["state"] == "assigned"
    assert "请先签收" in await sim.staff("sun.hong", f"办结 {pid} 已处理")      # staff too
    await sim.staff("li.na", f"接单 {pid}")
    assert "请写上办理结果" in await sim.staff("li.na", f"办结 {pid}")
    assert "已办结" in await sim.staff("li.na", f"办结 {pid} 燃气公司已关阀检修，管道接口已更换")
    assert petitions.get(sim.db, pid)["resolution"] == "燃气公司已关阀检修，管道接口已更换"


async def test_a_reopened_petition_corrects_its_notice_in_the_group(sim) -> None:
    pid = await lamp(sim)
    await sim.staff("li.na", f"办结 {pid} 已更换灯泡")
    assert any(f"（{pid}号）已办结" in m for m in await sim.log("group", "dy-3"))
    await sim.resident("z1", "不满意，灯还是不亮")
    group = await sim.log("group", "dy-3")
    assert f"【更正】3号楼：路灯照明问题（{pid}号）此前公示已办结，经居民反馈尚未解决，现重新办理。" in group
    assert not any("501" in m or "z1" in m for m in group)         # nothing personal in the group


async def test_a_withdrawn_petition_corrects_its_notice_in_the_group(sim) -> None:
    pid = await lamp(sim)
    await sim.staff("li.na", f"办结 {pid} 已更换灯泡")
    await sim.resident("z1", "不满意，灯还是不亮")
    await sim.resident("z1", "那个路灯的事不用管了")
    assert petitions.get(sim.db, pid)["state"] == "cancelled"
    assert f"【更正】3号楼：路灯照明问题（{pid}号）此前的办结公示作废，该诉求已撤回。" in \
        await sim.log("group", "dy-3")


async def test_a_rejected_petition_corrects_its_notice_in_the_group(sim) -> None:
    pid = await lamp(sim)
    await sim.staff("li.na", f"办结 {pid} 已更换灯泡")
    await sim.resident("z1", "不满意，灯还是不亮")
    await sim.staff("li.na", f"退回 {pid} 这盏灯归市政管")
    await sim.staff("sun.hong", f"驳回 {pid} 已转市政路灯所")
    assert f"【更正】3号楼：路灯照明问题（{pid}号）此前的办结公示作废，该诉求已不予受理。" in \
        await sim.log("group", "dy-3")


async def test_no_correction_when_no_notice_went_out(sim) -> None:
    """A dispute never reaches the group: resolving and reopening it says nothing there either."""
    await sim.resident("d1", "我住3号楼2单元501")
    pid = number(await sim.resident("d1", "和楼上邻居因为漏水的事吵起来了，想请社区来调解"))
    assert petitions.get(sim.db, pid)["category"] == "dispute"
    await sim.staff("li.na", f"接单 {pid}")
    await sim.staff("li.na", f"办结 {pid} 已约双方到社区调解")
    await sim.resident("d1", "不满意，对方还是不认账")
    assert petitions.get(sim.db, pid)["state"] == "assigned"
    assert not any(f"{pid}号" in m for m in await sim.log("group", "dy-3"))


async def test_the_history_says_reopened_and_notices_show_the_state_after_the_move(sim) -> None:
    pid = await lamp(sim)
    await sim.staff("li.na", f"办结 {pid} 已更换灯泡")
    await sim.resident("z1", "不满意，灯还是不亮")
    history = await sim.staff("li.na", f"查 {pid}")
    assert "重新办理 灯还是不亮" in history and "已派单 灯还是不亮" not in history
    await sim.staff("li.na", f"退回 {pid} 不归本网格管")
    notice = next(m for m in reversed(await sim.log("staff", "sun.hong")) if "退回" in m)
    assert "已退回" in notice and "已派单" not in notice


async def test_a_reopened_emergency_alerts_head_and_staff_again(sim) -> None:
    await sim.resident("u2", "我住3号楼2单元501")
    pid = number(await sim.resident("u2", "楼道里闻到很重的煤气味"))
    alerts = sum("紧急诉求" in m for m in await sim.log("staff", "sun.hong"))
    await sim.staff("li.na", f"接单 {pid}")
    await sim.staff("li.na", f"办结 {pid} 已关阀")
    await sim.resident("u2", "不满意，还是有味道")
    assert sum("紧急诉求" in m for m in await sim.log("staff", "sun.hong")) == alerts + 1
    assert petitions.get(sim.db, pid)["state"] == "assigned"
