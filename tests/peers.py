"""WeChat's side of the wire for integration tests: signed, AES-encrypted callbacks built with wechatpy.

`OfficialAccount` posts to /wechat (plaintext, compatible and safe modes), `WeCom` to /wecom; both
decrypt the passive replies and time every request against WeChat's 5-second rule. The `running`
fixture is the real app against the fake API of tests/fakewechat.py.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from yarl import URL

from bot.app import create_app
from bot.clock import Clock, FakeClock
from bot.keys import CLOCK, DELIVERER, INTAKE
from tests.fakewechat import (
    AGENT_ID,
    CORP_ID,
    OA_AES_KEY,
    OA_APP_ID,
    OA_ORIGINAL_ID,
    OA_TOKEN,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    WechatEnv,
)

ANSWER_WITHIN = 5.0     # WeChat gives a callback 5 s; this is a protocol requirement, not a benchmark
_serial = itertools.count(1)


def sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def cdata(tag: str, value: str) -> str:
    return f"<{tag}><![CDATA[{value}]]></{tag}>"


def fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in SafeET.fromstring(xml)}


@dataclass
class Answer:
    status: int
    body: str
    elapsed: float
    reply: dict[str, str] | None    # the (decrypted) passive reply's fields; None for "success" or errors

    @property
    def content(self) -> str:
        assert self.reply is not None, f"expected a reply, got {self.status} {self.body!r}"
        return self.reply.get("Content", "")


class Peer:
    """Shared by both channels: timing every request against the 5-second rule. Callbacks are stamped
    with `clock` (the server's injected clock; the real time when None), as WeChat stamps them."""

    def __init__(self, client, clock: Clock | None = None) -> None:
        self.client = client
        app = getattr(client, "app", None)
        self.clock = clock if clock is not None or app is None else app.get(CLOCK)
        self.timings: list[float] = []

    async def _post(self, path: str | URL, query: dict[str, str], body: str) -> tuple[int, str, float]:
        started = time.monotonic()
        res = await self.client.post(path, params=query, data=body.encode("utf-8"),
                                     headers={"Content-Type": "text/xml"})
        text = await res.text()
        elapsed = time.monotonic() - started
        self.timings.append(elapsed)
        assert elapsed < ANSWER_WITHIN, f"callback answered after {elapsed:.2f}s"
        return res.status, text, elapsed

    def stamp(self) -> tuple[str, str]:
        """A timestamp of now and a nonce never used before."""
        n = next(_serial)
        now = self.clock.now().timestamp() if self.clock is not None else time.time()
        return str(int(now)), str(100000000 + n)


class OfficialAccount(Peer):
    """WeChat's side of /wechat: plaintext, compatible and safe (AES) mode callbacks."""

    def __init__(self, client, token: str = OA_TOKEN, aes_key: str = OA_AES_KEY, app_id: str = OA_APP_ID,
                 original_id: str = OA_ORIGINAL_ID, clock: Clock | None = None) -> None:
        super().__init__(client, clock)
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id)
        self.original_id = original_id

    def text(self, openid: str, content: str, msg_id: int | None = None) -> str:
        msg_id = msg_id if msg_id is not None else 24000000000000000 + next(_serial)
        return (f"<xml>{cdata('ToUserName', self.original_id)}{cdata('FromUserName', openid)}"
                f"<CreateTime>{1764032400 + next(_serial)}</CreateTime>{cdata('MsgType', 'text')}"
                f"{cdata('Content', content)}<MsgId>{msg_id}</MsgId></xml>")

    def event(self, openid: str, event: str) -> str:
        return (f"<xml>{cdata('ToUserName', self.original_id)}{cdata('FromUserName', openid)}"
                f"<CreateTime>{1764032400 + next(_serial)}</CreateTime>{cdata('MsgType', 'event')}"
                f"{cdata('Event', event)}{cdata('EventKey', '')}</xml>")

    def envelope(self, xml: str, timestamp: str, nonce: str) -> tuple[str, str]:
        """(the <Encrypt> value, its msg_signature), as wechatpy's encrypt_message makes them."""
        out = fields(self.crypto.encrypt_message(xml, nonce, timestamp))
        return out["Encrypt"], out["MsgSignature"]

    async def send(self, xml: str, mode: str = "safe", forge: str = "") -> Answer:
        """POST one callback; `forge` = "signature" or "msg_signature" spoils that query parameter."""
        timestamp, nonce = self.stamp()
        query = {"signature": sha1(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                 "openid": fields(xml).get("FromUserName", "")}
        if mode == "plain":
            body = xml
        else:
            encrypt, msg_signature = self.envelope(xml, timestamp, nonce)
            if mode == "safe":
                body = f"<xml>{cdata('ToUserName', self.original_id)}{cdata('Encrypt', encrypt)}</xml>"
            else:   # compatible: the plaintext fields and <Encrypt> side by side
                body = xml.replace("</xml>", cdata("Encrypt", encrypt) + "</xml>")
            query.update(encrypt_type="aes", msg_signature=msg_signature)
        if forge:
            query[forge] = sha1("forged", query[forge])
        status, text, elapsed = await self._post("/wechat", query, body)
        return Answer(status, text, elapsed, self.read_reply(status, text, encrypted=mode != "plain"))

    def read_reply(self, status: int, text: str, encrypted: bool) -> dict[str, str] | None:
        if status != 200 or text == "success":
            return None
        if not encrypted:
            return fields(text)
        envelope = fields(text)
        plain = self.crypto.decrypt_message(text, envelope["MsgSignature"], envelope["TimeStamp"],
                                            envelope["Nonce"])
        return fields(plain)


class WeCom(Peer):
    """WeCom's side of /wecom: AES callbacks from the self-built app."""

    def __init__(self, client, token: str = WECOM_TOKEN, aes_key: str = WECOM_AES_KEY,
                 corp_id: str = CORP_ID, agent_id: int = AGENT_ID, clock: Clock | None = None) -> None:
        super().__init__(client, clock)
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.corp_id = corp_id
        self.agent_id = agent_id

    def text(self, userid: str, content: str, msg_id: int | None = None) -> str:
        msg_id = msg_id if msg_id is not None else 7300000000000000000 + next(_serial)
        return (f"<xml>{cdata('ToUserName', self.corp_id)}{cdata('FromUserName', userid)}"
                f"<CreateTime>{1764032400 + next(_serial)}</CreateTime>{cdata('MsgType', 'text')}"
                f"{cdata('Content', content)}<MsgId>{msg_id}</MsgId><AgentID>{self.agent_id}</AgentID></xml>")

    async def send(self, xml: str, forge: bool = False) -> Answer:
        timestamp, nonce = self.stamp()
        envelope = fields(self.crypto.encrypt_message(xml, nonce, timestamp))
        body = (f"<xml>{cdata('ToUserName', self.corp_id)}{cdata('AgentID', str(self.agent_id))}"
                f"{cdata('Encrypt', envelope['Encrypt'])}</xml>")
        msg_signature = sha1("forged", timestamp) if forge else envelope["MsgSignature"]
        query = {"msg_signature": msg_signature, "timestamp": timestamp, "nonce": nonce}
        status, text, elapsed = await self._post("/wecom", query, body)
        return Answer(status, text, elapsed, self.read_reply(status, text))

    def read_reply(self, status: int, text: str) -> dict[str, str] | None:
        if status != 200 or text == "success":
            return None
        envelope = fields(text)
        plain = self.crypto.decrypt_message(text, envelope["MsgSignature"], envelope["TimeStamp"],
                                            envelope["Nonce"])
        return fields(plain)


def counts(app) -> dict[str, int]:
    db = app[INTAKE].db
    return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("residents", "petitions", "events", "inbound", "outbox", "chat_log",
                          "failed_inbound")}


async def drain(app) -> None:
    await app[INTAKE].settled()      # journalled messages handled first: their replies are in the outbox
    await app[DELIVERER].drain()


@pytest.fixture
async def running(aiohttp_client, wechat_env: WechatEnv):
    clock = FakeClock()
    app = create_app(wechat_env.settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    return app, OfficialAccount(client, clock=clock), WeCom(client, clock=clock)
