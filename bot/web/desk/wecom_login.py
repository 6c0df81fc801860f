"""WeCom web login (企业微信网页授权 inside the WeCom client, 扫码登录 in an office browser): the
browser goes to WeCom with a state kept in the session; WeCom sends it back with a code, which the
configured WeCom API ([wecom] api_base_url) turns into the userid; a roster userid is logged in."""

from __future__ import annotations

import asyncio
import logging
import secrets
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import get_session
from wechatpy.exceptions import WeChatClientException

from bot.channels.clients import WorkClient
from bot.keys import SETTINGS
from bot.logsafe import short
from bot.web.desk import auth
from bot.web.desk.pages import read
from storage import accounts

log = logging.getLogger("minsheng.desk")
routes = web.RouteTableDef()
AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"   # inside the WeCom client
QR_LOGIN = "https://login.work.weixin.qq.com/wwlogin/sso/login"     # a browser on a desk


def configured(request: web.Request) -> bool:
    w = request.config_dict[SETTINGS].wecom
    return bool(w.corp_id and w.secret and w.agent_id)


def _return_url(request: web.Request) -> str:
    base = request.config_dict[SETTINGS].server.public_url.rstrip("/")
    if not base:
        base = f"{request.scheme}://{request.host}"
    return f"{base}/admin/login/wecom/done"


def authorize_url(request: web.Request, state: str) -> str:
    w = request.config_dict[SETTINGS].wecom
    back = quote(_return_url(request), safe="")
    if "wxwork" in request.headers.get("User-Agent", "").lower():
        return (f"{AUTHORIZE}?appid={w.corp_id}&redirect_uri={back}&response_type=code&scope=snsapi_base"
                f"&state={state}&agentid={w.agent_id}#wechat_redirect")
    return f"{QR_LOGIN}?login_type=CorpApp&appid={w.corp_id}&agentid={w.agent_id}&redirect_uri={back}&state={state}"


@routes.get("/login/wecom")
async def start(request: web.Request) -> web.Response:
    if not configured(request):
        raise web.HTTPNotFound()
    session = await get_session(request)
    session["oauth_state"] = secrets.token_urlsafe(16)
    session["oauth_next"] = request.query.get("next", "")
    raise web.HTTPFound(authorize_url(request, session["oauth_state"]))


def _userid(settings, code: str) -> str:
    """The WeCom userid for a login code (user/getuserinfo); '' when WeCom says it is no member."""
    client = WorkClient(settings.wecom)
    result = client.oauth.get_user_info(code)
    return str(result.get("UserId") or result.get("userid") or "")


@routes.get("/login/wecom/done")
async def done(request: web.Request) -> web.Response:
    if not configured(request):
        raise web.HTTPNotFound()
    session = await get_session(request)
    expected = session.pop("oauth_state", "")
    code, state = request.query.get("code", ""), request.query.get("state", "")
    if not code or not expected or not secrets.compare_digest(state, expected):
        log.warning("desk: WeCom login refused: missing code or wrong state")
        raise web.HTTPSeeOther("/admin/login?failed=wecom")
    try:
        userid = await asyncio.to_thread(_userid, request.config_dict[SETTINGS], code)
    except (WeChatClientException, OSError, ValueError) as exc:
        log.warning("desk: WeCom login failed: %s", type(exc).__name__)
        raise web.HTTPSeeOther("/admin/login?failed=wecom") from None
    if not userid or await read(request, accounts.person, userid) is None:
        log.warning("desk: WeCom login of %s refused: not on the roster", short(userid))
        await auth.audit(request, "login_failed", userid, "wecom")
        raise web.HTTPSeeOther("/admin/login?failed=roster")
    return await auth.start_session(request, userid, "wecom", session.pop("oauth_next", ""))
