"""A fake WeChat Official Account + WeCom API server for protocol tests, and the fixture that runs it.

It serves, on 127.0.0.1 and a free port, the endpoints Minsheng calls:

    GET  /cgi-bin/token                  Official Account access token (appid + secret)
    POST /cgi-bin/message/custom/send    OA customer-service message
    POST /cgi-bin/message/template/send  OA template message
    GET  /cgi-bin/gettoken               WeCom access token (corpid + corpsecret)
    POST /cgi-bin/message/send           WeCom app message to users
    POST /cgi-bin/appchat/send           WeCom app group chat
    POST /cgi-bin/webhook/send?key=KEY   WeCom group robot

Every call is recorded (`calls`: method, path, query, JSON body). Faults can be queued per endpoint for
later fault-injection tests: `fail(path, 45009, -1, 42001)` makes the next three calls of `path` answer
with those errcodes, `fail_http(path, 500)` answers HTTP 500, `slow(path, 2.0)` delays the next call,
`expire_tokens()` makes every issued access token answer 42001 until a new one is fetched. Access
tokens are checked like WeChat does (unknown token: 40001 on the OA, 40014 on WeCom).

Use it through the `wechat_env` fixture (bind it in a test module: `wechat_env = fakewechat.wechat_env`,
or list "tests.fakewechat" in `pytest_plugins` of a module that does not import it), which yields a
`WechatEnv`: the running fake, settings for both channels pointed at it, and an org file in which each
building of the demo community has its own group robot key `KEY-<building id>`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import DEMO_ORG, Settings, load_settings

TOKEN = "/cgi-bin/token"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
GETTOKEN = "/cgi-bin/gettoken"
WECOM_SEND = "/cgi-bin/message/send"
APPCHAT_SEND = "/cgi-bin/appchat/send"
WEBHOOK_SEND = "/cgi-bin/webhook/send"
GETUSERINFO = "/cgi-bin/user/getuserinfo"   # WeCom web login: a login code -> the member's userid

OA_APP_ID = "wxf4ce00000000beef"
OA_APP_SECRET = "oa-secret-for-tests"
OA_TOKEN = "oatoken2026"
OA_AES_KEY = "Mnsh0ngOAkey0123456789abcdefghijklmnopqrstu"   # 43 characters
OA_ORIGINAL_ID = "gh_minsheng0001"
CORP_ID = "wwminsheng0000001"
AGENT_ID = 1000002
CORP_SECRET = "wecom-secret-for-tests"
WECOM_TOKEN = "wecomtoken2026"
WECOM_AES_KEY = "Mnsh0ngWeComKey0123456789abcdefghijklmnopqr"   # 43 characters


def robot_key(building_id: str) -> str:
    return f"KEY-{building_id}"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any                 # the decoded JSON body (None for GET or a body that is not JSON)
    status: int               # the HTTP status answered
    errcode: int | None       # the errcode answered (None when no JSON was answered)
    duplicate: bool = False   # WeCom's duplicate check held it back: answered, never delivered


@dataclass
class Fault:
    errcode: int | None = None     # answer {"errcode": errcode, ...} with HTTP 200
    status: int | None = None      # answer this HTTP status with a non-JSON body
    delay: float = 0.0             # wait this long (seconds) before answering


@dataclass
class FakeWeChat:
    app_id: str = OA_APP_ID
    app_secret: str = OA_APP_SECRET
    corp_id: str = CORP_ID
    corp_secret: str = CORP_SECRET
    robot_keys: set[str] | None = None          # None: any non-empty key is accepted
    calls: list[Call] = field(default_factory=list)
    base_url: str = ""                          # http://127.0.0.1:PORT, set once started
    _faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _tokens: dict[str, str] = field(default_factory=dict)     # token -> "oa" | "wecom"
    _expired: set[str] = field(default_factory=set)
    _serial: itertools.count = field(default_factory=lambda: itertools.count(1))
    arrivals: list[str] = field(default_factory=list)   # paths, as requests arrive (before any delay)
    login_codes: dict[str, str] = field(default_factory=dict)   # WeCom web login: code -> userid, used once
    _arrival: asyncio.Event | None = None
    _delivered: dict[str, float] = field(default_factory=dict)   # WeCom duplicate check: request -> when

    # -- fault injection -------------------------------------------------------------------------------

    def fail(self, path: str, *errcodes: int) -> None:
        """The next len(errcodes) calls of `path` answer these errcodes, in order."""
        for code in errcodes:
            self._faults[path].append(Fault(errcode=code))

    def fail_http(self, path: str, status: int = 500, times: int = 1) -> None:
        for _ in range(times):
            self._faults[path].append(Fault(status=status))

    def slow(self, path: str, seconds: float, times: int = 1, errcode: int | None = None) -> None:
        """Delay the next `times` calls of `path` (then answer normally, or with `errcode`)."""
        for _ in range(times):
            self._faults[path].append(Fault(errcode=errcode, delay=seconds))

    def expire_tokens(self) -> None:
        """Every access token issued so far answers 42001 (expired) from now on."""
        self._expired.update(self._tokens)

    def pending_faults(self, path: str) -> int:
        return len(self._faults[path])

    async def arrived(self, path: str, count: int = 1) -> None:
        """Returns once `count` requests of `path` have arrived (answered or still being delayed)."""
        while self.arrivals.count(path) < count:
            self._arrival = asyncio.Event()
            await self._arrival.wait()

    # -- what was called -------------------------------------------------------------------------------

    def calls_to(self, path: str, ok_only: bool = False) -> list[Call]:
        """The calls of `path`; `ok_only`: those answered errcode 0 and delivered."""
        return [c for c in self.calls if c.path == path and (not ok_only or (c.errcode == 0 and not c.duplicate))]

    def _duplicate(self, body: Any) -> bool:
        """WeCom's duplicate check (message/send with enable_duplicate_check 1): the same request JSON
        delivered within duplicate_check_interval seconds (default 1800) is answered but not delivered."""
        if not isinstance(body, dict) or body.get("enable_duplicate_check") != 1:
            return False
        now = time.monotonic()
        text = json.dumps(body, sort_keys=True, ensure_ascii=False)
        window = float(body.get("duplicate_check_interval") or 1800)
        last = self._delivered.get(text)
        if last is not None and now - last < window:
            return True
        self._delivered[text] = now
        return False

    def oa_texts(self, openid: str | None = None) -> list[str]:
        """Customer-service texts successfully sent (to `openid`, or to anyone)."""
        return [c.body["text"]["content"] for c in self.calls_to(CUSTOM_SEND, ok_only=True)
                if openid is None or c.body.get("touser") == openid]

    def wecom_texts(self, userid: str | None = None) -> list[str]:
        """WeCom app texts successfully sent (to `userid`, or to anyone)."""
        return [c.body["text"]["content"] for c in self.calls_to(WECOM_SEND, ok_only=True)
                if userid is None or userid in str(c.body.get("touser", "")).split("|")]

    def wecom_recipients(self) -> set[str]:
        out: set[str] = set()
        for c in self.calls_to(WECOM_SEND, ok_only=True):
            out.update(u for u in str(c.body.get("touser", "")).split("|") if u)
        return out

    def robot_texts(self, key: str | None = None) -> list[str]:
        return [c.body["text"]["content"] for c in self.calls_to(WEBHOOK_SEND, ok_only=True)
                if key is None or c.query.get("key") == key]

    def robot_keys_called(self) -> set[str]:
        return {c.query.get("key", "") for c in self.calls_to(WEBHOOK_SEND)}

    def outbound(self) -> list[Call]:
        """Every call except token fetches."""
        return [c for c in self.calls if c.path not in (TOKEN, GETTOKEN)]

    # -- the server ------------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(TOKEN, self._oa_token)
        app.router.add_get(GETTOKEN, self._wecom_token)
        for path, kind in ((CUSTOM_SEND, "oa"), (TEMPLATE_SEND, "oa"), (WECOM_SEND, "wecom"),
                           (APPCHAT_SEND, "wecom")):
            app.router.add_post(path, self._api(kind))
        app.router.add_post(WEBHOOK_SEND, self._webhook)
        app.router.add_get(GETUSERINFO, self._getuserinfo)
        return app

    async def _getuserinfo(self, request: web.Request) -> web.Response:
        """WeCom's user/getuserinfo: a code WeCom gave the browser (each works once) -> the UserId."""
        query, body, fault = await self._start(request)
        result = self._check_token("wecom", query.get("access_token"))
        if result is None:
            userid = self.login_codes.pop(query.get("code", ""), None)
            result = ({"errcode": 0, "errmsg": "ok", "UserId": userid, "DeviceId": ""} if userid
                      else {"errcode": 40029, "errmsg": "invalid code"})
        return self._answer(request, query, body, fault, result)

    async def _start(self, request: web.Request) -> tuple[dict[str, str], Any, Fault | None]:
        self.arrivals.append(request.path)
        if self._arrival is not None:
            self._arrival.set()
        query = dict(request.query)
        body: Any = None
        if request.method == "POST":
            raw = await request.read()
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                body = None
        queue = self._faults.get(request.path)
        fault = queue.popleft() if queue else None
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        return query, body, fault

    def _answer(self, request: web.Request, query: dict[str, str], body: Any, fault: Fault | None,
                result: dict[str, Any]) -> web.Response:
        if fault is not None and fault.status is not None:
            self.calls.append(Call(request.method, request.path, query, body, fault.status, None))
            return web.Response(status=fault.status, text="fake server error")
        if fault is not None and fault.errcode is not None:
            result = {"errcode": fault.errcode, "errmsg": f"injected fault {fault.errcode}"}
        code = int(result.get("errcode", 0))
        self.calls.append(Call(request.method, request.path, query, body, 200, code))
        return web.json_response(result)

    def _issue(self, kind: str) -> str:
        token = f"{kind}-token-{next(self._serial)}"
        self._tokens[token] = kind
        return token

    async def _oa_token(self, request: web.Request) -> web.Response:
        query, body, fault = await self._start(request)
        if query.get("grant_type") != "client_credential":
            result: dict[str, Any] = {"errcode": 40002, "errmsg": "invalid grant_type"}
        elif query.get("appid") != self.app_id:
            result = {"errcode": 40013, "errmsg": "invalid appid"}
        elif query.get("secret") != self.app_secret:
            result = {"errcode": 40125, "errmsg": "invalid appsecret"}
        else:
            result = {"access_token": self._issue("oa"), "expires_in": 7200}
        return self._answer(request, query, body, fault, result)

    async def _wecom_token(self, request: web.Request) -> web.Response:
        query, body, fault = await self._start(request)
        if query.get("corpid") != self.corp_id:
            result: dict[str, Any] = {"errcode": 40013, "errmsg": "invalid corpid"}
        elif query.get("corpsecret") != self.corp_secret:
            result = {"errcode": 40001, "errmsg": "invalid credential"}
        else:
            result = {"errcode": 0, "errmsg": "ok", "access_token": self._issue("wecom"), "expires_in": 7200}
        return self._answer(request, query, body, fault, result)

    def _check_token(self, kind: str, token: str | None) -> dict[str, Any] | None:
        if not token or self._tokens.get(token) != kind:
            code = 40001 if kind == "oa" else 40014
            return {"errcode": code, "errmsg": "invalid access_token"}
        if token in self._expired:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def _api(self, kind: str):
        async def handler(request: web.Request) -> web.Response:
            query, body, fault = await self._start(request)
            result = self._check_token(kind, query.get("access_token"))
            if result is None and not isinstance(body, dict):
                result = {"errcode": 47001, "errmsg": "data format error"}
            if result is None:
                result = {"errcode": 0, "errmsg": "ok"}
                if request.path == TEMPLATE_SEND or request.path == WECOM_SEND:
                    result["msgid"] = next(self._serial)
                if request.path == WECOM_SEND:
                    result.update(invaliduser="", invalidparty="", invalidtag="")
            duplicate = request.path == WECOM_SEND and result.get("errcode") == 0 and fault is None \
                and self._duplicate(body)
            response = self._answer(request, query, body, fault, result)
            if duplicate:
                self.calls[-1] = replace(self.calls[-1], duplicate=True)
            return response
        return handler

    async def _webhook(self, request: web.Request) -> web.Response:
        query, body, fault = await self._start(request)
        key = query.get("key", "")
        if not key or (self.robot_keys is not None and key not in self.robot_keys):
            result: dict[str, Any] = {"errcode": 93000, "errmsg": "invalid webhook url"}
        elif not isinstance(body, dict) or body.get("msgtype") != "text":
            result = {"errcode": 40008, "errmsg": "invalid message type"}
        else:
            result = {"errcode": 0, "errmsg": "ok"}
        return self._answer(request, query, body, fault, result)


