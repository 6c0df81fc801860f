"""Ratings count: a rating word while petitions wait for a rating is a rating (never a new report), the
reason after 不满意 is kept, and what the bot says about ratings is true (issue 14, points 4-5)."""

from __future__ import annotations

import re

from storage import stats


def number(reply: str) -> int:
    return int(re.search(r"编号 (\d+)", reply).group(1))


async def resolved(sim, who: str, text: str, note: str = "已处理") -> int:
    """A petition of `who` (bound to 3号楼, li.na's building) filed, signed for and resolved."""
    pid = number(await sim.resident(who, text))
    await sim.staff("li.na", f"接单 {pid}")
    await sim.staff("li.na", f"办结 {pid} {note}")
    return pid


def row(sim, pid: int) -> dict:
    cur = sim.db.execute("SELECT * FROM petitions WHERE id = ?", [pid])
    return dict(zip([c[0] for c in cur.description], cur.fetchone(), strict=True))


def count(sim, who: str) -> int:
    return sim.db.execute("SELECT count(*) FROM petitions WHERE resident = ?", [who]).fetchone()[0]


def first_grid(sim) -> dict:
    return stats.summary(sim.db)["grids"]["g1"]


async def two_waiting(sim, who: str) -> tuple[int, int]:
    await sim.resident(who, "我住3号楼2单元501")
    noise = await resolved(sim, who, "楼上每天半夜拖椅子，吵得睡不着", "已上门劝导")
    light = await resolved(sim, who, "单元门口的路灯不亮了", "已更换灯泡")
    return noise, light


async def test_unsatisfied_with_two_waiting_asks_which_and_is_never_a_new_report(sim) -> None:
    noise, light = await two_waiting(sim, "u1")
    before = count(sim, "u1")

    asks = await sim.resident("u1", "不满意，楼上晚上还是吵，根本没人管")
    assert "哪一件" in asks and "正在办理" not in asks
    assert f"{noise}号 3号楼 噪音扰民：已办结，待评价" in asks
    assert f"{light}号 3号楼 路灯照明：已办结，待评价" in asks
    assert count(sim, "u1") == before          # no new petition
    assert row(sim, noise)["state"] == "resolved"

    reply = await sim.resident("u1", str(noise))
    assert f"{noise} 号问题重新办理中" in reply
    p = row(sim, noise)
    assert (p["state"], p["rating"], p["rating_note"], p["reopen_count"]) == \
        ("assigned", "unsatisfied", "楼上晚上还是吵，根本没人管", 1)
    assert row(sim, light)["state"] == "resolved"
    assert any("楼上晚上还是吵" in m and f"{noise}" in m for m in await sim.log("staff", "li.na"))
    assert count(sim, "u1") == before


async def test_the_unsatisfied_rating_counts_against_the_satisfaction_rate(sim) -> None:
    noise, light = await two_waiting(sim, "u2")
    await sim.resident("u2", f"满意 {light}")
    assert first_grid(sim)["satisfaction_rate"] == 1.0
    await sim.resident("u2", "不满意，楼上晚上还是吵，根本没人管")
    await sim.resident("u2", str(noise))
    assert first_grid(sim)["satisfaction_rate"] == 0.5


async def test_unsatisfied_naming_the_petition_by_number_rates_it_at_once(sim) -> None:
    noise, light = await two_waiting(sim, "u3")
    reply = await sim.resident("u3", f"{light}号不满意，灯装上第二天又灭了")
    assert f"{light} 号问题重新办理中" in reply
    assert row(sim, light)["rating_note"] == "灯装上第二天又灭了"
    assert row(sim, noise)["state"] == "resolved"


async def test_unsatisfied_with_one_waiting_reopens_it_with_the_reason(sim) -> None:
    await sim.resident("u4", "我住3号楼2单元501")
    pid = await resolved(sim, "u4", "楼上每天半夜拖椅子，吵得睡不着")
    before = count(sim, "u4")
    assert f"{pid} 号问题重新办理中" in await sim.resident("u4", "不满意，楼上晚上还是吵，根本没人管")
    p = row(sim, pid)
    assert (p["state"], p["rating"], p["rating_note"]) == ("assigned", "unsatisfied", "楼上晚上还是吵，根本没人管")
    assert count(sim, "u4") == before


