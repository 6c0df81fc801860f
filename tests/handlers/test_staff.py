"""Staff announcements (公告) through each building's group channel, recorded per delivery."""

from __future__ import annotations

from storage import outbox


async def test_announcement_to_one_building(sim) -> None:
    reply = await sim.staff("sun.hong", "公告 3号楼 明天上午9点到12点停水，请提前储水")
    assert "1 个楼栋" in reply
    assert any("停水" in m for m in await sim.log("group", "dy-3"))
    assert not any("停水" in m for m in await sim.log("group", "dy-5"))


async def test_announcement_to_a_grid_and_the_community(sim) -> None:
    assert "3 个楼栋" in await sim.staff("sun.hong", "公告 第一网格 周六上午社区义诊")
    assert any("义诊" in m for m in await sim.log("group", "dy-1"))
    assert not any("义诊" in m for m in await sim.log("group", "dy-5"))
    assert "5 个楼栋" in await sim.staff("sun.hong", "公告 全社区 本周五消防演练")
    for b in ("dy-1", "dy-2", "dy-3", "dy-5", "dy-6"):
        assert any("消防演练" in m for m in await sim.log("group", b))
    deliveries = outbox.for_ref(sim.db, "announcement:2")
    assert len(deliveries) == 5 and {d["status"] for d in deliveries} == {"sent"}


async def test_workers_cannot_announce_and_bad_scope_explained(sim) -> None:
    assert "只有社区工作人员" in await sim.staff("li.na", "公告 3号楼 测试")
    assert "没找到“火星”" in await sim.staff("sun.hong", "公告 火星 测试")
    assert "不在社区工作人员名单" in await sim.staff("stranger", "待办")


async def test_returned_petition_is_redispatched_by_staff(sim) -> None:
    await sim.resident("r1", "我住5号楼1单元101")
    reply = await sim.resident("r1", "楼下车棚的顶棚被风刮坏了")
    pid = int(reply.split("编号 ")[1].split(" ")[0])
    worker = sim.db.execute("SELECT worker FROM petitions WHERE id=?", [pid]).fetchone()[0]
    assert worker in ("chen.jie", "liu.fang")
    assert "退回社区" in await sim.staff(worker, f"退回 {pid} 车棚归物业公司管")
    assert any(f"{pid} 号被退回" in m for m in await sim.log("staff", "sun.hong"))
    assert "已转给" in await sim.staff("sun.hong", f"派单 {pid} 刘芳")
    assert sim.db.execute("SELECT state, worker FROM petitions WHERE id=?", [pid]).fetchone() == (
        "assigned", "liu.fang")


async def test_announcement_to_a_list_of_buildings(sim) -> None:
    assert "2 个楼栋" in await sim.staff("sun.hong", "公告 3号楼、5号楼 周日上午电梯年检")
    assert any("年检" in m for m in await sim.log("group", "dy-3"))
    assert any("年检" in m for m in await sim.log("group", "dy-5"))
    assert not any("年检" in m for m in await sim.log("group", "dy-1"))
