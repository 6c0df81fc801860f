"""A WeChat outage loses nothing (issue 12, point 4): retried for hours, resumed at once when the API
answers again, failed rows resent by staff from /admin/deliveries, and a send in flight at shutdown is recorded."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from datetime import timedelta

import pytest

from bot.app import create_app
from bot.clock import FakeClock
from bot.keys import CLOCK, DELIVERER, INTAKE
from storage import outbox
from tests import fakewechat, peers
from tests.desk.helpers import csrf_of, desk_page
from tests.fakewechat import CUSTOM_SEND, TEMPLATE_SEND, WEBHOOK_SEND, WechatEnv
from tests.peers import OfficialAccount, WeCom, drain

wechat_env = fakewechat.wechat_env
running = peers.running

NOTE = "已更换灯泡"
ANNOUNCEMENT = "周六上午社区义诊"


async def report(oa: OfficialAccount, openid: str) -> int:
    await oa.send(oa.text(openid, "我住3号楼1单元102"))
    answer = await oa.send(oa.text(openid, "楼道灯不亮了"))
    return int(re.search(r"编号 (\d+)", answer.content).group(1))


async def accepted(app, oa: OfficialAccount, wecom: WeCom, openid: str) -> int:
    """A petition of `openid` (3号楼) signed for by li.na, everything about it delivered."""
    number = await report(oa, openid)
    await wecom.send(wecom.text("li.na", f"接单 {number}"))
    await drain(app)
    return number


def statuses(app) -> Counter[str]:
    return Counter(r[0] for r in app[INTAKE].db.execute("SELECT status FROM outbox"))


def delivered(fake: fakewechat.FakeWeChat) -> Counter[tuple[str, str, str]]:
    """Every message the fake accepted: (path, recipient, text) -> how many times."""
    out: Counter[tuple[str, str, str]] = Counter()
    for c in fake.outbound():
        if c.errcode != 0:
            continue
        if c.path == WEBHOOK_SEND:
            out[(c.path, c.query["key"], c.body["text"]["content"])] += 1
        elif c.path == TEMPLATE_SEND:
            out[(c.path, c.body["touser"], c.body["data"]["first"]["value"])] += 1
        else:
            out[(c.path, str(c.body.get("touser")), c.body["text"]["content"])] += 1
    return out


@pytest.mark.parametrize("minutes", [10, 130])
async def test_outage_loses_nothing_and_sends_each_message_once(running, wechat_env: WechatEnv,
                                                               minutes: int) -> None:
    app, oa, wecom = running
    fake, clock = wechat_env.fake, app[CLOCK]
    app[INTAKE].settings.wechat.template_id = "TPL-status-update"
    number = await accepted(app, oa, wecom, "oOutage")
    rows_before = sum(statuses(app).values())

    await wechat_env.api_down()
    assert "已办结" in (await wecom.send(wecom.text("li.na", f"办结 {number} {NOTE}"))).content
    assert "5 个楼栋" in (await wecom.send(wecom.text("sun.hong", f"公告 全社区 {ANNOUNCEMENT}"))).content
    queued = sum(statuses(app).values()) - rows_before      # 办结 notice, 办结公示, 公告 to five robots
    for _ in range(minutes):
        await drain(app)
        assert statuses(app)["failed"] == 0
        clock.advance(minutes=1)
    assert statuses(app)["pending"] == queued
    attempts = app[INTAKE].db.execute("SELECT sum(attempts) FROM outbox WHERE status = 'pending'").fetchone()[0]
    assert attempts <= queued + 2 * minutes        # one probe a minute per API (OA, robots), no storm

    fake.fail(CUSTOM_SEND, 45015)                  # the resident is outside the 48-hour window by now
    await wechat_env.api_up()
    clock.advance(minutes=1)                       # far less than the 10-minute backoff cap
    await drain(app)
    await drain(app)
    assert statuses(app) == {"sent": rows_before + queued}
    sent = delivered(fake)
    assert set(sent.values()) == {1}, "nothing is sent twice"
    keys = sorted(fakewechat.robot_key(b[0]) for b in app[INTAKE].db.execute("SELECT id FROM buildings"))
    assert sorted(k for (path, k, text) in sent if path == WEBHOOK_SEND and ANNOUNCEMENT in text) == keys
    notices = [k for (path, k, text) in sent if path == WEBHOOK_SEND and f"（{number}号）已办结" in text]
    assert notices == [wechat_env.robot_keys["dy-3"]]
    resident = [(path, text) for (path, who, text) in sent if who == "oOutage" and NOTE in text]
    assert resident == [(TEMPLATE_SEND, resident[0][1])]


async def test_template_fallback_is_retried_while_the_api_fails(running, wechat_env: WechatEnv) -> None:
    app, oa, wecom = running
    fake, clock = wechat_env.fake, app[CLOCK]
    app[INTAKE].settings.wechat.template_id = "TPL-status-update"
    number = await accepted(app, oa, wecom, "oWindow")
    fake.fail(CUSTOM_SEND, *([45015] * 4))         # outside the window at every attempt
    fake.fail_http(TEMPLATE_SEND, 503, times=3)    # and the template API fails three times
    await wecom.send(wecom.text("li.na", f"办结 {number} {NOTE}"))
    for _ in range(30):
        await drain(app)
        clock.advance(minutes=1)
    row = app[INTAKE].db.execute("SELECT status, via, attempts FROM outbox WHERE target_id = 'oWindow'"
                               " ORDER BY id DESC").fetchone()
    assert row == ("sent", "template", 4)
    templates = [c for c in fake.calls_to(TEMPLATE_SEND, ok_only=True) if NOTE in c.body["data"]["first"]["value"]]
    assert len(templates) == 1 and fake.pending_faults(CUSTOM_SEND) == 0


async def test_past_the_horizon_failed_is_listed_and_resent_by_staff(running, wechat_env: WechatEnv,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    app, oa, wecom = running
    fake, clock, db = wechat_env.fake, app[CLOCK], app[INTAKE].db
    app[INTAKE].settings.outbox.retry_hours = 1
    number = await accepted(app, oa, wecom, "oHorizon")
    await wechat_env.api_down()
    await wecom.send(wecom.text("li.na", f"办结 {number} {NOTE}"))
    for _ in range(59):
        await drain(app)
        clock.advance(minutes=1)
    assert statuses(app)["failed"] == 0
    clock.advance(minutes=2)
    await drain(app)
    failed = [r[0] for r in db.execute("SELECT id FROM outbox WHERE status = 'failed' ORDER BY id")]
    assert len(failed) == 2                        # the resident's notice and the 办结公示

    page = await desk_page(oa.client, db, "/admin/deliveries")
    assert "发送失败" in page and NOTE in page
    assert all(f"/admin/deliveries/{oid}/retry" in page for oid in failed) and "全部重发" in page

    first = failed[0]
    assert (await oa.client.post(f"/admin/deliveries/{first}/retry")).status == 403   # no CSRF token
    token = await csrf_of(oa.client, "/admin/me")
    await wechat_env.api_up()
    caplog.set_level(logging.INFO, logger="minsheng.admin")
    res = await oa.client.post(f"/admin/deliveries/{first}/retry", data={"_csrf": token},
                               allow_redirects=False)
    assert res.status == 303 and res.headers["Location"] == "/admin/deliveries"
    assert db.execute("SELECT status, attempts FROM outbox WHERE id = ?", [first]).fetchone() == ("pending", 0)
    assert any("resent" in r.getMessage() and str(first) in r.getMessage() for r in caplog.records)
    again = await oa.client.post(f"/admin/deliveries/{first}/retry", data={"_csrf": token})
    assert "不在失败列表" in await again.text()    # no longer failed
    await drain(app)
    assert statuses(app)["failed"] == 1
    res = await oa.client.post("/admin/deliveries/retry-all", data={"_csrf": token}, allow_redirects=False)
    assert res.status == 303
    await drain(app)
    assert statuses(app)["failed"] == 0 and statuses(app)["pending"] == 0
    sent = delivered(fake)
    assert set(sent.values()) == {1}
    assert len([k for k in sent if k[1] == "oHorizon" and NOTE in k[2]]) == 1
    assert len([k for k in sent if k[0] == WEBHOOK_SEND and "办结公示" in k[2]]) == 1


async def test_shutdown_records_the_send_in_flight(aiohttp_client, wechat_env: WechatEnv) -> None:
    fake, clock = wechat_env.fake, FakeClock()
    app = create_app(wechat_env.settings, clock=clock, deliver=True, schedule=False)
    client = await aiohttp_client(app)
    oa, wecom = OfficialAccount(client, clock=clock), WeCom(client, clock=clock)
    number = await report(oa, "oShutdown")
    fake.slow(CUSTOM_SEND, 1.0)                    # the resident's notice is still on the wire ...
    arrived = fake.arrivals.count(CUSTOM_SEND)
    await wecom.send(wecom.text("li.na", f"接单 {number}"))
    await asyncio.wait_for(fake.arrived(CUSTOM_SEND, arrived + 1), timeout=30)
    await client.close()                           # ... when the server is told to stop
    assert len([t for t in fake.oa_texts("oShutdown") if "签收" in t]) == 1

    again = create_app(wechat_env.settings, clock=clock, deliver=False, schedule=False)
    await aiohttp_client(again)                    # the same store
    rows = again[INTAKE].db.execute("SELECT status FROM outbox WHERE target_id = 'oShutdown'").fetchall()
    assert rows and {r[0] for r in rows} == {"sent"}
    await again[DELIVERER].drain()
    assert len([t for t in fake.oa_texts("oShutdown") if "签收" in t]) == 1


async def test_a_row_whose_claim_would_lapse_mid_send_is_given_back_not_sent(running, wechat_env: WechatEnv) -> None:
    """Claimed rows are sent only while the claim outlasts a send; a pass that ran late gives the rest
    back (pending) instead of racing another instance that may take them once the claim lapses."""
    app, _, _ = running
    core, deliverer, clock = app[INTAKE], app[DELIVERER], app[CLOCK]
    await core.writer.call(outbox.enqueue, core.db, "staff", "li.na", "请核对3号楼名册", clock.now())
    seen, sends, _ = await core.writer.call(deliverer._plan)
    assert seen == 1 and len(sends) == 1 and statuses(app) == Counter({"sending": 1})
    clock.advance(seconds=core.settings.outbox.claim_seconds)     # the pass stalled that long
    await deliverer._send_all(sends)
    assert wechat_env.fake.wecom_texts("li.na") == [] and statuses(app) == Counter({"pending": 1})
    await drain(app)
    assert wechat_env.fake.wecom_texts("li.na") == ["请核对3号楼名册"] and statuses(app) == Counter({"sent": 1})


async def test_rows_a_killed_run_was_sending_are_due_at_once_on_sqlite(running, wechat_env: WechatEnv) -> None:
    app, _, _ = running
    core, clock = app[INTAKE], app[CLOCK]
    await core.writer.call(outbox.enqueue, core.db, "staff", "li.na", "明早检查消防通道", clock.now())
    await core.writer.call(outbox.claim, core.db, clock.now(), "a-dead-run", clock.now() + timedelta(minutes=10))
    if core.settings.storage.url:
        pytest.skip("PostgreSQL: other instances may be sending; claims lapse instead")
    await core.writer.call(app[DELIVERER]._claims_of_the_last_run)
    await drain(app)
    assert wechat_env.fake.wecom_texts("li.na") == ["明早检查消防通道"]
