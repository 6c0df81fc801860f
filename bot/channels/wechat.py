"""Official Account callbacks at /wechat: URL verification, plaintext, compatible and safe (AES) modes."""

from __future__ import annotations

import logging
from functools import lru_cache

from aiohttp import web
from wechatpy import parse_message
from wechatpy.replies import TextReply

from bot.channels.aes import Reused, signed
from bot.channels.callback import Refused, answer, message_fields, open_body, reply_text
from bot.keys import SETTINGS

log = logging.getLogger("minsheng.wechat")


@lru_cache(maxsize=8)
def _crypto(token: str, encoding_aes_key: str, app_id: str) -> Reused:
    """One crypto per configuration (it decodes the key; building it per callback cost time)."""
    return Reused(token, encoding_aes_key, app_id)


def _signed(request: web.Request) -> bool:
    q = request.query
    return signed(q.get("signature", ""), request.app[SETTINGS].wechat.token, q.get("timestamp", ""),
                  q.get("nonce", ""))


async def verify(request: web.Request) -> web.Response:
    if not _signed(request):
        log.warning("wechat: URL verification with a bad signature refused")
        return web.Response(status=403, text="bad signature")
    return web.Response(text=request.query.get("echostr", ""))


async def callback(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS].wechat
    q = request.query
    if not _signed(request):
        log.warning("wechat: callback with a bad signature refused")
        return web.Response(status=403, text="bad signature")
    body = await request.read()
    aes = q.get("encrypt_type", "raw").lower() == "aes"
    crypto = _crypto(settings.token, settings.encoding_aes_key, settings.app_id) if aes else None
    decrypt = None if crypto is None else (lambda envelope: crypto.decrypt_message(
        envelope, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")))
    try:
        doc = open_body(body, decrypt)
    except Refused as refused:
        return refused.response("wechat")
    data = message_fields(doc, parse_message)
    replies = await answer(request, data, channel="oa", role="resident")
    if not replies:
        return web.Response(text="success")
    reply = TextReply(source=data.get("ToUserName", ""), target=data.get("FromUserName", ""),
                      content=reply_text(replies)).render()
    if crypto is not None:
        reply = crypto.encrypt_message(reply, q.get("nonce", ""), q.get("timestamp") or None)
    return web.Response(text=reply, content_type="application/xml")


def setup(app: web.Application) -> None:
    app.router.add_get("/wechat", verify)
    app.router.add_post("/wechat", callback)



