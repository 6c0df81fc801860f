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
from bot.channels.callback import (
    Refused,
    answer,
    check_fresh,
    message_fields,
    open_body,
    read_body,
    reply_text,
)
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


async def _open(request: web.Request) -> dict[str, str]:
    """The decrypted message's fields, once signature, freshness, corp id and agent are checked."""
    q = request.query
    if not q.get("msg_signature"):
        raise Refused(403, "missing signature")
    body = await read_body(request)
    crypto = _crypto(request)
    data = message_fields(open_body(body, lambda envelope: crypto.decrypt_message(
        envelope, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", ""))), parse_message)
    check_fresh(request, "wecom", body)   # after the signatures: a forged request uses up no nonce
    agent = (data.get("AgentID") or "").strip()   # absent in system events (batch jobs, contacts)
    configured = request.app[SETTINGS].wecom.agent_id
    if agent and configured and agent != str(configured):
        raise Refused(403, "message for another agent (AgentID)")
    return data


async def callback(request: web.Request) -> web.Response:
    q = request.query
    try:
        data = await _open(request)
    except Refused as refused:
        return refused.response("wecom")
    replies = await answer(request, data, channel="wecom", role="staff")
    if not replies:
        return web.Response(text="success")
    agent = (data.get("AgentID") or "").strip()
    reply = TextReply(source=data.get("ToUserName", ""), target=data.get("FromUserName", ""),
                      agent=agent if agent.isdigit() else request.app[SETTINGS].wecom.agent_id,
                      content=reply_text(replies)).render()
    return web.Response(text=_crypto(request).encrypt_message(reply, q.get("nonce", ""), q.get("timestamp") or None),
                        content_type="application/xml")


def setup(app: web.Application) -> None:
    app.router.add_get("/wecom", verify)
    app.router.add_post("/wecom", callback)
