"""wechatpy API clients bound to the configured base URLs, with timeouts and no hidden retries.

wechatpy's clients are synchronous; callers run them off the event loop (asyncio.to_thread). Its
automatic token refresh-and-retry is switched off: the outbox refreshes the token once itself.
"""

from __future__ import annotations

import time

import requests
from wechatpy import WeChatClient
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.exceptions import WeChatClientException

from bot.config import WechatSettings, WecomSettings

TOKEN_ERRORS = frozenset({40001, 40014, 42001})


def _base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _fetch_token(client: WeChatClient | WeComClient, url: str, params: dict, timeout: float) -> dict:
    res = requests.get(url, params=params, timeout=timeout)
    res.raise_for_status()
    result = res.json()
    if result.get("errcode", 0) != 0:
        raise WeChatClientException(result["errcode"], result.get("errmsg"), client=client,
                                    request=res.request, response=res)
    expires_in = int(result.get("expires_in", 7200))
    client.session.set(client.access_token_key, result["access_token"], expires_in)
    client.expires_at = int(time.time()) + expires_in
    return result


class OfficialAccountClient(WeChatClient):
    def __init__(self, settings: WechatSettings) -> None:
        super().__init__(settings.app_id, settings.app_secret, timeout=settings.timeout, auto_retry=False)
        self.API_BASE_URL = _base(settings.api_base_url)
        self._timeout = settings.timeout

    def fetch_access_token(self) -> dict:
        return _fetch_token(self, self.API_BASE_URL + "token",
                            {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
                            self._timeout)


class WorkClient(WeComClient):
    def __init__(self, settings: WecomSettings) -> None:
        super().__init__(settings.corp_id, settings.secret, timeout=settings.timeout, auto_retry=False)
        self.API_BASE_URL = _base(settings.api_base_url)
        self._timeout = settings.timeout

    def fetch_access_token(self) -> dict:
        return _fetch_token(self, self.API_BASE_URL + "gettoken",
                            {"corpid": self.corp_id, "corpsecret": self.secret}, self._timeout)
