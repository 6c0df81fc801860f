"""亲邻议事 over the real protocols: duplicates merged, a vote across two buildings, disclosure on /public."""

from __future__ import annotations

import re

from bot.keys import CLOCK, DELIVERER, INTAKE
from handlers.deliberation import close_due_votes
from tests import fakewechat, peers
from tests.fakewechat import WechatEnv, robot_key
from tests.peers import drain

wechat_env = fakewechat.wechat_env
running = peers.running


async def bind(oa, openid: str, where: str) -> None:
    assert "住址" in (await oa.send(oa.text(openid, f"我住{where}"))).content


async def test_duplicate_report_is_merged_and_follower_told_of_resolution(running, wechat_env: WechatEnv) -> None:
    app, oa, wecom = running
    await bind(oa, "oNeighbourA", "3号楼2单元501")
    await bind(oa, "oNeighbourB", "3号楼1单元202")
    first = (await oa.send(oa.text("oNeighbourA", "3号楼门口的路灯不亮了，晚上黑乎乎的"))).content
    number = int(re.search(r"编号 (\d+)", first).group(1))
    second = (await oa.send(oa.text("oNeighbourB", "我们3号楼门口路灯坏了不亮"))).content
    assert f"{number} 号" in second and "合并" in second and "共 2 户" in second
    await drain(app)
    assert any("共 2 户" in m for m in wechat_env.fake.wecom_texts("li.na"))

    await wecom.send(wecom.text("li.na", f"接单 {number}"))
    await wecom.send(wecom.text("li.na", f"办结 {number} 已更换灯泡"))
    await drain(app)
    assert any("已更换灯泡" in m for m in wechat_env.fake.oa_texts("oNeighbourB"))
    db = app[INTAKE].db
    merged = db.execute("SELECT state, merged_into FROM petitions WHERE resident = 'oNeighbourB'").fetchall()
    assert merged == [("merged", number)]
    assert db.execute("SELECT count(*) FROM petitions WHERE state != 'merged'").fetchone()[0] == 1


async def test_a_vote_across_two_buildings(running, wechat_env: WechatEnv) -> None:
    app, oa, wecom = running
    voters = {"oV1": "3号楼2单元501", "oV2": "3号楼2单元502", "oV3": "3号楼1单元601",
              "oV4": "5号楼1单元101", "oV5": "5号楼2单元202", "oOutsider": "6号楼1单元101"}
    for openid, where in voters.items():
        await bind(oa, openid, where)
    created = (await wecom.send(wecom.text("sun.hong", "议题 3号楼和5号楼之间的空地改建成停车位"))).content
    topic = int(re.search(r"议题 (\d+)", created).group(1))
    reply = (await wecom.send(wecom.text("sun.hong", f"发起投票 议题{topic} 截止 11-28 18:00 范围 3号楼、5号楼"))).content
    assert "2 个楼栋群" in reply
    await drain(app)
    fake = wechat_env.fake
    assert any("投票 A" in m and "A. 同意" in m for m in fake.robot_texts(robot_key("dy-3")))
    assert any("投票 A" in m for m in fake.robot_texts(robot_key("dy-5")))
    assert not fake.robot_texts(robot_key("dy-6")) and not fake.robot_texts(robot_key("dy-1"))

    assert "同意" in (await oa.send(oa.text("oV1", "投票 B"))).content
    assert "改为：同意" in (await oa.send(oa.text("oV1", "投票 A"))).content  # the later vote counts
    for openid, option in (("oV2", "A"), ("oV3", "A"), ("oV4", "A"), ("oV5", "B")):
        assert "已记录" in (await oa.send(oa.text(openid, f"投票 {option}"))).content
    refused = (await oa.send(oa.text("oOutsider", "投票 A"))).content
    assert "不在投票范围" in refused
    turnout = (await oa.send(oa.text("oV4", "投票情况"))).content
    # households bound in scope: five voters plus the demo resident of 3号楼 (刘大爷) = 7
    assert "已投 5 户 / 共 7 户" in turnout

    app[CLOCK].current = app[CLOCK].current.replace(day=28, hour=18, minute=1)
    assert "截止" in (await oa.send(oa.text("oV2", "投票 B"))).content
    assert await app[INTAKE].run_job(close_due_votes) == 1
    await drain(app)
    for b in ("dy-3", "dy-5"):
        results = [m for m in fake.robot_texts(robot_key(b)) if "投票结果公示" in m]
        assert len(results) == 1
        assert "同意：4 户" in results[0] and "不同意：1 户" in results[0]
        assert "参与 5 户 / 共 7 户" in results[0] and "结果：通过" in results[0]
    assert not any("投票结果" in m for m in fake.robot_texts(robot_key("dy-6")))
    db = app[INTAKE].db
    assert db.execute("SELECT status FROM topics WHERE id = ?", [topic]).fetchone()[0] == "decided"
    assert await app[INTAKE].run_job(close_due_votes) == 0  # published once
    page = await (await oa.client.get("/public")).text()
    assert "投票结果公示" in page and "通过" in page


