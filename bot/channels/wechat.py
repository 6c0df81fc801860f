"""Official Account callbacks at /wechat: URL verification, plaintext, compatible and safe (AES) modes."""

from __future__ import annotations

import logging

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.channels.callback import answer, message_fields, reply_text
from bot.channels.xmlguard import BadInput, safe_xml
from bot.keys import SETTINGS

log = logging.getLogger("minsheng.wechat")


def _signed(request: web.Request) -> bool:
    q = request.query
    try:
        check_signature(request.app[SETTINGS].wechat.token, q.get("signature", ""), q.get("timestamp", ""),
                        q.get("nonce", ""))
    except InvalidSignatureException:
        return False
    return True


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
    crypto = WeChatCrypto(settings.token, settings.encoding_aes_key, settings.app_id) if aes else None
    try:
        xml = safe_xml(body)
        if crypto is not None:
            xml = safe_xml(crypto.decrypt_message(xml, q.get("msg_signature", ""), q.get("timestamp", ""),
                                                  q.get("nonce", "")))
    except BadInput as exc:
        log.warning("wechat: callback refused: %s", exc)
        return web.Response(status=400, text=str(exc))
    except InvalidSignatureException:
        log.warning("wechat: callback with a bad msg_signature refused")
        return web.Response(status=403, text="bad signature")
    except InvalidAppIdException:
        log.warning("wechat: callback for another app id refused")
        return web.Response(status=403, text="wrong app id")
    except Exception as exc:  # noqa: BLE001 - a boundary: log and answer, never crash
        log.warning("wechat: callback could not be decrypted: %s", type(exc).__name__)
        return web.Response(status=400, text="cannot decrypt")
    data = message_fields(xml, parse_message)
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



