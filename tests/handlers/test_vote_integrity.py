"""Issue 12, points 5, 7 and 3: votes cannot be stuffed, /public carries no personal data, and the
duplicate check of a report is bounded whatever its length.

Through the running server (the simulator channel): the electorate is fixed when a vote opens, a ballot
belongs to the person who cast it, re-binding during a vote neither adds a ballot nor takes one over,
two residents claiming one room are shown to staff, and turnout never exceeds 100% in the group notice,
the turnout answer or on /public.
"""

from __future__ import annotations

import json
import re

import pytest

from bot.keys import DELIVERER, INTAKE
from handlers import duplicates
from handlers.deliberation import close_due_votes
from storage import deliberation as store
from tests.desk.helpers import desk_page

LONG = 60_000


async def _open_vote(sim, scope: str = "6号楼") -> tuple[int, str]:
    created = await sim.staff("sun.hong", "议题 楼前空地改建停车位")
    topic = int(re.search(r"议题 (\d+)", created).group(1))
    reply = await sim.staff("sun.hong", f"发起投票 议题{topic} 截止 11-26 18:00 范围 {scope}")
    return int(re.search(r"投票 (\d+)", reply).group(1)), reply


def _ballots(sim, vote: int) -> list[tuple[str, str, int]]:
    return sim.db.execute("SELECT resident, household, option FROM ballots WHERE vote = ? ORDER BY resident",
                          [vote]).fetchall()


async def _close(sim) -> None:
    sim.app[INTAKE].clock.advance(days=1, hours=10)
    assert await sim.app[INTAKE].run_job(close_due_votes) == 1
    await sim.app[DELIVERER].drain()


def _percentages(text: str) -> list[float]:
    return [float(p) for p in re.findall(r"(\d+(?:\.\d+)?)%", text)]


# --- point 5: votes ------------------------------------------------------------------------------------

async def test_rebinding_and_voting_again_changes_only_ones_own_ballot(sim) -> None:
    await sim.resident("mover", "我住6号楼1单元101")
    await sim.resident("next", "我住6号楼1单元102")
    vote, reply = await _open_vote(sim)
    assert "共 2 户" in reply                               # the electorate, fixed at the opening
    assert "已记录" in await sim.resident("mover", "投票 A")
    for room, option in (("1单元103", "B"), ("2单元201", "A"), ("1单元104", "B")):
        await sim.resident("mover", f"我住6号楼{room}")
        assert "改为" in await sim.resident("mover", f"投票 {option}")
    assert "已记录" in await sim.resident("next", "投票 A")
    # one ballot for the mover, still for the household they had when the vote opened
    assert _ballots(sim, vote) == [("mover", "dy-6:1单元101", 2), ("next", "dy-6:1单元102", 1)]
    # moving out of scope does not give a second ballot either
    await sim.resident("mover", "我住3号楼1单元101")
    assert "改为" in await sim.resident("mover", "投票 A")
    assert len(_ballots(sim, vote)) == 2
    assert "已投 2 户 / 共 2 户（100%）" in await sim.resident("next", "投票情况")


