"""Sending one text to one destination over the real APIs: OA customer service, WeCom, group robot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
import requests
from wechatpy.exceptions import WeChatClientException

from bot.channels.clients import TOKEN_ERRORS, OfficialAccountClient, WorkClient
from bot.config import Settings

log = logging.getLogger("minsheng.send")
RETRYABLE = frozenset({-1, 45009, 45033})
OUT_OF_WINDOW = frozenset({45015, 45047})
# WeCom's duplicate check: the same request within a few claims' time ([outbox] claim_seconds; at least
# 5 minutes, at most WeCom's 4 hours) is not delivered twice. It closes the window between WeCom taking
# a message and the outbox recording it, when an instance dies in it and the row is sent again once its
# claim lapses (bot/outbox.py); the cost is that two equal texts to one worker this close together
# arrive once.
DUPLICATE_CHECK_MIN, DUPLICATE_CHECK_MAX = 300, 4 * 3600


@dataclass
class SendError(Exception):
    reason: str
    retryable: bool
    out_of_window: bool = False
    unreachable: bool = False      # the API did not answer (refused, timed out, HTTP 5xx)

    def __str__(self) -> str:
        return self.reason


def _cause(exc: WeChatClientException) -> str:
    """What wechatpy's errcode-less exception stands for: an HTTP status or a network error."""
    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status_code}"
    cause = exc.__context__
    return type(cause).__name__ if cause is not None else "no answer"


class Senders:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.oa = OfficialAccountClient(settings.wechat) if settings.wechat.app_id else None
        self.wecom = WorkClient(settings.wecom) if settings.wecom.corp_id and settings.wecom.secret else None
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.wecom.timeout))

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def _call(self, client: OfficialAccountClient | WorkClient, fn, *args: object) -> None:
        """Run a blocking wechatpy call off the loop; refresh the token once on 40001/40014/42001."""
        for attempt in (1, 2):
            try:
                await asyncio.to_thread(fn, *args)
                return
            except WeChatClientException as exc:
                code = exc.errcode
                if code in TOKEN_ERRORS and attempt == 1:
                    await asyncio.to_thread(client.fetch_access_token)
                    continue
                if code in OUT_OF_WINDOW:
                    raise SendError(f"errcode {code}: outside the 48-hour window", False, True) from None
                if code is None:   # wechatpy's wrapping of a network error or an HTTP error status
                    raise SendError(f"network: {_cause(exc)}", True, unreachable=True) from None
                raise SendError(f"errcode {code}: {exc.errmsg}", code in RETRYABLE) from None
            except (requests.RequestException, OSError) as exc:
                raise SendError(f"network: {type(exc).__name__}", True, unreachable=True) from None

    async def send(self, via: str, address: str, text: str) -> None:
        """One text over the channel `via` (bot/channels/targets.py) to `address`."""
        senders = {"oa": self.to_resident, "wecom": self.to_staff, "robot": self.to_robot,
                   "appchat": self.to_appchat}
        if via not in senders:
            raise SendError(f"no sender for channel {via}", False)
        await senders[via](address, text)

    async def to_resident(self, openid: str, text: str) -> None:
        if self.oa is None:
            raise SendError("Official Account API is not configured", False)
        await self._call(self.oa, self.oa.message.send_text, openid, text)

    async def template(self, openid: str, text: str) -> None:
        template_id = self.settings.wechat.template_id
        if self.oa is None or not template_id:
            raise SendError("no template message configured", False)
        data = {"first": {"value": text[:200]}, "remark": {"value": ""}}
        await self._call(self.oa, self.oa.message.send_template, openid, template_id, data)

    @property
    def duplicate_check_seconds(self) -> int:
        claim = self.settings.outbox.claim_seconds
        return int(min(DUPLICATE_CHECK_MAX, max(DUPLICATE_CHECK_MIN, 3 * claim)))

    async def to_staff(self, userid: str, text: str) -> None:
        if self.wecom is None:
            raise SendError("WeCom API is not configured", False)
        msg = {"msgtype": "text", "text": {"content": text}, "safe": 0, "enable_duplicate_check": 1,
               "duplicate_check_interval": self.duplicate_check_seconds}
        await self._call(self.wecom, self.wecom.message.send, self.settings.wecom.agent_id, userid, "", "", msg)

    async def to_appchat(self, chat_id: str, text: str) -> None:
        if self.wecom is None:
            raise SendError("WeCom API is not configured", False)
        await self._call(self.wecom, self.wecom.appchat.send_text, chat_id, text)

    async def to_robot(self, key: str, text: str) -> None:
        assert self.http is not None
        url = self.settings.wecom.webhook_url
        try:
            async with self.http.post(url, params={"key": key},
                                      json={"msgtype": "text", "text": {"content": text}}) as res:
                if res.status >= 500:
                    raise SendError(f"robot HTTP {res.status}", True, unreachable=True)
                body = await res.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise SendError(f"robot network: {type(exc).__name__}", True, unreachable=True) from None
        code = int(body.get("errcode", 0)) if isinstance(body, dict) else -1
        if code != 0:
            raise SendError(f"robot errcode {code}", code in RETRYABLE)
