"""Protocol-level integration tests: the real app, real signed and AES-encrypted WeChat callbacks.

Callbacks are built with wechatpy exactly as WeChat's servers send them (Official Account: plaintext,
compatible and safe modes on /wechat; WeCom: AES on /wecom); passive replies are decrypted and read.
Outbound API calls go to the fake WeChat/WeCom server of tests/fakewechat.py on 127.0.0.1, and the
outbox is flushed deterministically with `app[DELIVERER].drain()`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import os
import re
import sys
import time
from datetime import datetime

import pytest
from yarl import URL

from bot.app import create_app
from bot.clock import TZ, FakeClock
from bot.config import REPO_ROOT, load_settings
from bot.keys import CLOCK, INTAKE
from tests import fakewechat, peers
from tests.conftest import CALLBACKS
from tests.fakewechat import (
    AGENT_ID,
    CUSTOM_SEND,
    GETTOKEN,
    OA_ORIGINAL_ID,
    OA_TOKEN,
    WEBHOOK_SEND,
    WECOM_SEND,
    WechatEnv,
)
from tests.peers import (
    ANSWER_WITHIN,
    OfficialAccount,
    counts,
    drain,
    fields,
    sha1,
)

wechat_env = fakewechat.wechat_env    # the fake API server and settings pointed at it (a fixture)
running = peers.running               # the real app against it, with both channels' peers (a fixture)

SUBPROCESS_TIMEOUT = 60.0
_serial = itertools.count(1)


# -- the whole loop over the real protocols ----------------------------------------------------------------


async def test_petition_loop_over_official_account_and_wecom(running, wechat_env: WechatEnv) -> None:
    app, oa, wecom = running
    fake = wechat_env.fake
    openid = "oMinsheng_Resident_3-2-501xyz"

    welcome = await oa.send(oa.event(openid, "subscribe"))
    assert welcome.status == 200
    assert "欢迎" in welcome.content
    assert welcome.reply["ToUserName"] == openid
    assert welcome.reply["FromUserName"] == OA_ORIGINAL_ID

    assert "3号楼" in (await oa.send(oa.text(openid, "我住3号楼2单元501"))).content

    report_xml = oa.text(openid, "单元门口的路灯不亮了，晚上黑乎乎的")
    report = await oa.send(report_xml)
    found = re.search(r"编号 ?(\d+)", report.content)
    assert found, report.content
    number = int(found.group(1))
    await drain(app)

    # Only 3号楼's grid worker hears of it, over WeCom message/send, with the same number.
    assert fake.wecom_recipients() == {"li.na"}
    told = fake.calls_to(WECOM_SEND, ok_only=True)
    assert told
    assert all(c.body["msgtype"] == "text" and int(c.body["agentid"]) == AGENT_ID for c in told)
    assert any(f"{number}号" in text or str(number) in text for text in fake.wecom_texts("li.na"))

    # WeChat retries the report (same MsgId, new nonce): nothing new, an equivalent answer.
    before, calls_before = counts(app), len(fake.outbound())
    retry = await oa.send(report_xml)
    await drain(app)
    assert retry.status == 200
    assert retry.content == report.content
    assert counts(app) == before
    assert len(fake.outbound()) == calls_before

    # A forged signature (either of the two) is refused and nothing is stored.
    for forge in ("signature", "msg_signature"):
        forged = await oa.send(oa.text(openid, "楼道里的灯也坏了"), forge=forge)
        assert forged.status == 403, forge
        assert counts(app) == before, forge
    forged = await wecom.send(wecom.text("li.na", f"办结 {number} 已更换灯泡"), forge=True)
    assert forged.status == 403
    assert counts(app) == before

    # A worker of another grid cannot resolve it.
    refused = await wecom.send(wecom.text("chen.jie", f"办结 {number} 好了"))
    assert "不在您负责的网格" in refused.content
    assert refused.reply["ToUserName"] == "chen.jie"

    accepted = await wecom.send(wecom.text("li.na", f"接单 {number}"))
    assert "已签收" in accepted.content
    await drain(app)
    assert any("签收" in text for text in fake.oa_texts(openid))

    refused = await wecom.send(wecom.text("chen.jie", f"#{number} 办结 已处理"))
    assert "不在您负责的网格" in refused.content
    state = app[INTAKE].db.execute("SELECT state FROM petitions WHERE id = ?", [number]).fetchone()[0]
    assert state == "accepted"

    resolved = await wecom.send(wecom.text("li.na", f"办结 {number} 已更换灯泡"))
    assert "已办结" in resolved.content
    await drain(app)
    resident_texts = fake.oa_texts(openid)
    assert any("已更换灯泡" in text and "满意" in text for text in resident_texts)
    sent = fake.calls_to(CUSTOM_SEND, ok_only=True)
    assert all(c.body["touser"] == openid and c.body["msgtype"] == "text" for c in sent)

    # The building's group robot (3号楼's key only) gets a notice without personal data.
    assert fake.robot_keys_called() == {wechat_env.robot_keys["dy-3"]}
    notices = fake.robot_texts(wechat_env.robot_keys["dy-3"])
    assert any(f"{number}号" in text and "已办结" in text for text in notices), notices
    for text in notices:
        assert "501" not in text and openid not in text
        assert not re.search(r"1[3-9]\d{9}", text), text
        assert "李娜" not in text and "li.na" not in text
    robot_calls = fake.calls_to(WEBHOOK_SEND, ok_only=True)
    assert all(c.body["msgtype"] == "text" for c in robot_calls)

    thanks = await oa.send(oa.text(openid, "满意"))
    assert "感谢" in thanks.content
    row = app[INTAKE].db.execute("SELECT state, rating FROM petitions WHERE id = ?", [number]).fetchone()
    assert row == ("closed", "satisfied")
    await drain(app)

    # Other grids' people never heard of it.
    assert not fake.wecom_recipients() & {"chen.jie", "liu.fang", "zhao.min"}
    assert max(oa.timings + wecom.timings) < ANSWER_WITHIN

    # The ledger export, from another process over the same store, lists it once, closed.
    config = wechat_env.config_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHENG_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "export", "--format", "csv", "--out", "-", "--config", str(config),
        cwd=str(REPO_ROOT), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 0, err.decode("utf-8", "replace")
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig"))))
    mine = [r for r in rows if r["编号"] == str(number)]
    assert len(mine) == 1, rows
    assert mine[0]["状态"] == "closed"
    assert len(rows) == 1


async def test_outbound_faults_are_retried_and_nothing_is_sent_twice(running, wechat_env: WechatEnv) -> None:
    """The fake's fault injection against the real senders: token expiry, rate limit, HTTP 500."""
    app, oa, wecom = running
    fake = wechat_env.fake
    openid = "oMinsheng_Faults_Resident"
    await oa.send(oa.event(openid, "subscribe"))
    await oa.send(oa.text(openid, "我住3号楼1单元102"))
    number = int(re.search(r"编号 ?(\d+)", (await oa.send(oa.text(openid, "楼道灯不亮了"))).content).group(1))

    fake.fail(WECOM_SEND, 42001)                      # the token expired: refresh once, send again
    await drain(app)
    assert [c.errcode for c in fake.calls_to(WECOM_SEND)] == [42001, 0]
    assert len(fake.calls_to(GETTOKEN, ok_only=True)) == 2
    assert len(fake.wecom_texts("li.na")) == 1

    await wecom.send(wecom.text("li.na", f"接单 {number}"))
    fake.fail(CUSTOM_SEND, 45009)                     # rate limited: retried later, with backoff
    await drain(app)
    assert fake.oa_texts(openid) == []
    app[CLOCK].advance(minutes=10)
    await drain(app)
    assert [c.errcode for c in fake.calls_to(CUSTOM_SEND)] == [45009, 0]
    assert len(fake.oa_texts(openid)) == 1

    await wecom.send(wecom.text("li.na", f"办结 {number} 已更换灯泡"))
    fake.fail_http(WEBHOOK_SEND, 500)
    await drain(app)
    assert fake.robot_texts() == []
    app[CLOCK].advance(minutes=10)
    await drain(app)
    assert [c.status for c in fake.calls_to(WEBHOOK_SEND)] == [500, 200]
    assert len(fake.robot_texts(wechat_env.robot_keys["dy-3"])) == 1
    app[CLOCK].advance(hours=1)
    await drain(app)
    assert len(fake.robot_texts()) == 1
    to_worker = fake.wecom_texts("li.na")
    assert len(to_worker) == len(set(to_worker))