async def test_claiming_a_neighbours_room_neither_overwrites_nor_preempts(sim) -> None:
    await sim.resident("owner", "我住6号楼1单元102")
    await sim.resident("claimer", "我住6号楼1单元101")
    await sim.resident("roomless", "我住6号楼")                # on the roll, room not yet given
    await sim.resident("victim", "我住6号楼1单元105")
    vote, _ = await _open_vote(sim)
    assert "已记录" in await sim.resident("owner", "投票 B")
    await sim.resident("claimer", "我住6号楼1单元102")          # claims the neighbour's room
    assert "已记录" in await sim.resident("claimer", "投票 A")   # counts for their own room
    await sim.resident("late", "我住6号楼1单元102")             # bound after the opening
    assert "不能" in await sim.resident("late", "投票 A")
    assert "不能" in await sim.resident("late", "投票 A")
    await sim.resident("roomless", "我住6号楼1单元105")          # pre-empting a neighbour who has not voted
    assert "不能" in await sim.resident("roomless", "投票 A")
    assert "已记录" in await sim.resident("victim", "投票 B")
    assert _ballots(sim, vote) == [("claimer", "dy-6:1单元101", 1), ("owner", "dy-6:1单元102", 2),
                                   ("victim", "dy-6:1单元105", 2)]

    told = [m for m in await sim.log("staff", "sun.hong") if "投票房号重复" in m]
    assert len(told) == 2                                       # once per claimer and room
    assert any("6号楼1单元102" in m for m in told) and any("6号楼1单元105" in m for m in told)
    conflicts = {(c["building"], c["room"]): c for c in await sim.app[INTAKE].writer.call(store.room_conflicts, sim.db)}
    assert set(conflicts[("dy-6", "1单元102")]["residents"]) == {"owner", "claimer", "late"}
    assert set(conflicts[("dy-6", "1单元105")]["residents"]) == {"victim", "roomless"}
    await _close(sim)
    assert any("投票提醒" in m and "2 户房号" in m for m in await sim.log("staff", "sun.hong"))
    assert not any("1单元" in m for m in await sim.log("group", "dy-6"))   # rooms never go to the group


async def test_turnout_never_exceeds_the_electorate_in_the_group_or_on_public(sim) -> None:
    await sim.resident("a", "我住6号楼1单元101")
    await sim.resident("b", "我住6号楼1单元102")
    await _open_vote(sim)
    await sim.resident("a", "投票 A")
    for n, room in enumerate(("1单元201", "1单元202", "1单元203")):
        await sim.resident("a", f"我住6号楼{room}")
        await sim.resident("a", "投票 A")
        await sim.resident(f"new{n}", f"我住6号楼2单元30{n}")   # households bound after the opening
        assert "不能" in await sim.resident(f"new{n}", "投票 A")
    await sim.resident("b", "投票 B")
    assert "已投 2 户 / 共 2 户（100%）" in await sim.resident("b", "投票情况")
    await _close(sim)
    notice = [m for m in await sim.log("group", "dy-6") if "投票结果公示" in m]
    assert len(notice) == 1
    assert "参与 2 户 / 共 2 户，参与率 100.0%" in notice[0]
    assert max(_percentages(notice[0])) <= 100
    page = await (await sim.client.get("/public")).text()
    assert "参与 2 户 / 共 2 户，参与率 100.0%" in page
    assert max(_percentages(page)) <= 100


async def test_declared_households_cap_the_ballots_of_a_building(sim) -> None:
    sim.db.execute("UPDATE buildings SET households = 2 WHERE id = 'dy-6'")
    for who, room in (("p", "1单元101"), ("q", "1单元102"), ("r", "1单元103")):
        await sim.resident(who, f"我住6号楼{room}")
    _, reply = await _open_vote(sim)
    assert "共 2 户" in reply                                   # the org file's count, not the bound rooms
    assert "已记录" in await sim.resident("p", "投票 A")
    assert "已记录" in await sim.resident("q", "投票 A")
    assert "已达到登记户数" in await sim.resident("r", "投票 A")
    await _close(sim)
    notice = next(m for m in await sim.log("group", "dy-6") if "投票结果公示" in m)
    assert "参与 2 户 / 共 2 户，参与率 100.0%" in notice


async def test_public_clamps_a_stuffed_result_stored_before_the_fix(sim) -> None:
    stuffed = {"counts": [3, 1], "voted": 4, "eligible": 2, "participation": 2.0, "approval": 0.75,
               "passed": True}
    sim.db.execute(
        "INSERT INTO votes (topic, question, options, buildings, deadline, participation, approval, status,"
        " result, created_by, created_at) VALUES (1, '加装电梯', ?, ?, '2026-11-20T18:00:00+08:00', '2/3',"
        " '3/4', 'closed', ?, 'sun.hong', '2026-11-10T09:00:00+08:00')",
        [json.dumps(["同意", "不同意"], ensure_ascii=False), json.dumps(["dy-6"]), json.dumps(stuffed)])
    page = await (await sim.client.get("/public")).text()
    assert "参与 2 户 / 共 2 户，参与率 100.0%" in page and "200.0%" not in page


