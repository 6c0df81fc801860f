"""WeCom self-built app callbacks at /wecom: URL verification (encrypted echostr) and AES messages."""

from __future__ import annotations

import logging
from functools import lru_cache

from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.replies import TextReply
from wechatpy.exceptions import InvalidAppIdException as InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.channels.aes import ReusedWeCom
from bot.channels.callback import Refused, answer, message_fields, open_body, reply_text
from bot.keys import SETTINGS

log = logging.getLogger("minsheng.wecom")


def _crypto(request: web.Request) -> ReusedWeCom:
    s = request.app[SETTINGS].wecom
    return _crypto_for(s.token, s.encoding_aes_key, s.corp_id)


@lru_cache(maxsize=8)
def _crypto_for(token: str, encoding_aes_key: str, corp_id: str) -> ReusedWeCom:
    """One crypto per configuration, not one per callback."""
    return ReusedWeCom(token, encoding_aes_key, corp_id)


async def verify(request: web.Request) -> web.Response:
    q = request.query
    try:
        echo = _crypto(request).check_signature(q.get("msg_signature", ""), q.get("timestamp", ""),
                                                q.get("nonce", ""), q.get("echostr", ""))
    except (InvalidSignatureException, InvalidCorpIdException):
        log.warning("wecom: URL verification refused (signature or corp id)")
        return web.Response(status=403, text="bad signature")
    except Exception as exc:  # noqa: BLE001 - a boundary: log and answer, never crash
        log.warning("wecom: URL verification with an undecryptable echostr: %s", type(exc).__name__)
        return web.Response(status=400, text="bad echostr")
    return web.Response(text=echo.decode("utf-8") if isinstance(echo, bytes) else echo)


async def callback(request: web.Request) -> web.Response:
    q = request.query
    if not q.get("msg_signature"):
        log.warning("wecom: unsigned callback refused")
        return web.Response(status=403, text="missing signature")
    crypto = _crypto(request)
    try:
        doc = open_body(await request.read(), lambda envelope: crypto.decrypt_message(
            envelope, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")))
    except Refused as refused:
        return refused.response("wecom")
    data = message_fields(doc, parse_message)
    replies = await answer(request, data, channel="wecom", role="staff")
    if not replies:
        return web.Response(text="success")
    agent = (data.get("AgentID") or "").strip()   # absent in system events (batch jobs, contacts)
    reply = TextReply(source=data.get("ToUserName", ""), target=data.get("FromUserName", ""),
                      agent=agent if agent.isdigit() else request.app[SETTINGS].wecom.agent_id,
                      content=reply_text(replies)).render()
    return web.Response(text=crypto.encrypt_message(reply, q.get("nonce", ""), q.get("timestamp") or None),
                        content_type="application/xml")


def setup(app: web.Application) -> None:
    app.router.add_get("/wecom", verify)
    app.router.add_post("/wecom", callback)
