"""Two instances on one PostgreSQL database, one killed with SIGKILL mid-burst (issue 16).

Two `minsheng serve` processes share a fresh database and the fake WeChat/WeCom API. Residents send
signed, encrypted callbacks, split across both; some callbacks are sent again to the other instance
(WeChat retries where an answer was lost). Instance A is killed with SIGKILL in the middle; whatever it
did not acknowledge is sent again to B, as WeChat would. Then:

- every acknowledged report is filed exactly once (and every report, since all are sent again);
- every message to a worker (WeCom) is delivered exactly once, nothing is left unsent;
- a sign-for deadline that falls due during the burst escalates exactly once, with both instances'
  clocks ticking every half second.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.config import REPO_ROOT
from language.texts import t
from storage.petitions import iso
from tests import fakewechat
from tests.e2e.test_crash import PROBLEMS, decrypt_reply, filed, free_port
from tests.fakewechat import OA_AES_KEY, OA_APP_ID, OA_TOKEN, WECOM_SEND, write_config

psycopg = pytest.importorskip("psycopg")
wechat_env = fakewechat.wechat_env

RESIDENTS = 16
REPORTS_EACH = 5
KILL_AFTER = 20          # acknowledgements from A before it is killed
LEASE = 1.5              # [storage] lease_seconds: B takes A's journalled messages over this soon
TZ = ZoneInfo("Asia/Shanghai")


def callback(crypto: WeChatCrypto, sender: str, msg_id: int, text: str, attempt: int) -> tuple[dict, str]:
    """A signed, encrypted OA text callback; a retry has the same MsgId, a new nonce and timestamp."""
    xml = (f"<xml><ToUserName><![CDATA[gh_minsheng0001]]></ToUserName><FromUserName><![CDATA[{sender}]]>"
           f"</FromUserName><CreateTime>{1764000000 + msg_id}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
    timestamp, nonce = str(int(time.time())), f"n{msg_id}x{attempt}"
    body = crypto.encrypt_message(xml, nonce, timestamp)
    encrypt = xmltodict.parse(body)["xml"]["Encrypt"]
    query = {"signature": hashlib.sha1("".join(sorted([OA_TOKEN, timestamp, nonce])).encode()).hexdigest(),
             "timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": hashlib.sha1("".join(sorted([OA_TOKEN, timestamp, nonce, encrypt])).encode()).hexdigest()}
    return query, body


def reports() -> dict[str, list[tuple[int, str]]]:
    """Each resident's reports, in order: (MsgId, text); every text is unique."""
    return {f"o-two-{r}": [(5000 + r * 100 + j, f"{1 + r % 3}号楼{PROBLEMS[(r + j) % len(PROBLEMS)]}（住户{r}第{j}次）")
                           for j in range(REPORTS_EACH)] for r in range(RESIDENTS)}


class Instance:
    def __init__(self, name: str, cfg: Path) -> None:
        self.name, self.cfg, self.port = name, cfg, free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{self.port}/wechat"
        self.log = cfg.parent / f"{name}.log"   # the instance's output, for a failing run

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "serve", "--config", str(self.cfg), "--port", str(self.port),
                cwd=REPO_ROOT, stdout=log, stderr=log)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"instance {self.name} did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class Burst:
    """The residents' callbacks; `acked` holds the MsgIds some instance acknowledged."""

    def __init__(self, crypto: WeChatCrypto, a: Instance, b: Instance) -> None:
        self.crypto, self.a, self.b = crypto, a, b
        self.acked: set[int] = set()
        self.acked_by_a = 0
        self.retries = 0

    async def post(self, session: aiohttp.ClientSession, to: Instance, sender: str, msg_id: int, text: str,
                   attempt: int) -> bool:
        """True when `to` acknowledged: a passive reply saying it is filed, or "success"."""
        query, body = callback(self.crypto, sender, msg_id, text, attempt)
        try:
            async with session.post(to.url, params=query, data=body) as res:
                answer = await res.text()
        except (TimeoutError, aiohttp.ClientError):
            return False
        ok = res.status == 200 and (answer == "success" or filed(decrypt_reply(self.crypto, answer)))
        if ok:
            self.acked.add(msg_id)
            if to is self.a:
                self.acked_by_a += 1
                if self.acked_by_a == KILL_AFTER:
                    self.a.kill()
        return ok

    async def resident(self, session: aiohttp.ClientSession, index: int, sender: str,
                       items: list[tuple[int, str]]) -> None:
        first, other = (self.a, self.b) if index % 2 == 0 else (self.b, self.a)
        for n, (msg_id, text) in enumerate(items):
            target = first if first.alive else self.b
            ok = await self.post(session, target, sender, msg_id, text, 1)
            if (index + n) % 4 == 0 and other.alive:    # the answer "was lost": WeChat retries elsewhere
                self.retries += 1
                ok = await self.post(session, other, sender, msg_id, text, 2) or ok
            attempt = 3
            while not ok:                                 # not acknowledged: WeChat sends it again, to B
                assert attempt < 8, f"{msg_id} never acknowledged"
                await asyncio.sleep(0.2)
                ok = await self.post(session, self.b, sender, msg_id, text, attempt)
                attempt += 1


