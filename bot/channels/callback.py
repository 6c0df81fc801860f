"""What both WeChat callback endpoints share: fields out of the XML, and the answer within 5 s."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.channels.inbound import to_message
from bot.channels.xmlguard import BadInput, fields, safe_xml
from bot.keys import CORE

log = logging.getLogger("minsheng.callback")
ANSWER_WITHIN = 4.0


class Refused(Exception):
    """A callback refused before any handler ran: the status to answer and a reason safe to log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status

    def response(self, channel: str) -> web.Response:
        log.warning("%s: callback refused (%s): %s", channel, self.status, self)
        return web.Response(status=self.status, text=str(self))


def open_body(body: bytes, decrypt: Callable[[str], str] | None) -> str:
    """The callback's plaintext XML, checked; `decrypt` (wechatpy's) opens an AES envelope."""
    try:
        xml = safe_xml(body)
        return safe_xml(decrypt(xml)) if decrypt is not None else xml
    except BadInput as exc:
        raise Refused(400, str(exc)) from None
    except InvalidSignatureException:
        raise Refused(403, "bad msg_signature") from None
    except InvalidAppIdException:
        raise Refused(403, "message for another app or corp id") from None
    except Exception as exc:  # noqa: BLE001 - undecryptable payloads raise many kinds inside wechatpy
        raise Refused(400, f"cannot decrypt: {type(exc).__name__}") from None


def reply_text(replies: list[str]) -> str:
    """The passive reply's content; a "]]>" in echoed user text must not end the CDATA section."""
    return "\n\n".join(replies).replace("]]>", "]]]]><![CDATA[>")


def message_fields(xml: str, parser: Callable[[str], Any]) -> dict[str, str]:
    """wechatpy parses the message; its raw fields are used so unknown types work too."""
    try:
        data = parser(xml)._data
        if isinstance(data, dict):
            out = {k: v if isinstance(v, str) else ("" if v is None else str(v)) for k, v in data.items()}
            if "Event" in out:  # wechatpy renames a QR-code subscribe "subscribe_scan": keep the wire values
                raw = fields(xml)
                out.update({k: raw[k] for k in ("Event", "EventKey") if k in raw})
            return out
    except Exception as exc:  # noqa: BLE001 - a boundary: log and answer, never crash
        log.info("wechatpy could not parse a callback (%s); reading fields directly", type(exc).__name__)
    return fields(xml)


async def answer(request: web.Request, data: dict[str, str], channel: str, role: str) -> list[str]:
    msg = to_message(data, channel, role)
    if msg is None:
        log.info("%s: callback without a sender (%s) acknowledged", channel, data.get("MsgType"))
        return []
    core = request.app[CORE]
    started = time.monotonic()
    replies = await core.handle(msg)          # returns once the message and its effects are committed
    if time.monotonic() - started > ANSWER_WITHIN:
        # Never acknowledge before storing; when storing took too long for a passive reply, the
        # replies follow as messages (a retry that already carried them suppresses this).
        log.warning("%s: answer for %s took over %ss; replies follow as messages", channel, msg.key,
                    ANSWER_WITHIN)
        await core.reply_late(msg, replies)
        return []
    return replies
