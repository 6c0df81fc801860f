"""The whole loop on the simulator channel: bind, report, sign, resolve, rate, group notice."""

from __future__ import annotations

import re


async def test_broken_light_from_report_to_rating(sim) -> None:
    assert "3号楼" in await sim.resident("r-new", "我住3号楼2单元501")
    reply = await sim.resident("r-new", "单元门口的路灯不亮了，晚上黑乎乎的")
    number = int(re.search(r"编号 (\d+)", reply).group(1))
    assert "路灯" in reply

    worker_inbox = await sim.log("staff", "li.na")
    assert any(f"{number}号" in m for m in worker_inbox)
    assert await sim.log("staff", "chen.jie") == []  # another grid hears nothing

    assert f"{number}号" in await sim.staff("li.na", "待办")
    assert "已签收" in await sim.staff("li.na", f"接单{number}")
    assert any("签收" in m for m in await sim.log("resident", "r-new"))

    assert "已办结" in await sim.staff("li.na", f"#{number} 办结 已更换灯泡")
    told = await sim.log("resident", "r-new")
    assert any("已更换灯泡" in m and "满意" in m for m in told)

    group = await sim.log("group", "dy-3")
    assert any(f"（{number}号）已办结" in m for m in group)
    assert not any("501" in m or "r-new" in m for m in group)

    assert "感谢" in await sim.resident("r-new", "满意")
    row = sim.db.execute("SELECT state, rating FROM petitions WHERE id = ?", [number]).fetchone()
    assert row == ("closed", "satisfied")


async def test_unknown_building_is_asked_for(sim) -> None:
    reply = await sim.resident("r-x", "楼道里的灯坏了好几天了")
    assert "哪栋楼" in reply
    reply = await sim.resident("r-x", "5栋")
    assert "编号" in reply and "5号楼" in reply
    assert any("楼道" in m for m in await sim.log("staff", "chen.jie") + await sim.log("staff", "liu.fang"))


async def test_worker_of_another_grid_cannot_resolve(sim) -> None:
    await sim.resident("r-y", "我住3号楼1单元101")
    reply = await sim.resident("r-y", "楼下垃圾堆了好几天没人清")
    number = int(re.search(r"编号 (\d+)", reply).group(1))
    assert "不在您负责的网格" in await sim.staff("chen.jie", f"办结 {number} 好了")
    assert sim.db.execute("SELECT state FROM petitions WHERE id=?", [number]).fetchone()[0] == "assigned"


async def test_unsatisfied_reopens_and_asks_why(sim) -> None:
    await sim.resident("r-z", "我住3号楼2单元502")
    number = int(re.search(r"编号 (\d+)", await sim.resident("r-z", "楼道灯不亮")).group(1))
    await sim.staff("li.na", f"接单 {number}")
    await sim.staff("li.na", f"办结 {number} 已修")
    assert "哪里" in await sim.resident("r-z", "不满意")
    assert "重新办理" in await sim.resident("r-z", "灯还是一闪一闪的")
    assert any("一闪一闪" in m for m in await sim.log("staff", "li.na"))
    row = sim.db.execute("SELECT state, reopen_count FROM petitions WHERE id=?", [number]).fetchone()
    assert row == ("assigned", 1)


async def test_published_note_drops_phone_numbers_with_their_labels(sim) -> None:
    await sim.resident("r-ph", "我住3号楼2单元501")
    reply = await sim.resident("r-ph", "楼道里堆满了杂物，过不去人")
    pid = int(re.search(r"编号 (\d+)", reply).group(1))
    await sim.staff("li.na", f"办结 {pid} 杂物已清理完毕，联系电话13912345678，501张阿姨已确认")
    assert not any("杂物已清理完毕" in m for m in await sim.log("group", "dy-3"))   # held for staff
    await sim.staff("sun.hong", f"公示 {pid}")
    notice = next(m for m in await sim.log("group", "dy-3") if f"（{pid}号）" in m and "杂物" in m)
    assert "1391234" not in notice and "电话" not in notice and "501" not in notice and "张阿姨" not in notice
    assert "杂物已清理完毕" in notice
