"""Issue 12, the doors an attacker tried: each attack through the running server, refused or harmless.

Both channels are configured (safe mode, a fake WeChat API on 127.0.0.1), as in production.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from bot.app import create_app
from bot.clock import FakeClock
from bot.config import load_settings
from bot.keys import CLOCK, INTAKE
from tests import fakewechat, peers
from tests.desk.helpers import csrf_of, desk_page
from tests.fakewechat import AGENT_ID, OA_TOKEN, WechatEnv
from tests.peers import OfficialAccount, cdata, counts, drain, fields, sha1

wechat_env = fakewechat.wechat_env
running = peers.running


async def _app(aiohttp_client, wechat_env: WechatEnv, **sections: dict):
    overrides = {k: dict(v) for k, v in wechat_env.overrides.items()}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    clock = FakeClock()
    app = create_app(load_settings(overrides=overrides, environ={}), clock=clock, deliver=False)
    client = await aiohttp_client(app)
    return app, client, OfficialAccount(client, clock=clock)


async def _report(oa: OfficialAccount, openid: str, room: str = "我住3号楼2单元501",
                  text: str = "单元门口的路灯不亮了") -> int:
    await oa.send(oa.text(openid, room))
    answer = await oa.send(oa.text(openid, text))
    found = re.search(r"编号 ?(\d+)", answer.content)
    assert found, answer.content
    return int(found.group(1))


# -- 1. the simulator and /admin outside the demo -----------------------------------------------------------


async def test_simulator_is_off_beside_real_channels_and_admin_needs_a_login(aiohttp_client, wechat_env,
                                                                            caplog) -> None:
    caplog.set_level(logging.INFO, "minsheng")
    app, client, _ = await _app(aiohttp_client, wechat_env, simulator={"enabled": True})
    sent = await client.post("/api/sim/send", json={"kind": "staff", "id": "sun.hong", "text": "公告 全社区 停水"})
    assert sent.status == 404
    assert (await client.get("/api/sim/people")).status == 404
    assert (await client.get("/api/sim/log", params={"kind": "staff", "id": "sun.hong"})).status == 404
    assert counts(app)["outbox"] == 0
    assert "simulator off" in caplog.text

    for path in ("/admin", "/admin/orders", "/admin/numbers", "/admin/me"):
        res = await client.get(path, params={"token": "guess"})
        assert res.url.path == "/admin/login", path           # every page sends a stranger to the login
    login = await (await client.get("/admin/login")).text()
    assert "/admin/login/demo" not in login                   # no entering as anyone outside the demo
    page = await desk_page(client, app[INTAKE].db, "/admin/orders", "sun.hong")
    assert "导出台账" in page


async def test_a_test_deployment_simulator_never_acts_as_a_real_person(aiohttp_client, wechat_env, caplog) -> None:
    caplog.set_level(logging.INFO, "minsheng")
    app, client, oa = await _app(aiohttp_client, wechat_env, simulator={"enabled": True, "test_deployment": True})
    assert "test deployment" in caplog.text
    number = await _report(oa, "oRealResident")
    before = counts(app)
    for kind, who, text in (("staff", "sun.hong", "公告 全社区 停水"), ("staff", "li.na", f"办结 {number} 好了"),
                            ("resident", "oRealResident", "满意")):
        res = await client.post("/api/sim/send", json={"kind": kind, "id": who, "text": text})
        assert res.status == 403, (kind, who)
    for kind, who in (("resident", "oRealResident"), ("staff", "li.na"), ("group", "dy-3")):
        res = await client.get("/api/sim/log", params={"kind": kind, "id": who})
        assert res.status == 403, (kind, who)
    assert counts(app) == before
    state = app[INTAKE].db.execute("SELECT state FROM petitions WHERE id = ?", [number]).fetchone()[0]
    assert state not in ("resolved", "closed")
    listed = await (await client.get("/api/sim/people")).json()
    assert listed["staff"] == [] and listed["groups"] == []
    # an openid that has not written yet may still be a real resident's: only prefixed ids are simulated
    for pid in ("oFutureRealResident9", "tester-1"):
        res = await client.post("/api/sim/send", json={"kind": "resident", "id": pid, "text": "你好"})
        assert res.status == 403, pid
    fresh = await client.post("/api/sim/send", json={"kind": "resident", "id": "sim-tester-1", "text": "你好"})
    assert fresh.status == 200
    listed = await (await client.get("/api/sim/people")).json()
    assert [r["id"] for r in listed["residents"]] == ["sim-tester-1"]


async def test_the_demo_keeps_its_simulator_and_lets_anyone_enter_the_workbench(sim) -> None:
    assert "3号楼" in await sim.resident("demo-1", "我住3号楼2单元501")
    token = await csrf_of(sim.client)
    res = await sim.client.post("/admin/login/demo", data={"userid": "sun.hong", "_csrf": token},
                                allow_redirects=False)
    assert res.status == 303
    assert "孙红" in await (await sim.client.get("/admin/me")).text()


# -- 2. safe mode cannot be downgraded; signatures expire; nonces are used once -------------------------------


async def test_a_seen_signature_without_encryption_is_refused(running, wechat_env: WechatEnv) -> None:
    app, oa, wecom = running
    number = await _report(oa, "oVictim")
    await drain(app)
    await wecom.send(wecom.text("li.na", f"接单 {number}"))
    await wecom.send(wecom.text("li.na", f"办结 {number} 已更换灯泡"))
    app[CLOCK].advance(days=40)
    timestamp, nonce = oa.stamp()   # a signature triple as any earlier callback carried it
    query = {"signature": sha1(OA_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    before = counts(app)
    for extra in ({}, {"encrypt_type": "raw"}, {"encrypt_type": "AES-off"}):
        for who, text in (("oVictim", "满意"), ("oForged", "我住3号楼2单元502")):
            res = await oa.client.post("/wechat", params={**query, **extra},
                                       data=oa.text(who, text).encode(), headers={"Content-Type": "text/xml"})
            assert res.status == 403, extra
    assert counts(app) == before
    row = app[INTAKE].db.execute("SELECT state, rating FROM petitions WHERE id = ?", [number]).fetchone()
    assert row == ("resolved", None)


async def test_an_old_signed_callback_is_refused(running) -> None:
    app, oa, wecom = running
    xml = oa.text("oLate", "我住3号楼2单元503")
    oa.clock = wecom.clock = FakeClock(app[CLOCK].now() - timedelta(days=40))   # signed 40 days ago
    stale_oa = await oa.send(xml)
    stale_wecom = await wecom.send(wecom.text("li.na", "待办"))
    assert stale_oa.status == 403 and stale_wecom.status == 403
    oa.clock = FakeClock(app[CLOCK].now() + timedelta(minutes=4))   # within five minutes: still good
    assert (await oa.send(xml)).status == 200
    assert counts(app)["inbound"] == 1


async def test_a_nonce_is_good_for_one_request_and_its_retries(running) -> None:
    app, oa, _ = running
    timestamp, nonce = oa.stamp()
    first, second = oa.text("oNonce", "我住3号楼2单元504"), oa.text("oNonce", "我住5号楼1单元101")
    sign = {"signature": sha1(OA_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
            "encrypt_type": "aes"}

    def body(xml: str) -> tuple[dict, bytes]:
        encrypt, msg_signature = oa.envelope(xml, timestamp, nonce)
        envelope = f"<xml>{cdata('ToUserName', oa.original_id)}{cdata('Encrypt', encrypt)}</xml>"
        return {**sign, "msg_signature": msg_signature}, envelope.encode()

    q1, b1 = body(first)
    assert (await oa.client.post("/wechat", params=q1, data=b1)).status == 200
    retry = await oa.client.post("/wechat", params=q1, data=b1)     # WeChat's retry: the very same request
    assert retry.status == 200
    q2, b2 = body(second)
    assert (await oa.client.post("/wechat", params=q2, data=b2)).status == 403
    resident = app[INTAKE].db.execute("SELECT building FROM residents WHERE openid = 'oNonce'").fetchone()
    assert resident == ("dy-3",)
    assert counts(app)["inbound"] == 1


async def test_callbacks_for_another_account_or_agent_are_refused(aiohttp_client, wechat_env: WechatEnv) -> None:
    app, client, oa = await _app(aiohttp_client, wechat_env, wechat={"original_id": oa_id()})
    ok = await oa.send(oa.text("oMine", "我住3号楼2单元505"))
    assert ok.status == 200
    other = OfficialAccount(client, original_id="gh_someone_else", clock=oa.clock)
    assert (await other.send(other.text("oMine", "我住5号楼1单元102"))).status == 403
    wecom = peers.WeCom(client, agent_id=AGENT_ID + 1, clock=oa.clock)
    assert (await wecom.send(wecom.text("li.na", "待办"))).status == 403
    assert counts(app)["inbound"] == 1


def oa_id() -> str:
    return fakewechat.OA_ORIGINAL_ID


async def test_plain_mode_checks_freshness_too(aiohttp_client, wechat_env: WechatEnv) -> None:
    app, _, oa = await _app(aiohttp_client, wechat_env, wechat={"mode": "plain"})
    assert (await oa.send(oa.text("oPlain", "我住3号楼1单元101"), mode="plain")).status == 200
    now = app[CLOCK].now()
    oa.clock = FakeClock(now - timedelta(minutes=6))
    assert (await oa.send(oa.text("oPlain", "满意"), mode="plain")).status == 403
    oa.clock = app[CLOCK]
    assert (await oa.send(oa.text("oPlain", "你好"), mode="safe")).status == 400   # plain mode takes no AES
    assert counts(app)["inbound"] == 1


# -- 10. numbers, coordinates, logs ---------------------------------------------------------------------------


async def test_a_petition_number_ends_at_a_word_boundary(running) -> None:
    app, oa, wecom = running
    number = await _report(oa, "oNumbers")
    assert number == 1
    for text in ("接单 1e3", "接单 1.5", "接单 1a"):
        answer = await wecom.send(wecom.text("li.na", text))
        assert "已签收" not in answer.content, text
    state = app[INTAKE].db.execute("SELECT state FROM petitions WHERE id = 1").fetchone()[0]
    assert state == "assigned"
    assert "已签收" in (await wecom.send(wecom.text("li.na", "接单 1"))).content


async def test_a_location_that_is_not_a_number_is_not_stored(running) -> None:
    app, oa, _ = running
    await oa.send(oa.text("oWhere", "我住3号楼1单元101"))
    for lat, lng in (("nan", "112.41"), ("inf", "-inf"), ("34.75", "nan"), ("1e400", "112.4"), ("95", "112")):
        xml = (f"<xml>{cdata('ToUserName', oa.original_id)}{cdata('FromUserName', 'oWhere')}"
               f"<CreateTime>1</CreateTime>{cdata('MsgType', 'location')}<Location_X>{lat}</Location_X>"
               f"<Location_Y>{lng}</Location_Y><Scale>15</Scale>{cdata('Label', 'x')}"
               f"<MsgId>{hash((lat, lng)) & 0xFFFFFFF}</MsgId></xml>")
        assert (await oa.send(xml)).status == 200
    row = app[INTAKE].db.execute("SELECT lat, lng FROM residents WHERE openid = 'oWhere'").fetchone()
    assert row == (None, None)


async def test_logs_name_people_by_a_hash(running, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    app, oa, wecom = running
    openid = "oLOGsecretOpenid0001"
    event = oa.event(openid, "subscribe")
    await oa.send(event)
    await oa.send(event)                     # a retry without MsgId: logged as a duplicate
    await wecom.send(wecom.text("not.on.roster", "待办"))
    await drain(app)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("minsheng"))
    assert "duplicate callback" in ours and "not on the staff roster" in ours
    assert openid not in ours and "not.on.roster" not in ours
    assert fields(event)["FromUserName"] == openid


async def test_a_resident_known_before_writing_is_answered_where_they_write(running, wechat_env: WechatEnv) -> None:
    """demo-r2 comes from the org file ([[residents]], no channel): once they write on the Official
    Account, what the bot says later reaches them there, not the simulator's log."""
    app, oa, wecom = running
    number = await _report(oa, "demo-r2", room="我住3号楼1单元101")
    await drain(app)
    await wecom.send(wecom.text("li.na", f"接单 {number}"))
    await drain(app)
    assert any("签收" in text for text in wechat_env.fake.oa_texts("demo-r2"))


async def test_a_residents_petition_number_ends_at_a_word_boundary(running) -> None:
    app, oa, _ = running
    number = await _report(oa, "oMyNumbers")
    other = await _report(oa, "oMyNumbers", text="楼下的垃圾桶满了好几天没人清")
    for text in (f"撤回 {number}e3", f"不用处理了 {number}abc", f"催办 {number}e3", f"查询 {number}.5"):
        await oa.send(oa.text("oMyNumbers", text))
    rows = app[INTAKE].db.execute("SELECT state, urge_count FROM petitions WHERE id IN (?, ?)", [number, other])
    assert rows.fetchall() == [("assigned", 0), ("assigned", 0)]


async def test_a_flood_of_refused_callbacks_writes_a_few_log_lines(running, caplog) -> None:
    caplog.set_level(logging.INFO, "minsheng")
    _, oa, _ = running
    for i in range(200):
        res = await oa.client.post("/wechat", params={"signature": "x", "timestamp": "1", "nonce": str(i)},
                                   data=b"<xml/>")
        assert res.status == 403
    refusals = [r for r in caplog.records if "callback refused" in r.getMessage()]
    assert 1 <= len(refusals) <= 20
