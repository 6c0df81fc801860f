"""Issue 14, point 8: a vote's options are letters or words, never numbers that read as a vote's
number; staff see the live turnout while a vote runs."""

from __future__ import annotations

import re


async def _open_vote(sim, scope: str = "6号楼", options: str = "") -> int:
    created = await sim.staff("sun.hong", "议题 楼前空地改建停车位")
    topic = int(re.search(r"议题 (\d+)", created).group(1))
    reply = await sim.staff("sun.hong", f"发起投票 议题{topic} 截止 11-26 18:00 范围 {scope}{options}")
    return int(re.search(r"投票 (\d+)", reply).group(1))


async def test_the_notice_lists_options_by_letter(sim) -> None:
    await _open_vote(sim)
    notice = next(m for m in await sim.log("group", "dy-6") if "居民投票" in m)
    assert "A. 同意" in notice and "B. 不同意" in notice
    assert "“投票 A”或“投票 同意”" in notice


async def test_a_ballot_by_letter_or_by_words(sim) -> None:
    await sim.resident("a", "我住6号楼1单元101")
    await sim.resident("b", "我住6号楼1单元102")
    vote = await _open_vote(sim)
    assert await sim.resident("a", "投票 A") == f"已记录您家的投票（投票{vote}：同意）。截止前可以改票（由您本人改）。"
    assert "不同意" in await sim.resident("b", "投票 不同意")
    assert "改为：同意" in await sim.resident("b", "投票ａ")      # full-width, lower case
    rows = sim.db.execute("SELECT resident, option FROM ballots ORDER BY resident").fetchall()
    assert rows == [("a", 1), ("b", 1)]


async def test_a_bare_number_is_a_votes_number_and_shows_its_options(sim) -> None:
    await sim.resident("a", "我住6号楼1单元101")
    vote = await _open_vote(sim)
    shown = await sim.resident("a", f"投票{vote}")
    assert "A. 同意" in shown and "B. 不同意" in shown and "投票 A" in shown
    assert sim.db.execute("SELECT count(*) FROM ballots").fetchone()[0] == 0
    mistaken = await sim.resident("a", f"投票 {vote + 1}")            # meant as "the second option"
    assert "数字是投票编号" in mistaken and "A. 同意" in mistaken
    assert sim.db.execute("SELECT count(*) FROM ballots").fetchone()[0] == 0
    wrong = await sim.resident("a", "投票 C")
    assert "没有“C”这个选项" in wrong and "A 到 B" in wrong


async def test_with_two_votes_the_vote_number_comes_before_the_letter(sim) -> None:
    await sim.resident("a", "我住6号楼1单元101")
    first = await _open_vote(sim)
    second = await _open_vote(sim, options=" 选项 东侧/西侧/不建")
    assert "请在字母前写上投票编号" in await sim.resident("a", "投票 A")
    assert "西侧" in await sim.resident("a", f"投票 {second} B")
    assert "同意" in await sim.resident("a", f"投票{first} A")
    assert sim.db.execute("SELECT vote, option FROM ballots ORDER BY vote").fetchall() == [(first, 1), (second, 2)]


async def test_staff_see_the_live_turnout_building_by_building(sim) -> None:
    for openid, room in (("a", "6号楼1单元101"), ("b", "6号楼1单元102"), ("c", "5号楼1单元101")):
        await sim.resident(openid, f"我住{room}")
    vote = await _open_vote(sim, scope="5号楼、6号楼")
    await sim.resident("a", "投票 A")
    await sim.resident("c", "投票 B")
    turnout = await sim.staff("sun.hong", f"投票情况 {vote}")
    assert f"投票{vote}" in turnout and "进行中" in turnout
    assert "6号楼：已投 1 / 2 户" in turnout and "5号楼：已投 1 /" in turnout
    assert "同意" not in turnout.split("\n", 1)[1]          # no option counts before the deadline
    assert f"投票{vote}" in await sim.staff("sun.hong", "投票情况")
    assert "没有投票99" in await sim.staff("sun.hong", "投票情况 99")
    assert "只有社区工作人员" in await sim.staff("li.na", f"投票情况 {vote}")


async def test_words_after_vote_that_are_no_option_are_a_report_when_no_vote_is_open(sim) -> None:
    await sim.resident("a", "我住6号楼1单元101")
    reply = await sim.resident("a", "投票箱被人砸坏了，在6号楼门口")
    assert "没有进行中的投票" not in reply and "选项" not in reply        # classified, not a ballot
    assert "投票" in await sim.resident("a", "投票情况 1")