async def test_a_building_number_in_the_reason_is_not_a_petition_number(sim) -> None:
    await sim.resident("u5", "我住3号楼2单元501")
    pid = await resolved(sim, "u5", "楼道灯不亮")
    assert f"{pid} 号问题重新办理中" in await sim.resident("u5", "不满意，3号楼楼道还是黑的")
    assert row(sim, pid)["rating_note"] == "3号楼楼道还是黑的"


async def test_satisfied_with_two_waiting_lists_them_as_resolved(sim) -> None:
    noise, light = await two_waiting(sim, "s1")
    asks = await sim.resident("s1", "满意")
    assert "已经办结，正等您评价" in asks and "正在办理" not in asks
    assert f"{noise}号 3号楼 噪音扰民：已办结，待评价" in asks
    assert "感谢您的评价" in await sim.resident("s1", str(light))
    assert (row(sim, light)["state"], row(sim, light)["rating"]) == ("closed", "satisfied")
    # one left waiting: the next rating needs no question
    assert "感谢您的评价" in await sim.resident("s1", "基本满意")
    assert row(sim, noise)["rating"] == "basic"


async def test_satisfied_with_a_number_rates_that_one(sim) -> None:
    noise, light = await two_waiting(sim, "s2")
    assert f"{noise} 号问题已归档" in await sim.resident("s2", f"满意 {noise}")
    assert row(sim, noise)["rating"] == "satisfied"
    assert row(sim, light)["state"] == "resolved"
    assert "已经归档，不能再评价" in await sim.resident("s2", f"不满意 {noise}")
    assert "没有找到您名下的 9999 号问题" in await sim.resident("s2", "满意 9999")


async def test_a_rating_is_asked_for_when_thanked_with_one_waiting(sim) -> None:
    await sim.resident("t1", "我住3号楼2单元501")
    pid = await resolved(sim, "t1", "楼道灯不亮")
    reply = await sim.resident("t1", "谢谢你们")
    assert reply.startswith("不客气") and f"{pid} 号问题已经办结" in reply and "满意" in reply
    assert row(sim, pid)["state"] == "resolved"


async def test_thanks_with_nothing_to_rate_gets_a_warm_answer(sim) -> None:
    reply = await sim.resident("t2", "谢谢你们")
    assert reply == "不客气！以后遇到什么问题，随时发消息给我们。"
    assert "待评价" not in reply


async def test_satisfied_with_nothing_to_rate_is_thanked(sim) -> None:
    await sim.resident("t3", "我住3号楼2单元501")
    pid = await resolved(sim, "t3", "楼道灯不亮")
    await sim.resident("t3", "满意")
    assert "谢谢您的认可" in await sim.resident("t3", "非常满意")
    assert row(sim, pid)["rating"] == "satisfied"


async def test_unsatisfied_about_something_new_with_nothing_to_rate_is_a_report(sim) -> None:
    await sim.resident("n1", "我住3号楼2单元501")
    reply = await sim.resident("n1", "不满意，单元门口的路灯一直不亮")
    pid = number(reply)
    p = row(sim, pid)
    assert (p["state"], p["category"], p["resident"]) == ("assigned", "lighting", "n1")
    assert "很抱歉让您不满意" in await sim.resident("n1", "不满意")


async def test_a_rating_word_used_otherwise_is_not_a_rating(sim) -> None:
    await sim.resident("o1", "我住3号楼2单元501")
    pid = await resolved(sim, "o1", "楼道灯不亮")
    await sim.resident("o1", "你们的满意度调查在哪里填")
    assert row(sim, pid)["state"] == "resolved"


async def test_an_emergency_with_a_rating_word_still_gets_safety_guidance(sim) -> None:
    await sim.resident("e1", "我住3号楼2单元501")
    pid = await resolved(sim, "e1", "电梯异响")
    reply = await sim.resident("e1", "很不满意，电梯困人了")
    assert "紧急" in reply
    assert row(sim, pid)["state"] == "resolved"


async def test_the_petition_to_rate_can_be_named_by_its_kind(sim) -> None:
    noise, light = await two_waiting(sim, "k1")
    assert "哪一件" in await sim.resident("k1", "不满意，还是老样子")
    assert f"{light} 号问题重新办理中" in await sim.resident("k1", "路灯那个")
    assert (row(sim, light)["rating_note"], row(sim, noise)["state"]) == ("还是老样子", "resolved")