# -- the org file and settings -------------------------------------------------------------------------

def write_org(path: Path) -> dict[str, str]:
    """The demo org with every building's group set to its own robot; returns building id -> key."""
    text = DEMO_ORG.read_text(encoding="utf-8")
    keys: dict[str, str] = {}

    def building(block: str) -> str:
        m = re.search(r'^id = "([^"]+)"', block, re.MULTILINE)
        if m is None:
            return block
        keys[m.group(1)] = robot_key(m.group(1))
        return re.sub(r'^group = "[^"]*"', f'group = "robot:{robot_key(m.group(1))}"', block, flags=re.MULTILINE)

    parts = text.split("[[buildings]]")
    text = parts[0] + "".join("[[buildings]]" + building(p) for p in parts[1:])
    path.write_text(text, encoding="utf-8")
    return keys


def channel_overrides(base_url: str, db_path: Path, org_path: Path, url: str = "") -> dict[str, dict[str, Any]]:
    api = base_url.rstrip("/") + "/cgi-bin/"
    return {
        "storage": {"path": str(db_path), "url": url},
        "org": {"file": str(org_path)},
        "wechat": {"app_id": OA_APP_ID, "app_secret": OA_APP_SECRET, "token": OA_TOKEN,
                   "encoding_aes_key": OA_AES_KEY, "api_base_url": api, "timeout": 5.0},
        "wecom": {"corp_id": CORP_ID, "agent_id": AGENT_ID, "secret": CORP_SECRET, "token": WECOM_TOKEN,
                  "encoding_aes_key": WECOM_AES_KEY, "api_base_url": api,
                  "webhook_url": api + "webhook/send", "timeout": 5.0},
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def write_config(path: Path, overrides: dict[str, dict[str, Any]]) -> Path:
    """A config TOML with these sections (what `python -m bot ... --config` reads)."""
    lines: list[str] = []
    for section, values in overrides.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class WechatEnv:
    fake: FakeWeChat
    settings: Settings
    overrides: dict[str, dict[str, Any]]
    robot_keys: dict[str, str]          # building id -> robot key
    tmp_path: Path
    server: TestServer | None = None    # the fake's server: `api_down()` closes it, `api_up()` reopens it

    def config_file(self, name: str = "config.toml") -> Path:
        return write_config(self.tmp_path / name, self.overrides)

    async def api_down(self) -> None:
        """WeChat's API is gone: the fake's port refuses connections."""
        assert self.server is not None
        await self.server.close()

    async def api_up(self) -> None:
        """The API answers again on the same port: the same fake (its calls, tokens and faults)."""
        port = int(self.fake.base_url.rsplit(":", 1)[1])
        self.server = TestServer(self.fake.make_app(), host="127.0.0.1", port=port)
        await self.server.start_server()


@pytest.fixture
async def wechat_env(aiohttp_server, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[WechatEnv]:
    """The fake API server running on 127.0.0.1, and settings for both channels pointed at it (on
    PostgreSQL with MINSHENG_TEST_ENGINE=pg, as the `settings` fixture)."""
    from tests.engines import app_store_url

    fake = FakeWeChat()
    server = await aiohttp_server(fake.make_app(), host="127.0.0.1")
    fake.base_url = f"http://127.0.0.1:{server.port}"
    keys = write_org(tmp_path / "org.toml")
    fake.robot_keys = set(keys.values())
    overrides = channel_overrides(fake.base_url, tmp_path / "minsheng.db", tmp_path / "org.toml",
                                  app_store_url(request))
    settings = load_settings(overrides=overrides, environ={})
    env = WechatEnv(fake, settings, overrides, keys, tmp_path, server)
    yield env
    if env.server is not server and env.server is not None:     # reopened by api_up()
        await env.server.close()
