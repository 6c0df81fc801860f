"""微心愿 from post to confirmation, 双报到 party members, observers reporting by location (SPEC §9)."""

from __future__ import annotations

import re

from bot.messages import Message
from language.commands import parse


async def test_micro_wish_reviewed_claimed_fulfilled_confirmed(sim) -> None:
    await sim.resident("w-owner", "我住5号楼2单元301")
    reply = await sim.resident("w-owner", "微心愿：想请人周六陪我去医院复查")
    wid = int(re.search(r"心愿 (\d+)", reply).group(1))
    assert any(f"审核 心愿{wid}" in m for m in await sim.log("staff", "sun.hong"))

    assert "报到党员" in await sim.staff("sun.hong", "登记党员 刘大爷")     # demo resident demo-r2
    assert "只有社区工作人员" in await sim.staff("li.na", f"审核 心愿{wid} 通过")
    assert "已通过" in await sim.staff("sun.hong", f"审核 心愿{wid} 通过")
    assert any(f"认领 心愿{wid}" in m for m in await sim.log("resident", "demo-r2"))
    assert any("通过审核" in m for m in await sim.log("resident", "w-owner"))

    assert "面向在社区报到的党员" in await sim.resident("w-other", f"认领 心愿{wid}")
    assert f"心愿{wid}" in await sim.resident("demo-r2", "心愿清单")
    assert "感谢认领" in await sim.resident("demo-r2", f"认领 心愿{wid}")
    assert "不能认领" in await sim.resident("demo-r2", f"认领 心愿{wid}")
    assert any("已有党员志愿者认领" in m for m in await sim.log("resident", "w-owner"))
    assert "辛苦" in await sim.resident("demo-r2", f"完成 心愿{wid}")
    assert "已实现" in await sim.resident("w-owner", f"确认 心愿{wid}")
    assert any("感谢您的付出" in m for m in await sim.log("resident", "demo-r2"))
    row = sim.db.execute("SELECT status, claimed_by FROM items WHERE id=?", [wid]).fetchone()
    assert row == ("confirmed", "demo-r2")


async def test_declined_wish_tells_the_resident_why(sim) -> None:
    wid = int(re.search(r"心愿 (\d+)", await sim.resident("w2", "微心愿：想要一台新电脑")).group(1))
    assert "未通过" in await sim.staff("sun.hong", f"审核 心愿{wid} 不通过 超出微心愿范围")
    assert any("超出微心愿范围" in m for m in await sim.log("resident", "w2"))


async def test_party_registration_by_invitation_code(sim) -> None:
    from bot.keys import SETTINGS

    sim.app[SETTINGS].volunteers.party_code = "DY2026"
    assert "邀请码不对" in await sim.resident("p-new", "双报到 WRONG")
    assert "双报到" in await sim.resident("p-new", "双报到 DY2026")
    assert sim.db.execute("SELECT role FROM residents WHERE openid='p-new'").fetchone() == ("party",)


async def _locate(sim, who: str, lat: float, lng: float) -> str:
    from bot.keys import INTAKE

    msg = Message("sim", "resident", who, "location", lat=lat, lng=lng, key=f"loc-{who}-{lat}")
    return "\n".join(await sim.app[INTAKE].answer(msg, None))


async def test_observer_report_goes_to_the_nearest_building(sim, clock) -> None:
    await sim.resident("rider", "你好")
    sim.db.execute("UPDATE residents SET name = '外卖小哥王' WHERE openid = 'rider'")
    assert "观察员" in await sim.staff("sun.hong", "登记观察员 外卖小哥王")
    assert "附近楼栋" in await _locate(sim, "rider", 34.75121, 112.41252)       # a few metres from 3号楼
    reply = await sim.resident("rider", "这边的井盖翻过来了，路上露个大窟窿")
    assert "3号楼" in reply and "编号" in reply
    assert any("井盖" in m for m in await sim.log("staff", "li.na"))

    await _locate(sim, "rider", 34.8000, 112.5000)                              # kilometres away
    reply = await sim.resident("rider", "路边有个大坑积水很深")
    pid = int(re.search(r"编号 (\d+)", reply).group(1))
    assert "工作人员分派" in reply
    assert any("待分派·观察员" in m for m in await sim.log("staff", "sun.hong"))
    assert "已转给" in await sim.staff("sun.hong", f"派单 {pid} 陈杰")
    assert sim.db.execute("SELECT state, grid FROM petitions WHERE id=?", [pid]).fetchone() == ("assigned", "g2")

    clock.advance(hours=2)                                                      # the location is stale now
    assert "哪栋楼" in await sim.resident("rider", "路灯不亮")


def test_wish_commands_parse_with_their_number() -> None:
    assert parse("审核 心愿12 通过") is not None and parse("审核 心愿12 通过").number == 12
    assert parse("审核 心愿12 不通过 太贵").rest == "不通过 太贵"
