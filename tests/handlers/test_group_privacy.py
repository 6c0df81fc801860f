"""Building group notices carry template text; a worker's 办结 note reaches the group only when staff
publish it (公示 N), and then with every contact detail, room and name masked (issue 12, point 7)."""

from __future__ import annotations

import re

import pytest

from language import privacy

# every form that once slipped through the scrubber, in one 办结 note
NOTE = ("已更换灯泡。座机62345678，二单元五零一的住户，手机号一三八一二三四五六七八，王阿姨和张建国先生已确认，"
        "QQ 2876543210，邮箱 wang.ayi@example.com")
PII = ("62345678", "二单元", "五零一", "一三八", "四五六七八", "王阿姨", "张建国", "先生", "2876543210", "wang.ayi",
       "example.com", "@", "QQ", "邮箱", "手机号", "座机")


async def resolved(sim, who: str, room: str, problem: str, note: str) -> int:
    """A petition of `who` in 3号楼, signed for and resolved by its worker li.na with `note`."""
    await sim.resident(who, f"我住3号楼{room}")
    number = int(re.search(r"编号 (\d+)", await sim.resident(who, problem)).group(1))
    await sim.staff("li.na", f"接单 {number}")
    reply = await sim.staff("li.na", f"办结 {number} {note}")
    assert "已办结" in reply and f"公示 {number}" in reply     # the worker learns the note is held
    return number


def leaks(messages: list[str]) -> list[str]:
    return [f"{form} in {m}" for m in messages for form in PII if form in m]


async def test_resolution_notice_is_template_and_staff_publish_the_masked_note(sim) -> None:
    number = await resolved(sim, "r-pii", "2单元501", "楼道灯不亮了", NOTE)
    group = await sim.log("group", "dy-3")
    notice = [m for m in group if f"（{number}号）" in m]
    assert len(notice) == 1 and "办结公示" in notice[0]
    assert "3号楼" in notice[0] and "路灯照明" in notice[0] and "已办结" in notice[0]
    assert not any("灯泡" in m for m in group), "the note waits for staff"
    assert leaks(group) == []

    # a worker cannot publish; staff see what awaits approval, already masked
    assert "只有社区工作人员" in await sim.staff("li.na", f"公示 {number}")
    assert await sim.log("group", "dy-3") == group
    waiting = await sim.staff("sun.hong", "公示")
    assert f"{number}号" in waiting and "已更换灯泡" in waiting and leaks([waiting]) == []

    reply = await sim.staff("sun.hong", f"公示 {number}")
    assert "已更换灯泡" in reply and leaks([reply]) == []
    group = await sim.log("group", "dy-3")
    published = [m for m in group if f"（{number}号）" in m and "已更换灯泡" in m]
    assert len(published) == 1 and "3号楼" in published[0] and "路灯照明" in published[0]
    assert leaks(group) == []

    assert "已经公示过" in await sim.staff("sun.hong", f"公示 {number}")
    assert "暂无" in await sim.staff("sun.hong", "公示")
    assert len(await sim.log("group", "dy-3")) == len(group)


async def test_staff_wording_is_published_masked_too(sim) -> None:
    number = await resolved(sim, "r-own", "1单元102", "楼道灯坏了", "已修")
    reply = await sim.staff("sun.hong", f"公示 {number} 路灯已修复，感谢李女士配合，有问题请打0371-62345678")
    assert "路灯已修复" in reply
    group = await sim.log("group", "dy-3")
    published = next(m for m in group if "路灯已修复" in m)
    assert "李女士" not in published and "62345678" not in published and "0371" not in published


async def test_only_resolved_public_petitions_are_published(sim) -> None:
    await sim.resident("r-open", "我住3号楼1单元101")
    number = int(re.search(r"编号 (\d+)", await sim.resident("r-open", "单元门口的路灯不亮了")).group(1))
    assert "还没有办结" in await sim.staff("sun.hong", f"公示 {number}")
    assert "没有 9999 号" in await sim.staff("sun.hong", "公示 9999")
    await sim.staff("li.na", f"接单 {number}")
    await sim.staff("li.na", f"办结 {number} 已修")
    sim.db.execute("UPDATE petitions SET private = 1 WHERE id = ?", [number])
    assert "不在楼栋群公示" in await sim.staff("sun.hong", f"公示 {number}")
    assert not any("已修" in m for m in await sim.log("group", "dy-3"))


@pytest.mark.parametrize("text, gone", [
    ("联系电话13912345678", ["1391234", "电话"]),
    ("手机 139 1234 5678", ["1234"]),
    ("+86 139-1234-5678", ["1234", "86"]),
    ("打62345678找物业", ["62345678"]),
    ("座机(010) 6234-5678", ["6234", "010"]),
    ("０３７１－６２３４５６７８", ["６２３４"]),
    ("手机号一三八一二三四五六七八", ["一三八", "手机号"]),
    ("电话幺三八幺二三四五六七八", ["幺三八"]),
    ("二单元五零一", ["五零一", "二单元"]),
    ("3号楼2单元501室", ["501"]),
    ("3-2-501的住户", ["501"]),
    ("五零一室已确认", ["五零一"]),
    ("501已确认", ["501"]),
    ("QQ 12345678", ["12345678", "QQ"]),
    ("qq号：987654321", ["987654321"]),
    ("邮箱 zhang.san@example.com", ["zhang", "example", "@"]),
    ("发到li@qq.com", ["li@", "qq.com"]),
    ("微信号：zhangsan88", ["zhangsan88"]),
    ("王阿姨已确认", ["王阿姨"]),
    ("感谢张建国先生", ["张建国", "先生"]),
    ("李女士来电", ["李女士"]),
    ("老王说好了", ["老王"]),
    ("刘师傅修好了", ["刘师傅"]),
])
def test_scrubber_masks_each_form(text: str, gone: list[str]) -> None:
    masked = privacy.scrub(text, "***")
    assert "***" in masked
    assert [g for g in gone if g in masked] == [], masked


@pytest.mark.parametrize("text", [
    "已更换灯泡", "2026-12-01上午已更换", "花费12000元", "共3个灯泡", "2026年底前完成", "小区路灯已修复",
    "小高层电梯已检修", "单元门口的灯已修好", "物业已派电工处理", "3号楼门口的路灯",
])
def test_scrubber_keeps_ordinary_text(text: str) -> None:
    assert privacy.scrub(text, "***") == text
