"""转人工 as a conversation with the grid worker (issue 14, point 6), and 我的网格员是谁."""

from __future__ import annotations

from storage import handoff, people


async def _bound(sim, openid: str = "h1") -> None:
    await sim.resident(openid, "我住3号楼2单元501")
    people.update_resident(sim.db, openid, name="张阿姨", phone="13912345678")


async def test_worker_sees_who_and_recent_messages_and_answers_through_the_bot(sim) -> None:
    await _bound(sim)
    await sim.resident("h1", "楼道里的灯一直闪")
    opened = await sim.resident("h1", "转人工")
    assert "已为您接通网格员李娜" in opened and "13800000002" in opened
    told = (await sim.log("staff", "li.na"))[-1]
    assert "居民转人工" in told and "张阿姨" in told and "3号楼2单元501" in told and "13912345678" in told
    assert "楼道里的灯一直闪" in told and "转人工" in told and "回复" in told

    assert "李娜" in await sim.resident("h1", "灯是晚上才闪，白天好的")
    assert any("晚上才闪" in m and "张阿姨" in m for m in await sim.log("staff", "li.na"))
    assert not sim.db.execute("SELECT count(*) FROM petitions").fetchone()[0] > 1   # not filed as a report

    assert "已发给居民" in await sim.staff("li.na", "回复 明天上午我带电工上门看看")
    assert "网格员李娜：明天上午我带电工上门看看" in (await sim.log("resident", "h1"))[-1]

    assert "对话已结束" in await sim.resident("h1", "结束")
    assert any("居民已结束对话" in m for m in await sim.log("staff", "li.na"))
    assert "没有进行中的居民对话" in await sim.staff("li.na", "回复 还在吗")


async def test_worker_ends_the_conversation_and_the_resident_is_told(sim) -> None:
    await _bound(sim)
    await sim.resident("h1", "转人工")
    hid = handoff.open_for_resident(sim.db, "h1")["id"]
    assert f"已结束对话{hid}" in await sim.staff("li.na", f"结束 {hid}")
    assert "网格员李娜已结束本次对话" in (await sim.log("resident", "h1"))[-1]
    reply = await sim.resident("h1", "单元门口的路灯不亮了")
    assert "已登记" in reply                    # classified again once the hand-off is over


async def test_a_worker_with_two_conversations_names_the_one_answered(sim) -> None:
    await _bound(sim, "h1")
    await _bound(sim, "h2")
    await sim.resident("h1", "转人工")
    await sim.resident("h2", "转人工")
    first = handoff.open_for_resident(sim.db, "h1")["id"]
    which = await sim.staff("li.na", "回复 好的")
    assert "几个进行中的对话" in which and f"对话{first}" in which
    assert "已发给居民" in await sim.staff("li.na", f"回复 {first} 下午三点到")
    assert "下午三点到" in (await sim.log("resident", "h1"))[-1]
    assert not any("下午三点到" in m for m in await sim.log("resident", "h2"))


async def test_plain_words_from_the_worker_are_not_sent_but_explained(sim) -> None:
    await _bound(sim)
    await sim.resident("h1", "转人工")
    hint = await sim.staff("li.na", "好的我知道了")
    assert "回复 内容" in hint and "张阿姨" in hint
    assert not any("我知道了" in m for m in await sim.log("resident", "h1"))


async def test_the_conversation_ends_after_two_silent_hours(sim, clock) -> None:
    await _bound(sim)
    await sim.resident("h1", "转人工")
    clock.advance(hours=2, minutes=1)
    reply = await sim.resident("h1", "单元门口的路灯不亮了")
    assert "自动结束" in reply and "已登记" in reply
    assert any("自动结束" in m for m in await sim.log("staff", "li.na"))
    assert "没有进行中的居民对话" in await sim.staff("li.na", "回复 我来了")


async def test_an_emergency_in_a_conversation_still_gets_the_safety_answer(sim) -> None:
    await _bound(sim)
    await sim.resident("h1", "转人工")
    assert "119" in await sim.resident("h1", "楼道里着火了，好大的烟")
    assert handoff.open_for_resident(sim.db, "h1") is not None


async def test_human_without_an_address_asks_for_it(sim) -> None:
    assert "住址" in await sim.resident("nobody", "转人工")
    assert handoff.open_for_resident(sim.db, "nobody") is None


async def test_who_is_my_worker_is_answered_without_messaging_them(sim) -> None:
    await _bound(sim)
    before = len(await sim.log("staff", "li.na"))
    reply = await sim.resident("h1", "我的网格员是谁")
    assert reply == "您楼栋（3号楼）的网格员是李娜（电话：13800000002）。想直接和网格员说话，请发“转人工”。"
    assert "李娜" in await sim.resident("h1", "谁是我们楼的网格员？")
    assert len(await sim.log("staff", "li.na")) == before
    assert handoff.open_for_resident(sim.db, "h1") is None
    assert "住址" in await sim.resident("nobody", "我的网格员是谁")
    await sim.resident("five", "我住5号楼1单元101")
    assert "陈杰（电话：13800000004）、刘芳（电话：13800000005）" in await sim.resident("five", "网格员电话多少")
