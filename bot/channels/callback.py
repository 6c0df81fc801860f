"""What both WeChat callback endpoints share: fields out of the XML, and the answer within 5 s."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.channels.freshness import digest
from bot.channels.inbound import to_message
from bot.channels.xmlguard import BadInput, Checked, check, fields, flat
from bot.keys import FRESHNESS, INTAKE, SETTINGS
from bot.logsafe import LIMITED

log = logging.getLogger("minsheng.callback")
ANSWER_WITHIN = 4.0


class Refused(Exception):
    """A callback refused before any handler ran: the status to answer and a reason safe to log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status

    def response(self, channel: str) -> web.Response:
        LIMITED.log(log, logging.WARNING, f"{channel} {self.status} refusals", "%s: callback refused (%s): %s",
                    channel, self.status, self)
        return web.Response(status=self.status, text=str(self))


async def read_body(request: web.Request) -> bytes:
    """The body, within [server] body_timeout: a client that stalls gets 408, not a held socket."""
    try:
        return await asyncio.wait_for(request.read(), request.app[SETTINGS].server.body_timeout)
    except TimeoutError:
        raise Refused(408, "body not received in time") from None


def check_fresh(request: web.Request, channel: str, body: bytes) -> None:
    """Refuse a stale timestamp or a nonce already used by another request (bot/channels/freshness.py)."""
    q = request.query
    why = request.app[FRESHNESS].refusal(channel, q.get("timestamp", ""), q.get("nonce", ""),
                                         digest(request.query_string, body))
    if why is not None:
        raise Refused(403, why)


def open_body(body: bytes, decrypt: Callable[[str | dict], str] | None) -> Checked:
    """The callback's plaintext XML, checked and parsed once; `decrypt` (wechatpy's) opens an AES
    envelope, given the envelope's fields (or its text when it is not a flat document)."""
    try:
        outer = check(body)
        if decrypt is None:
            return outer
        envelope = flat(outer)
        return check(decrypt(envelope if envelope is not None else outer.text))
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


def _parses_plainly(data: dict[str, str | None]) -> bool:
    """wechatpy's parse_message reads a flat document without failing (it needs a MsgType, and an
    Event on event messages: the WeCom parser raises without one, the Official Account parser does
    not; either way such a document goes through the parser itself, which gives what it always did)."""
    kind = data.get("MsgType")
    if not kind:
        return False
    kind = kind.lower()
    return not ((kind == "event" or kind.startswith("device_")) and data.get("Event") is None)


def message_fields(doc: Checked | str, parser: Callable[[str], Any]) -> dict[str, str]:
    """wechatpy parses the message; its raw fields are used so unknown types work too.

    A flat document (every callback WeChat documents for text, media, location and most events) is
    read from the tree already parsed by the check, exactly as wechatpy's parser (xmltodict) reads it;
    anything else goes through `parser` itself."""
    if isinstance(doc, str):
        doc = check(doc)
    data = flat(doc)
    if data is not None and _parses_plainly(data):
        out = {k: "" if v is None else v for k, v in data.items()}
        if "Event" in out:  # wechatpy renames a QR-code subscribe "subscribe_scan": keep the wire values
            raw = fields(doc)
            out.update({k: raw[k] for k in ("Event", "EventKey") if k in raw})
        return out
    try:
        parsed = parser(doc.text)._data
        if isinstance(parsed, dict):
            out = {k: v if isinstance(v, str) else ("" if v is None else str(v)) for k, v in parsed.items()}
            if "Event" in out:
                raw = fields(doc)
                out.update({k: raw[k] for k in ("Event", "EventKey") if k in raw})
            return out
    except Exception as exc:  # noqa: BLE001 - a boundary: log and answer, never crash
        log.info("wechatpy could not parse a callback (%s); reading fields directly", type(exc).__name__)
    return fields(doc)


async def answer(request: web.Request, data: dict[str, str], channel: str, role: str) -> list[str]:
    """The passive reply's texts ([] = "success"). Never before the message is stored: the intake
    journals it first; when its replies are not ready in time they follow as messages."""
    msg = to_message(data, channel, role, request.app[SETTINGS].limits.max_text_chars)
    if msg is None:
        log.info("%s: callback without a sender (%s) acknowledged", channel, data.get("MsgType"))
        return []
    return await request.app[INTAKE].answer(msg, ANSWER_WITHIN)
