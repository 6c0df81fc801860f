"""Resident conversations through the real handlers: query, urge, cancel, several petitions, help."""

from __future__ import annotations

import re


def number(reply: str) -> int:
    return int(re.search(r"编号 (\d+)", reply).group(1))


async def test_query_urge_and_cancel_with_two_open_petitions(sim) -> None:
    await sim.resident("q1", "我住3号楼2单元501")
    a = number(await sim.resident("q1", "楼道灯不亮了"))
    b = number(await sim.resident("q1", "楼下垃圾桶满了没人清"))
    listing = await sim.resident("q1", "我反映的事有进展吗")
    assert f"{a}号" in listing and f"{b}号" in listing

    asks = await sim.resident("q1", "能不能快点处理")
    assert "哪一件" in asks
    assert "已催办" in await sim.resident("q1", str(b))
    assert any("催办" in m and f"{b}" in m for m in await sim.log("staff", "li.na"))

    assert "已撤回" in await sim.resident("q1", f"{a}号那个事不用管了")
    assert sim.db.execute("SELECT state FROM petitions WHERE id=?", [a]).fetchone()[0] == "cancelled"
    assert "已催办" in await sim.resident("q1", "催一下")  # one open petition left: no question


async def test_someone_elses_petition_is_not_shown(sim) -> None:
    await sim.resident("p1", "我住3号楼2单元501")
    a = number(await sim.resident("p1", "楼道灯不亮了"))
    assert "没有找到您名下" in await sim.resident("p2", f"查询 {a}")


async def test_help_consult_wish_and_human(sim) -> None:
    assert "报事" in await sim.resident("h1", "你好")
    assert "居住证" in await sim.resident("h1", "办居住证要带什么材料")
    assert "心愿" in await sim.resident("h1", "微心愿：想请志愿者陪我去医院复查")
    assert "住址" in await sim.resident("h1", "转人工")
    await sim.resident("h1", "我住5号楼2单元301")
    reply = await sim.resident("h1", "转人工")
    assert "网格员" in reply
    assert any("转人工" in m for m in await sim.log("staff", "chen.jie") + await sim.log("staff", "liu.fang"))


async def test_emergency_gets_guidance_and_an_urgent_petition(sim) -> None:
    await sim.resident("e1", "我住3号楼2单元501")
    reply = await sim.resident("e1", "电梯困人了！有人被关在里面")
    assert "96333" in reply and "紧急" in reply
    row = sim.db.execute("SELECT urgent, state FROM petitions WHERE resident='e1'").fetchone()
    assert row == (1, "assigned")


class _Unsure:
    """A matcher that is never sure, to drive the clarifying question deterministically."""

    def classify(self, text: str):
        from language.intents import Match, default_matcher

        if text.startswith("我住"):
            return default_matcher().classify(text)
        return Match("report", "noise", 0.2, (("suggest", None, 0.18), ("report", "property", 0.15)), None)


async def test_low_confidence_asks_with_numbered_choices(aiohttp_client, settings, clock) -> None:
    from bot.app import create_app
    from tests.conftest import Sim

    app = create_app(settings, clock=clock, matcher=_Unsure(), deliver=False)
    sim = Sim(await aiohttp_client(app), app)
    await sim.resident("c1", "我住3号楼2单元501")
    question = await sim.resident("c1", "楼上每天晚上都咚咚咚的")
    assert "1. 反映噪音扰民方面的问题" in question and "2. 给社区提建议" in question and "3." in question
    filed = await sim.resident("c1", "1")
    assert "编号" in filed and "噪音" in filed
    assert sim.db.execute("SELECT category FROM petitions WHERE resident='c1'").fetchone()[0] == "noise"
    await sim.resident("c1", "小区晚上能不能多安排几趟巡逻")
    assert "建议" in await sim.resident("c1", "2")


async def test_emergency_without_an_address_asks_then_files_urgently(sim) -> None:
    reply = await sim.resident("e2", "着火了！楼道里全是烟")
    assert "119" in reply and "哪栋楼" in reply
    reply = await sim.resident("e2", "5栋")
    assert "紧急" in reply and "5号楼" in reply
    assert sim.db.execute("SELECT urgent FROM petitions WHERE resident='e2'").fetchone() == (1,)


async def test_which_petition_is_understood_from_its_kind_or_building(sim) -> None:
    await sim.resident("k1", "我住5号楼2单元301")
    lift = number(await sim.resident("k1", "5号楼电梯又坏了，上不去"))
    noise = number(await sim.resident("k1", "楼上天天半夜拖椅子，吵得睡不着"))
    number(await sim.resident("k1", "单元门口的路灯不亮了"))
    assert f"已撤回 {noise} 号" in await sim.resident("k1", "噪音那个事不用管了")
    assert f"已催办 {lift} 号" in await sim.resident("k1", "电梯的事能不能快点")


class _UnsureWithdraw:
    """Unsure between a report and withdrawing a petition, for every message but a binding."""

    def classify(self, text: str):
        from language.intents import Match, default_matcher

        if text.startswith("我住"):
            return default_matcher().classify(text)
        return Match("report", "safety", 0.2, (("cancel", None, 0.18), ("suggest", None, 0.15)), None)


async def test_clarifying_offers_only_what_the_resident_can_mean(aiohttp_client, settings, clock) -> None:
    """Someone with no petition is never offered to withdraw one; with one left, the bot just acts."""
    from bot.app import create_app
    from tests.conftest import Sim

    app = create_app(settings, clock=clock, matcher=_UnsureWithdraw(), deliver=False)
    sim = Sim(await aiohttp_client(app), app)
    await sim.resident("w1", "我住3号楼2单元501")
    question = await sim.resident("w1", "楼道里有点怪味")
    assert "撤回" not in question and "1. 反映安全隐患方面的问题" in question and "2. 给社区提建议" in question
    filed = await sim.resident("w1", "1")
    assert "编号" in filed
    again = await sim.resident("w1", "楼道里还是有点怪味")
    assert "2. 撤回我反映的问题" in again          # now there is a petition to withdraw


class _UnsureOnlyWithdraw:
    def classify(self, text: str):
        from language.intents import Match, default_matcher

        if text.startswith("我住"):
            return default_matcher().classify(text)
        return Match("report", "safety", 0.2, (("cancel", None, 0.18),), None)


async def test_with_one_possible_meaning_left_the_bot_acts_on_it(aiohttp_client, settings, clock) -> None:
    from bot.app import create_app
    from tests.conftest import Sim

    app = create_app(settings, clock=clock, matcher=_UnsureOnlyWithdraw(), deliver=False)
    sim = Sim(await aiohttp_client(app), app)
    await sim.resident("w2", "我住3号楼2单元501")
    assert "编号" in await sim.resident("w2", "楼道里有点怪味")     # no question: filed