# --- point 7: /public ------------------------------------------------------------------------------------

async def test_public_board_shows_no_requester_name_phone_or_text(sim) -> None:
    await sim.resident("oWang", "我住3号楼2单元501")
    sim.db.execute("UPDATE residents SET name = '王建国' WHERE openid = 'oWang'")
    reply = await sim.resident("oWang", "申请公开 我是王建国，电话13912345678，想了解3号楼电梯维修基金的使用情况")
    did = int(re.search(r"公开 (\d+)", reply).group(1))
    page = await (await sim.client.get("/public")).text()
    assert f"居民申请公开事项（公开 {did}）" in page and "办理中" in page
    for private in ("王建国", "13912345678", "oWang", "维修基金", "2单元501"):
        assert private not in page, private
    await sim.staff("sun.hong", f"答复公开 {did} 电梯维修基金余额12万元，明细已贴公告栏")
    page = await (await sim.client.get("/public")).text()
    assert "余额12万元" in page and "已答复" in page                   # staff's answer is published
    for private in ("王建国", "13912345678", "oWang"):
        assert private not in page, private


# --- point 3: the duplicate check is bounded --------------------------------------------------------------

def _long_report(seed: str) -> str:
    """A real report, then a long tail of different characters (the worst case for rapidfuzz)."""
    body = "".join(chr(0x4E00 + (i * 7919 + ord(seed)) % 20000) for i in range(LONG))
    return "楼道里的灯坏了好几天晚上很黑" * 20 + body


def test_similarity_compares_only_a_bounded_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    real = duplicates.fuzz
    seen: list[int] = []

    class Counting:
        def __getattr__(self, name: str):
            def measure(a: str, b: str) -> float:
                seen.extend((len(a), len(b)))
                return getattr(real, name)(a, b)
            return measure

    folded: list[int] = []
    real_normalise = duplicates.normalise

    def counting_normalise(text: str) -> str:
        folded.append(len(text))
        return real_normalise(text)

    monkeypatch.setattr(duplicates, "fuzz", Counting())
    monkeypatch.setattr(duplicates, "normalise", counting_normalise)
    a, b = _long_report("a"), _long_report("b")
    assert a[:280] == b[:280] and a != b
    assert duplicates.similarity(a, b) == 100     # equal openings, different tails: compared as equal
    assert seen and max(seen) <= 200
    assert folded and max(folded) <= 800
    assert len(duplicates.gist(a)) <= 200


def test_short_reports_still_compare_as_before() -> None:
    assert duplicates.similarity("3号楼门口的路灯不亮了，晚上黑乎乎的", "我们3号楼门口路灯坏了不亮") >= 72  # the default duplicate_score
    assert duplicates.similarity("楼道灯坏了", "小区里那个秋千的链子断了一根") < 60
    assert duplicates.similarity("", "楼道灯坏了") == 0


async def test_two_longest_reports_in_one_building_are_merged(sim) -> None:
    await sim.resident("long1", "我住3号楼1单元101")
    await sim.resident("long2", "我住3号楼1单元102")
    first = await sim.resident("long1", _long_report("a"))
    number = int(re.search(r"编号 ?(\d+)", first).group(1))
    second = await sim.resident("long2", _long_report("b"))
    assert f"{number} 号" in second and "合并" in second


async def test_staff_page_lists_rooms_claimed_twice(sim) -> None:
    await sim.resident("first-claim", "我住3号楼2单元601")
    await sim.resident("second-claim", "我住3号楼2单元601")
    page = await desk_page(sim.client, sim.db, "/admin/deliveries")
    assert "绑定了同一房号" in page and "2单元601" in page
