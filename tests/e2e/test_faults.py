"""Never lose a message: retries, the 48-hour window, bad input, idempotent intake (issue: trust)."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.inbound import to_message
from bot.channels.xmlguard import BadInput, safe_xml
from bot.journal import keys_on_disk
from bot.keys import CLOCK, INTAKE
from storage.db import open_reader
from tests import fakewechat, peers
from tests.desk.helpers import desk_page
from tests.fakewechat import CUSTOM_SEND, TEMPLATE_SEND, WECOM_SEND, WechatEnv, robot_key
from tests.peers import cdata, counts, drain, sha1

wechat_env = fakewechat.wechat_env
running = peers.running


async def report(oa, openid: str, text: str = "楼道灯不亮了") -> int:
    await oa.send(oa.text(openid, "我住3号楼1单元102"))
    return int(re.search(r"编号 (\d+)", (await oa.send(oa.text(openid, text))).content).group(1))


async def test_worker_notified_exactly_once_after_five_failures(running, wechat_env: WechatEnv) -> None:
    app, oa, _ = running
    fake = wechat_env.fake
    fake.fail(WECOM_SEND, 45009, -1, 42001, 45009, -1)
    number = await report(oa, "oFaultResident")
    for _ in range(12):                       # bounded: each pass lets the backoff run out
        await drain(app)
        app[CLOCK].advance(minutes=6)
    await drain(app)
    delivered = fake.wecom_texts("li.na")
    assert [m for m in delivered if f"{number}号" in m] == delivered and len(delivered) == 1
    assert [c.errcode for c in fake.calls_to(WECOM_SEND)] == [45009, -1, 42001, 45009, -1, 0]
    row = app[INTAKE].db.execute("SELECT status, attempts FROM outbox WHERE target_id = 'li.na'").fetchone()
    assert row[0] == "sent"


async def test_gives_up_after_bounded_attempts_and_says_why(running, wechat_env: WechatEnv) -> None:
    app, oa, _ = running
    app[INTAKE].settings.outbox.retry_hours = 1          # retried for an hour (capped backoff), then failed
    wechat_env.fake.fail(WECOM_SEND, *([-1] * 30))
    await report(oa, "oGiveUp")
    for _ in range(15):
        await drain(app)
        app[CLOCK].advance(minutes=10)
    row = app[INTAKE].db.execute("SELECT status, attempts, last_error FROM outbox WHERE target_id='li.na'").fetchone()
    # one attempt each 10-minute pass (the backoff is capped at 10 minutes), at 0, 10, ... 60 minutes
    assert row[0] == "failed" and row[1] == 7 and "-1" in row[2]
    page = await desk_page(oa.client, app[INTAKE].db, "/admin/deliveries")
    assert "发送失败" in page and "errcode -1" in page


async def test_outside_48_hours_falls_back_to_a_template(running, wechat_env: WechatEnv) -> None:
    app, oa, wecom = running
    app[INTAKE].settings.wechat.template_id = "TPL-status-update"
    number = await report(oa, "oQuiet")
    await drain(app)
    wechat_env.fake.fail(CUSTOM_SEND, 45015)
    await wecom.send(wecom.text("li.na", f"接单 {number}"))
    await drain(app)
    sent = wechat_env.fake.calls_to(TEMPLATE_SEND, ok_only=True)
    assert len(sent) == 1 and sent[0].body["touser"] == "oQuiet"
    assert "签收" in sent[0].body["data"]["first"]["value"]


async def test_unreachable_resident_is_visible_to_staff(running, wechat_env: WechatEnv) -> None:
    app, oa, wecom = running
    app[INTAKE].settings.wechat.template_id = ""
    number = await report(oa, "oGone")
    await drain(app)
    wechat_env.fake.fail(CUSTOM_SEND, 45047)
    await wecom.send(wecom.text("li.na", f"接单 {number}"))
    await drain(app)
    row = app[INTAKE].db.execute("SELECT status, last_error FROM outbox WHERE target_id='oGone'").fetchone()
    assert row[0] == "failed" and "48" in row[1]
    page = await desk_page(oa.client, app[INTAKE].db, "/admin/deliveries")
    assert "oGone"[:3] in page and "联系不上" in page


async def test_four_deliveries_of_one_msgid_make_one_petition(running) -> None:
    app, oa, _ = running
    await oa.send(oa.text("oRetry", "我住3号楼1单元102"))
    xml = oa.text("oRetry", "单元门口的路灯不亮了", msg_id=987654321)
    answers = [await oa.send(xml) for _ in range(4)]
    assert len({a.content for a in answers}) == 1
    db = app[INTAKE].db
    assert db.execute("SELECT count(*) FROM petitions WHERE resident='oRetry'").fetchone()[0] == 1


BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><ToUserName>&lol3;</ToUserName></xml>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            '<xml><FromUserName>&xxe;</FromUserName><MsgType>text</MsgType></xml>')


def _plain_query(oa) -> dict[str, str]:
    timestamp, nonce = oa.stamp()
    return {"signature": sha1(oa.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


async def test_ten_kinds_of_bad_input(running) -> None:
    app, oa, wecom = running
    client = oa.client
    before = counts(app)
    cases: list[tuple[str, dict, bytes | io.BytesIO, str]] = [
        ("no query", {}, oa.text("oBad", "你好").encode(), "/wechat"),
        ("forged signature", {**_plain_query(oa), "signature": "0" * 40}, oa.text("oBad", "你好").encode(), "/wechat"),
        ("not XML", _plain_query(oa), b"hello, this is not xml", "/wechat"),
        ("entity bomb", _plain_query(oa), BOMB.encode(), "/wechat"),
        ("external entity", _plain_query(oa), EXTERNAL.encode(), "/wechat"),
        ("GBK bytes", _plain_query(oa), oa.text("oBad", "路灯坏了").encode("gbk"), "/wechat"),
        ("2 MB body", _plain_query(oa), io.BytesIO(b"<xml>" + b"a" * (2 * 1024 * 1024) + b"</xml>"), "/wechat"),
        ("control characters", _plain_query(oa), oa.text("oBad", "灯\x00坏\x07了").encode(), "/wechat"),
        ("unsigned WeCom post", {}, wecom.text("li.na", "待办").encode(), "/wecom"),
    ]
    for name, query, body, path in cases:
        res = await client.post(path, params=query, data=body)
        assert 400 <= res.status < 500, f"{name}: {res.status}"
    forged = await oa.send(oa.text("oBad", "你好"), forge="msg_signature")
    assert forged.status == 403, "forged msg_signature"
    assert counts(app) == before
    assert (await client.get("/healthz")).status == 200


async def test_odd_but_valid_messages_are_answered(running) -> None:
    _, oa, _ = running
    long_text = "楼道灯坏了" * 2000
    assert (await oa.send(oa.text("oOdd", long_text))).status == 200
    assert (await oa.send(oa.text("oOdd", ""))).status == 200
    # WeChat splits a CDATA section around "]]>" in what the user typed
    echoed = await oa.send(oa.text("oOdd", "申请公开 ]]]]><![CDATA[> 的问题"))
    assert echoed.status == 200 and "]]>" in echoed.content
    unknown = f"<xml>{cdata('ToUserName', 'gh')}{cdata('FromUserName', 'oOdd')}<CreateTime>1</CreateTime>" \
              f"{cdata('MsgType', 'hologram')}</xml>"
    assert (await oa.send(unknown)).status == 200


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_callback_parser_never_crashes(body: bytes) -> None:
    try:
        xml = safe_xml(body)
    except BadInput:
        return
    from bot.channels.xmlguard import fields

    msg = to_message(fields(xml), "oa", "resident")
    assert msg is None or msg.sender


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["FromUserName", "MsgType", "Content", "Event", "MsgId", "CreateTime",
                                        "Location_X", "Recognition"]), st.text(max_size=30)))
def test_message_fields_become_a_message_or_nothing(data: dict[str, str]) -> None:
    msg = to_message(data, "oa", "resident")
    if msg is not None:
        assert msg.sender == data["FromUserName"].strip() and msg.key


@pytest.mark.parametrize("who", ["oResidentX"])
async def test_residents_cannot_run_worker_commands(running, who: str) -> None:
    app, oa, _ = running
    number = await report(oa, who)
    reply = (await oa.send(oa.text("oOther", f"办结 {number} 好了"))).content
    assert app[INTAKE].db.execute("SELECT state FROM petitions WHERE id=?", [number]).fetchone()[0] == "assigned"
    assert "办结" not in reply or "没有找到" in reply or "无法" in reply or "不" in reply


async def test_shared_robot_posts_once_and_is_rate_limited_per_key(running, wechat_env: WechatEnv) -> None:
    app, _, wecom = running
    fake = wechat_env.fake
    db = app[INTAKE].db
    db.execute("UPDATE buildings SET grp = 'robot:SHARED' WHERE id IN ('dy-1', 'dy-2')")
    if fake.robot_keys is not None:
        fake.robot_keys.add("SHARED")
    reply = (await wecom.send(wecom.text("sun.hong", "公告 第一网格 周六上午社区义诊"))).content
    await drain(app)
    assert "3 个楼栋" in reply
    assert len(fake.robot_texts("SHARED")) == 1 and len(fake.robot_texts(robot_key("dy-3"))) == 1

    for n in range(22):
        await wecom.send(wecom.text("sun.hong", f"公告 1号楼 第{n}号通知：电梯年检"))
    await drain(app)
    assert len(fake.robot_texts("SHARED")) == 20          # 20 a minute per robot key
    app[CLOCK].advance(seconds=61)
    await drain(app)
    assert len(fake.robot_texts("SHARED")) == 23 and len(set(fake.robot_texts("SHARED"))) == 23
    assert all(c.errcode == 0 for c in fake.calls_to(fakewechat.WEBHOOK_SEND))


def journalled(app) -> list[str]:
    """The keys in the intake journal: its files (SQLite), or the `intake` table (PostgreSQL), whose row
    goes with the handling transaction (then the key is in `inbound`)."""
    core = app[INTAKE]
    if core.settings.storage.url:   # committed rows, on a connection of its own (not the writer's)
        reader = open_reader(core.settings.storage.url)
        try:
            return [k for (k,) in reader.conn.execute("SELECT key FROM intake UNION SELECT key FROM inbound")]
        finally:
            reader.conn.close()
    return keys_on_disk(core.settings.storage.path)


async def test_slow_answer_is_stored_first_and_replied_by_message(running, wechat_env: WechatEnv,
                                                                    monkeypatch) -> None:
    from bot.channels import callback

    app, oa, _ = running
    # every answer counts as too slow (and is not waited for at all: else the writer may have claimed
    # it for the passive reply already, which is then sent, rightly; tests/bot/test_journal.py covers
    # that race)
    monkeypatch.setattr(callback, "ANSWER_WITHIN", -1.0)
    xml = oa.text("oSlow", "我住3号楼2单元501", msg_id=555000111)
    answer = await oa.send(xml)
    assert answer.status == 200 and answer.reply is None      # "success": nothing passive
    db = app[INTAKE].db
    assert journalled(app) == ["oa:555000111"]   # on disk (or in the database) before the answer
    await app[INTAKE].settled()
    assert db.execute("SELECT building FROM residents WHERE openid='oSlow'").fetchone() == ("dy-3",)
    assert app[INTAKE].backlog == 0
    await drain(app)
    assert any("3号楼" in m for m in wechat_env.fake.oa_texts("oSlow"))
    retry = await oa.send(xml)                                 # WeChat's retry: nothing new, nothing twice
    await drain(app)
    assert retry.reply is None and len(wechat_env.fake.oa_texts("oSlow")) == 1