async def test_disclosure_request_answered_and_listed(running, wechat_env: WechatEnv) -> None:
    app, oa, wecom = running
    await bind(oa, "oAsker", "5号楼2单元601")
    reply = (await oa.send(oa.text("oAsker", "申请公开 小区停车费这两年的收支情况"))).content
    did = int(re.search(r"公开 (\d+)", reply).group(1))
    await drain(app)
    assert any("依申请公开" in m for m in wechat_env.fake.wecom_texts("sun.hong"))
    await wecom.send(wecom.text("sun.hong", f"答复公开 {did} 两年共收12万元，用于道闸维护和划线，明细已贴公告栏"))
    await wecom.send(wecom.text("sun.hong", "主动公开 2026年度社区惠民资金使用情况：共计8万元，用于加装扶手和路灯"))
    await drain(app)
    assert any("12万元" in m for m in wechat_env.fake.oa_texts("oAsker"))
    page = await (await oa.client.get("/public")).text()
    assert f"居民申请公开事项（公开 {did}）" in page and "12万元" in page and "惠民资金" in page
    # the resident's own request text is not published; staff's answer is (issue 12, point 7)
    assert "停车费" not in page and "oAsker" not in page and "601" not in page


async def test_workers_merge_and_unmerge_by_command(sim) -> None:
    await sim.resident("m1", "我住3号楼2单元501")
    await sim.resident("m2", "我住3号楼1单元101")
    a = int(re.search(r"编号 (\d+)", await sim.resident("m1", "楼下健身器材的单杠松动了")).group(1))
    b = int(re.search(r"编号 (\d+)", await sim.resident("m2", "小区里那个秋千的链子断了一根")).group(1))
    assert "共 2 户" in await sim.staff("li.na", f"合并 {b} 到 {a}")
    assert any(f"与 {a} 号是同一件事" in m for m in await sim.log("resident", "m2"))
    await sim.staff("li.na", f"接单 {a}")
    assert any(f"{a} 号问题，网格员已签收" in m for m in await sim.log("resident", "m2"))
    assert "单独派单" in await sim.staff("li.na", f"取消合并 {b}")
    assert sim.db.execute("SELECT state, merged_into FROM petitions WHERE id=?", [b]).fetchone() == ("assigned", None)
    assert "不在您负责的网格" in await sim.staff("chen.jie", f"合并 {a} 到 {b}")


async def test_grid_head_escalation_becomes_a_topic(sim) -> None:
    await sim.resident("t1", "我住3号楼2单元501")
    pid = int(re.search(r"编号 (\d+)", await sim.resident("t1", "楼前空地想改成停车位，大家意见不一")).group(1))
    assert "已上报" in await sim.staff("wang.qiang", f"上报 {pid} 涉及全楼，需要议事")
    assert any("新议题" in m for m in await sim.log("staff", "sun.hong"))
    topic = sim.db.execute("SELECT id, status FROM topics WHERE petition=?", [pid]).fetchone()
    assert topic[1] == "open"
    assert "议题" in await sim.staff("sun.hong", f"议题 {topic[0]}")


async def test_votes_close_and_overdue_disclosures_are_raised_by_the_clock(sim, clock) -> None:
    from bot.keys import INTAKE
    from handlers.clock import run_due

    await sim.resident("d1", "我住3号楼2单元501")
    await sim.resident("d1", "申请公开 楼道广告位的收入去向")
    topic = int(re.search(r"议题 (\d+)", await sim.staff("sun.hong", "议题 楼顶加装太阳能板")).group(1))
    await sim.staff("sun.hong", f"发起投票 议题{topic} 截止 11-26 18:00 范围 3号楼")
    await sim.resident("d1", "投票 A")
    core = sim.app[INTAKE]

    def tick() -> dict:
        return run_due(core.db, clock.now(), core.settings, core.dispatcher.matcher)

    clock.advance(days=1, hours=10)                    # past the vote's deadline
    assert (await core.writer.call(tick))["close_due_votes"] == 1
    assert (await core.writer.call(tick))["close_due_votes"] == 0
    clock.advance(days=15)                             # past the disclosure's answer deadline
    assert (await core.writer.call(tick))["remind_overdue_disclosures"] == 1
    assert (await core.writer.call(tick))["remind_overdue_disclosures"] == 0
    await sim.app[DELIVERER].drain()
    assert any("逾期未答复" in m for m in await sim.log("staff", "sun.hong"))
    assert any("投票结果公示" in m for m in await sim.log("group", "dy-3"))