# -- the three Official Account modes ----------------------------------------------------------------------


async def test_official_account_url_verification(running) -> None:
    _, oa, _ = running
    timestamp, nonce = oa.stamp()
    query = {"signature": sha1(OA_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
             "echostr": "6311543219716085912"}
    res = await oa.client.get("/wechat", params=query)
    assert res.status == 200
    assert await res.text() == "6311543219716085912"
    res = await oa.client.get("/wechat", params={**query, "signature": sha1("forged")})
    assert res.status == 403


async def _in_mode(aiohttp_client, wechat_env: WechatEnv, mode: str):
    """The real app with the Official Account in `mode` ([wechat] mode), and its peer."""
    overrides = {**wechat_env.overrides, "wechat": {**wechat_env.overrides["wechat"], "mode": mode}}
    clock = FakeClock()
    app = create_app(load_settings(overrides=overrides, environ={}), clock=clock, deliver=False)
    return app, OfficialAccount(await aiohttp_client(app), clock=clock)


async def test_plaintext_mode(aiohttp_client, wechat_env: WechatEnv) -> None:
    app, oa = await _in_mode(aiohttp_client, wechat_env, "plain")
    answer = await oa.send(oa.text("oPlainModeResident", "我住3号楼1单元101"), mode="plain")
    assert answer.status == 200
    assert "3号楼" in answer.content
    assert answer.reply["ToUserName"] == "oPlainModeResident"
    assert answer.reply["MsgType"] == "text"
    before = counts(app)
    forged = await oa.send(oa.text("oPlainModeResident", "您好"), mode="plain", forge="signature")
    assert forged.status == 403
    assert counts(app) == before


async def test_compatible_mode(aiohttp_client, wechat_env: WechatEnv) -> None:
    app, oa = await _in_mode(aiohttp_client, wechat_env, "compatible")
    answer = await oa.send(oa.text("oCompatibleResident", "我住5号楼2单元601"), mode="compatible")
    assert answer.status == 200
    assert "Encrypt" in fields(answer.body)       # the reply is encrypted too
    assert "5号楼" in answer.content
    assert answer.reply["ToUserName"] == "oCompatibleResident"
    before = counts(app)
    forged = await oa.send(oa.text("oCompatibleResident", "您好"), mode="compatible", forge="msg_signature")
    assert forged.status == 403
    assert counts(app) == before


# -- Tencent's and wechatpy's published samples -------------------------------------------------------------

# WeCom callback doc (and its WXBizMsgCrypt samples): URL verification.
WECOM_SAMPLE = {"token": "QDG6eK", "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
                "corp_id": "wx5823bf96d3bd56c7"}
WECOM_SAMPLE_QUERY = ("msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589"
                      "&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3"
                      "zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D")
WECOM_SAMPLE_ECHO = "1616140317555161061"

# wechatpy tests/test_crypto.py test_decrypt_message: token 123456, appid wx49f0ab532d5d035a.
OA_SAMPLE = {"token": "123456", "encoding_aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
             "app_id": "wx49f0ab532d5d035a"}
OA_SAMPLE_BODY = """<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>
<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>
<AgentID><![CDATA[1]]></AgentID>
</xml>"""
OA_SAMPLE_QUERY = {"timestamp": "1411525903", "nonce": "461056294", "encrypt_type": "aes",
                   "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
                   # sha1 of sorted (token, timestamp, nonce); the value other SDKs' tests pair with it
                   "signature": "6c729cc5480fab0c2e594b7e25a93d2dbef6ab97"}


@pytest.fixture
async def sample_app(aiohttp_client, wechat_env: WechatEnv):
    overrides = {**wechat_env.overrides,
                 "wechat": {**wechat_env.overrides["wechat"], **OA_SAMPLE},
                 "wecom": {**wechat_env.overrides["wecom"], **WECOM_SAMPLE}}
    when = datetime.fromtimestamp(int(OA_SAMPLE_QUERY["timestamp"]), TZ)   # the samples' own time
    app = create_app(load_settings(overrides=overrides, environ={}), clock=FakeClock(when), deliver=False)
    return app, await aiohttp_client(app)


async def test_tencent_wecom_url_verification_sample(sample_app) -> None:
    _, client = sample_app
    res = await client.get(URL("/wecom?" + WECOM_SAMPLE_QUERY, encoded=True))
    assert res.status == 200
    assert await res.text() == WECOM_SAMPLE_ECHO
    forged = WECOM_SAMPLE_QUERY.replace("5c45ff5e21c57e6ad", "5c45ff5e21c57e6ae")
    res = await client.get(URL("/wecom?" + forged, encoded=True))
    assert res.status == 403
    assert await res.text() != WECOM_SAMPLE_ECHO


async def test_wechatpy_official_account_sample(sample_app) -> None:
    app, client = sample_app
    assert sha1(OA_SAMPLE["token"], OA_SAMPLE_QUERY["timestamp"], OA_SAMPLE_QUERY["nonce"]) == \
        OA_SAMPLE_QUERY["signature"]
    before = counts(app)
    for name in ("signature", "msg_signature"):
        res = await client.post("/wechat", params={**OA_SAMPLE_QUERY, name: sha1("forged")},
                                data=OA_SAMPLE_BODY.encode("utf-8"))
        assert res.status == 403, name
        assert counts(app) == before

    started = time.monotonic()
    res = await client.post("/wechat", params=OA_SAMPLE_QUERY, data=OA_SAMPLE_BODY.encode("utf-8"))
    text = await res.text()
    assert time.monotonic() - started < ANSWER_WITHIN
    assert res.status == 200, text
    oa = OfficialAccount(client, OA_SAMPLE["token"], OA_SAMPLE["encoding_aes_key"], OA_SAMPLE["app_id"])
    reply = oa.read_reply(res.status, text, encrypted=True)
    assert reply is not None
    assert reply["ToUserName"] == "messense"
    assert reply["Content"]
    inbound = app[INTAKE].db.execute("SELECT key, sender FROM inbound").fetchall()
    assert inbound == [("oa:4363689963896700987", "messense")]


# -- every real callback body ------------------------------------------------------------------------------

CALLBACK_FILES = sorted(p.name for p in CALLBACKS.glob("*.xml")) if CALLBACKS.is_dir() else []


def _manifest() -> dict[str, dict]:
    path = CALLBACKS / "manifest.jsonl"
    if not path.is_file():
        return {}
    entries = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {e["file"]: e for e in entries}


def test_every_callback_file_is_covered() -> None:
    assert CALLBACK_FILES, f"no callback bodies in {CALLBACKS}"
    assert set(_manifest()) == set(CALLBACK_FILES)
    assert all(name.startswith(("oa_", "wecom_")) for name in CALLBACK_FILES)


@pytest.mark.parametrize("name", CALLBACK_FILES)
async def test_real_callback_body_is_answered(running, name: str) -> None:
    app, oa, wecom = running
    xml = (CALLBACKS / name).read_text(encoding="utf-8")
    if name.startswith("oa_"):
        answer = await oa.send(xml, mode="safe")
    else:   # as our own app sends it: the samples come from other apps (AgentID 1, 1000004)
        xml = re.sub(r"<AgentID>[^<]*</AgentID>", f"<AgentID>{AGENT_ID}</AgentID>", xml)
        answer = await wecom.send(xml)
    assert answer.status == 200, f"{name}: {answer.status} {answer.body[:200]!r}"
    assert answer.body == "success" or answer.reply is not None
    if answer.reply is not None:
        assert answer.reply["MsgType"] == "text"
        assert answer.reply["Content"].strip()
        sender = fields(xml).get("FromUserName", "")
        assert answer.reply["ToUserName"] == sender
    assert counts(app)["failed_inbound"] == 0, f"{name}: the handler failed"
    await drain(app)


@pytest.mark.parametrize("name", ["oa_subscribe.xml", "oa_subscribe_qrscene.xml"])
async def test_subscribe_welcomes_also_through_a_qr_code(running, name: str) -> None:
    """wechatpy turns a subscribe with EventKey qrscene_... into "subscribe_scan"; it is still a subscribe."""
    app, oa, _ = running
    xml = (CALLBACKS / name).read_text(encoding="utf-8")
    answer = await oa.send(xml)
    assert "欢迎" in answer.content
    openid = fields(xml)["FromUserName"]
    row = app[INTAKE].db.execute("SELECT subscribed FROM residents WHERE openid = ?", [openid]).fetchone()
    assert row == (1,)