def config(env: fakewechat.WechatEnv, url: str, name: str) -> Path:
    overrides = {k: dict(v) for k, v in env.overrides.items()}
    overrides["storage"].update(url=url, lease_seconds=LEASE)
    overrides["wechat"]["timeout"] = overrides["wecom"]["timeout"] = 1.0
    overrides["outbox"] = {"claim_seconds": 6}
    overrides["schedule"] = {"tick_seconds": 0.5}
    overrides["simulator"] = {"enabled": False}
    return write_config(env.tmp_path / f"{name}.toml", overrides)


async def until(check, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {limit} s: {what}")


def query(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, args)
        return cur.fetchall() if cur.description else []


async def seed_deadline(b: Instance, crypto: WeChatCrypto, url: str) -> int:
    """A report filed before the burst, its sign-for escalation due 2 s from now, during the burst (no
    reminder first)."""
    async with aiohttp.ClientSession() as session:
        query_, body = callback(crypto, "o-two-deadline", 4000, "3号楼楼顶水箱漏水了", 1)
        async with session.post(b.url, params=query_, data=body) as res:
            assert res.status == 200
    await until(lambda: query(url, "SELECT count(*) FROM petitions WHERE state = 'assigned'")[0][0] == 1,
                "the first report assigned")
    pid = query(url, "SELECT id FROM petitions")[0][0]
    due = iso(datetime.now(TZ) + timedelta(seconds=2))
    query(url, "UPDATE petitions SET escalate_at = %s, sign_remind_at = NULL WHERE id = %s", (due, pid))
    return pid


async def test_two_instances_one_killed_mid_burst(wechat_env: fakewechat.WechatEnv, pg_database: str) -> None:
    env, url = wechat_env, pg_database
    crypto = WeChatCrypto(OA_TOKEN, OA_AES_KEY, OA_APP_ID)
    a, b = Instance("a", config(env, url, "a")), Instance("b", config(env, url, "b"))
    await a.start()
    await b.start()
    try:
        pid = await seed_deadline(b, crypto, url)
        burst = Burst(crypto, a, b)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            await asyncio.gather(*(burst.resident(session, i, sender, items)
                                   for i, (sender, items) in enumerate(reports().items())))
        assert not a.alive and burst.acked_by_a >= KILL_AFTER and burst.retries > 0
        await until(lambda: query(url, "SELECT count(*) FROM intake")[0][0] == 0, "every journalled message handled")
        await until(lambda: query(url, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")[0][0]
                    == 0, "every message sent")
        await until(lambda: query(url, "SELECT escalation_level FROM petitions WHERE id = %s", (pid,))[0][0] > 0,
                    "the deadline escalated")
        await asyncio.sleep(1.5)   # three more ticks of the survivor: a second escalation would come now
    finally:
        a.kill()
        b.kill()
        for inst in (a, b):
            if inst.proc is not None:
                await inst.proc.wait()

    texts = Counter(text for (text,) in query(url, "SELECT text FROM petitions"))
    sent = {text for items in reports().values() for _, text in items}
    assert {t_ for t_, n in texts.items() if n > 1} == set(), "a report was filed twice"
    acked_texts = {text for items in reports().values() for msg_id, text in items if msg_id in burst.acked}
    assert acked_texts == sent and sent <= set(texts), "an acknowledged report was not filed"
    keys = {k for (k,) in query(url, "SELECT key FROM inbound")}
    handled = {int(k.rsplit(":", 1)[1]) for k in keys if k.rsplit(":", 1)[1].isdigit()}
    assert burst.acked <= handled, f"acknowledged, never handled: {sorted(burst.acked - handled)}"

    rows = query(url, "SELECT target_id, text, status FROM outbox WHERE target_kind = 'staff'")
    assert rows and {status for _, _, status in rows} == {"sent"}
    delivered = Counter((c.body["touser"], c.body["text"]["content"])
                        for c in env.fake.calls_to(WECOM_SEND, ok_only=True))
    wanted = Counter((userid, text) for userid, text, _ in rows)
    assert {k: n for k, n in delivered.items() if n != 1} == {}, "a worker got a message twice"
    assert set(wanted) == set(delivered), "a worker message was not delivered"

    level, = query(url, "SELECT escalation_level FROM petitions WHERE id = %s", (pid,))[0]
    notes = [n for (n,) in query(url, "SELECT note FROM events WHERE petition = %s AND actor = 'system'", (pid,))]
    prefix = t("clock.event_escalate_head", reason="").strip()
    assert level == 1 and len([n for n in notes if n and n.startswith(prefix)]) == 1, notes
