"""kill -9 under a burst of concurrent reports: nothing acknowledged is lost, nothing stored twice."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.config import REPO_ROOT
from bot.journal import keys_on_disk

REPO = REPO_ROOT
TOKEN = "crashtoken"
AES_KEY = "CrashTestKey0123456789abcdefghijklmnopqrstu"
APP_ID = "wxcrash000000000001"
RESIDENTS = 8
REPORTS_EACH = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cfg: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(cfg), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


def signed_callback(crypto: WeChatCrypto, sender: str, msg_id: int, text: str) -> tuple[dict, str]:
    xml = (f"<xml><ToUserName><![CDATA[gh_crash]]></ToUserName><FromUserName><![CDATA[{sender}]]>"
           f"</FromUserName><CreateTime>{1764000000 + msg_id}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    timestamp, nonce = str(int(time.time())), f"n{msg_id}"   # the server runs on the real clock
    body = crypto.encrypt_message(xml, nonce, timestamp)
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    encrypt = xmltodict.parse(body)["xml"]["Encrypt"]
    msg_signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce, encrypt])).encode()).hexdigest()
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": msg_signature}
    return query, body


PROBLEMS = ["楼道灯坏了", "门口路面塌了个坑", "垃圾桶满了没人清", "绿化带的树枝压到电线", "消防通道被车堵了",
            "楼下广场舞太吵", "电梯按钮失灵", "外墙瓷砖往下掉", "健身器材螺丝松了", "有人飞线充电",
            "单元门禁刷不开", "暖气片不热"]


def messages() -> list[tuple[str, int, str]]:
    """Each resident reports each problem once; neighbours in one building may repeat each other (merged)."""
    out = []
    for r in range(RESIDENTS):
        for j in range(REPORTS_EACH):
            out.append((f"o-crash-{r}", 1000 + r * 100 + j, f"{1 + r % 3}号楼{PROBLEMS[j]}（住户{r}）"))
    return out


async def burst(port: int, crypto: WeChatCrypto, kill_after: int, proc: subprocess.Popen) -> set[int]:
    """Send every report concurrently per resident; kill -9 the server after `kill_after` acks."""
    acked: set[int] = set()
    url = f"http://127.0.0.1:{port}/wechat"

    async def resident(session: aiohttp.ClientSession, items: list[tuple[str, int, str]]) -> None:
        for sender, msg_id, text in items:
            query, body = signed_callback(crypto, sender, msg_id, text)
            try:
                async with session.post(url, params=query, data=body) as res:
                    text = await res.text()
                    # an answer is an acknowledgement: a passive reply saying it is filed, or "success"
                    # (stored in the journal; its replies follow as messages)
                    if res.status == 200 and (text == "success" or filed(decrypt_reply(crypto, text))):
                        acked.add(msg_id)
                    if len(acked) >= kill_after and proc.poll() is None:
                        os.kill(proc.pid, signal.SIGKILL)
            except (TimeoutError, aiohttp.ClientError):
                return

    by_sender: dict[str, list] = {}
    for m in messages():
        by_sender.setdefault(m[0], []).append(m)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(resident(session, items) for items in by_sender.values()))
    return acked


def filed(reply: str) -> bool:
    """The reply says the report is stored: a new number, or merged into a neighbour's report."""
    return "编号" in reply or "合并" in reply


def decrypt_reply(crypto: WeChatCrypto, xml: str) -> str:
    doc = xmltodict.parse(xml)["xml"]
    return crypto.decrypt_message(xml, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])


def handled_keys(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        return {k for (k,) in conn.execute("SELECT key FROM inbound")}


def wait_until_journal_empty(db_path: Path, limit: float = 60.0) -> None:
    """The server handles what it journalled (and what the killed run left there) in the background."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if set(keys_on_disk(db_path)) <= handled_keys(db_path):
            return
        time.sleep(0.05)
    raise AssertionError("journalled messages were not handled")


def test_kill_minus_nine_during_a_burst_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[storage]\npath = "{db_path}"\n[wechat]\napp_id = "{APP_ID}"\napp_secret = "x"\ntoken = "{TOKEN}"\n'
        f'encoding_aes_key = "{AES_KEY}"\napi_base_url = "http://127.0.0.1:9/cgi-bin/"\ntimeout = 0.5\n'
        f'[simulator]\nenabled = false\n', encoding="utf-8")
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    port = free_port()
    proc = start(cfg, port)
    try:
        acked = asyncio.run(burst(port, crypto, kill_after=40, proc=proc))
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert len(acked) >= 40

    with sqlite3.connect(db_path) as conn:
        keys = {k for (k,) in conn.execute("SELECT key FROM inbound")} | set(keys_on_disk(db_path))
        stored = {int(k.split(":")[1]) for k in keys}
        assert acked <= stored, f"acknowledged but lost: {sorted(acked - stored)}"
        texts = [t for (t,) in conn.execute("SELECT text FROM petitions")]
        assert len(texts) == len(set(texts)), "a report was stored twice"

    # WeChat retries everything that was not acknowledged (and some that were): after a restart each
    # report exists exactly once.
    port = free_port()
    proc = start(cfg, port)
    try:
        asyncio.run(burst(port, crypto, kill_after=10**9, proc=proc))
        wait_until_journal_empty(db_path)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with sqlite3.connect(db_path) as conn:
        texts = [t for (t,) in conn.execute("SELECT text FROM petitions")]
    assert sorted(texts) == sorted(m[2] for m in messages())
