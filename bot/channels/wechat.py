"""Official Account callbacks at /wechat: URL verification, plaintext, compatible and safe (AES) modes."""

from __future__ import annotations

import logging
from functools import lru_cache

from aiohttp import web
from wechatpy import parse_message
from wechatpy.replies import TextReply

from bot.channels.aes import Reused, signed
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


def _mode_refusal(encrypted: bool, encrypt_type: str) -> Refused | None:
    """Safe and compatible modes read only the AES envelope: a plaintext callback is a downgrade."""
    if encrypted and encrypt_type != "aes":
        return Refused(403, f"encrypt_type={encrypt_type or 'absent'} in an encrypted mode")
    if not encrypted and encrypt_type not in ("", "raw"):
        return Refused(400, f"encrypt_type={encrypt_type} in plain mode")
    return None


async def _open(request: web.Request) -> tuple[dict[str, str], Reused | None]:
    """The callback's fields, once signature, mode, freshness, decryption and addressee are checked."""
    settings = request.app[SETTINGS].wechat
    q = request.query
    if not _signed(request):
        raise Refused(403, "bad signature")
    refused = _mode_refusal(settings.encrypted, q.get("encrypt_type", "").lower())
    if refused is not None:
        raise refused
    body = await read_body(request)
    crypto = _crypto(settings.token, settings.encoding_aes_key, settings.app_id) if settings.encrypted else None
    decrypt = None if crypto is None else (lambda envelope: crypto.decrypt_message(
        envelope, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")))
    data = message_fields(open_body(body, decrypt), parse_message)
    check_fresh(request, "oa", body)   # after the signatures: a forged request uses up no nonce
    if settings.original_id and data.get("ToUserName", "") != settings.original_id:
        raise Refused(403, "message for another account (ToUserName)")
    return data, crypto


async def callback(request: web.Request) -> web.Response:
    q = request.query
    try:
        data, crypto = await _open(request)
    except Refused as refused:
        return refused.response("wechat")
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
