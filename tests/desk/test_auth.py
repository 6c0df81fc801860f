"""Who gets into the workbench: per-person passwords, lockout, CSRF, roles, WeCom web login, the audit
log, and `minsheng staff passwd` — through the real app and, for WeCom, the fake WeCom API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from bot.app import create_app
from bot.clock import FakeClock
from bot.keys import INTAKE
from storage import accounts
from tests import fakewechat
from tests.desk.helpers import PASSWORD, csrf_of, logged_in, set_password

ROOT = Path(__file__).resolve().parents[2]
wechat_env = fakewechat.wechat_env


async def _login(client, userid: str, password: str) -> tuple[int, str]:
    token = await csrf_of(client)
    res = await client.post("/admin/login", data={"userid": userid, "password": password, "_csrf": token},
                            allow_redirects=False)
    return res.status, await res.text()


async def test_a_stranger_is_sent_to_the_login_and_comes_back_where_they_were_going(sim) -> None:
    res = await sim.client.get("/admin/audit?actor=li.na", allow_redirects=False)
    assert res.status == 303 and res.headers["Location"].startswith("/admin/login?next=")
    set_password(sim.db, "zhou.jie")
    login_page = res.headers["Location"]
    token = await csrf_of(sim.client, login_page)
    res = await sim.client.post(login_page, data={"userid": "zhou.jie", "password": PASSWORD, "_csrf": token},
                                allow_redirects=False)
    assert res.status == 303 and res.headers["Location"] == "/admin/audit?actor=li.na"


async def test_wrong_passwords_lock_the_account_for_a_while(aiohttp_client, settings) -> None:
    clock = FakeClock()
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    set_password(app[INTAKE].db, "li.na")
    for _ in range(4):
        status, page = await _login(client, "li.na", "not it")
        assert status == 401 and "账号或密码不对" in page
    status, page = await _login(client, "li.na", "still not it")
    assert status == 401 and "锁定" in page
    status, page = await _login(client, "li.na", PASSWORD)      # the right one does not open it now
    assert status == 401 and "锁定" in page
    clock.advance(minutes=16)
    status, _ = await _login(client, "li.na", PASSWORD)
    assert status == 303
    actions = [r["action"] for r in accounts.audit_log(app[INTAKE].db, actor="li.na")]
    assert actions.count("login_failed") == 4 and "lockout" in actions and actions[0] == "login"


async def test_an_unknown_userid_is_told_the_same_as_a_wrong_password(sim) -> None:
    status, page = await _login(sim.client, "nobody.here", "whatever")
    assert status == 401 and "账号或密码不对" in page


async def test_a_form_without_its_csrf_token_is_refused(sim) -> None:
    token = await logged_in(sim.client, sim.db, "sun.hong")
    for data in ({}, {"_csrf": "forged"}):
        res = await sim.client.post("/admin/logout", data=data, allow_redirects=False)
        assert res.status == 403
    assert (await sim.client.get("/admin/me")).status == 200          # still logged in
    res = await sim.client.post("/admin/logout", data={"_csrf": token}, allow_redirects=False)
    assert res.status == 303
    assert (await sim.client.get("/admin/me", allow_redirects=False)).status == 303


async def test_a_login_form_from_another_site_is_refused(sim) -> None:
    set_password(sim.db, "sun.hong")
    res = await sim.client.post("/admin/login", data={"userid": "sun.hong", "password": PASSWORD},
                                allow_redirects=False)
    assert res.status == 403


async def test_only_admins_manage_accounts_and_read_the_audit_log(sim) -> None:
    await logged_in(sim.client, sim.db, "li.na")
    for path in ("/admin/accounts", "/admin/audit", "/admin/roster"):
        res = await sim.client.get(path)
        assert res.status == 403 and "无权查看" in await res.text(), path
    me = await (await sim.client.get("/admin/me")).text()
    assert "第一网格" in me and "账号管理" not in me


async def test_an_admin_sets_a_password_and_the_old_sessions_end(aiohttp_client, settings) -> None:
    app = create_app(settings, clock=FakeClock(), deliver=False)
    admin = await aiohttp_client(app)
    worker = await aiohttp_client(app)
    await logged_in(worker, app[INTAKE].db, "li.na")
    token = await logged_in(admin, app[INTAKE].db, "zhou.jie")
    page = await (await admin.get("/admin/accounts")).text()
    assert "li.na" in page and "可登录" in page
    res = await admin.post("/admin/accounts/li.na/password", data={"password": "short", "_csrf": token})
    assert "密码长度须在" in await res.text()
    res = await admin.post("/admin/accounts/li.na/password", data={"password": "a much longer one", "_csrf": token})
    assert "已为 li.na 设置新密码" in await res.text()
    assert (await worker.get("/admin/me", allow_redirects=False)).status == 303
    status, _ = await _login(worker, "li.na", "a much longer one")
    assert status == 303
    log = await (await admin.get("/admin/audit")).text()
    assert "设置密码" in log and "li.na" in log


async def test_wecom_web_login_through_the_wecom_api(aiohttp_client, wechat_env) -> None:
    app = create_app(wechat_env.settings, clock=FakeClock(), deliver=False)
    client = await aiohttp_client(app)
    login = await (await client.get("/admin/login")).text()
    assert "企业微信扫码登录" in login
    res = await client.get("/admin/login/wecom?next=/admin/me", allow_redirects=False)
    assert res.status == 302
    target = urlparse(res.headers["Location"])
    query = parse_qs(target.query)
    assert query["appid"] == [wechat_env.settings.wecom.corp_id]
    assert query["redirect_uri"][0].endswith("/admin/login/wecom/done")
    state = query["state"][0]
    # a forged state is refused before WeCom is asked anything
    wechat_env.fake.login_codes["code-1"] = "li.na"
    res = await client.get("/admin/login/wecom/done", params={"code": "code-1", "state": "forged"},
                           allow_redirects=False)
    assert res.headers["Location"].startswith("/admin/login?failed")
    assert not wechat_env.fake.calls_to("/cgi-bin/user/getuserinfo")
    res = await client.get("/admin/login/wecom?next=/admin/me", allow_redirects=False)
    state = parse_qs(urlparse(res.headers["Location"]).query)["state"][0]
    res = await client.get("/admin/login/wecom/done", params={"code": "code-1", "state": state},
                           allow_redirects=False)
    assert res.status == 303 and res.headers["Location"] == "/admin/me"
    assert "李娜" in await (await client.get("/admin/me")).text()
    # a member WeCom knows but the roster does not: no way in
    other = await aiohttp_client(app)
    res = await other.get("/admin/login/wecom", allow_redirects=False)
    state = parse_qs(urlparse(res.headers["Location"]).query)["state"][0]
    wechat_env.fake.login_codes["code-2"] = "stranger"
    res = await other.get("/admin/login/wecom/done", params={"code": "code-2", "state": state},
                          allow_redirects=False)
    assert res.headers["Location"] == "/admin/login?failed=roster"
    assert (await other.get("/admin/me", allow_redirects=False)).status == 303


def test_staff_passwd_sets_a_password_from_the_command_line(tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "m.db"}"\n', encoding="utf-8")
    run = [sys.executable, "-m", "bot", "staff", "passwd", "--config", str(config)]

    def passwd(userid: str, typed: str) -> subprocess.CompletedProcess:
        return subprocess.run([*run, userid], input=typed, capture_output=True, text=True, cwd=ROOT, timeout=60,
                              check=False)

    done = passwd("li.na", "a long password\na long password\n")
    assert done.returncode == 0, done.stderr
    assert "已为 li.na 设置新密码" in done.stdout
    mismatch = passwd("li.na", "one password\nanother one\n")
    assert mismatch.returncode == 2 and "不一致" in mismatch.stderr
    unknown = passwd("no.such", "a long password\n")
    assert unknown.returncode == 2 and "no.such" in unknown.stderr


async def test_a_copied_cookie_is_worth_nothing_after_logout(aiohttp_client, sim) -> None:
    token = await logged_in(sim.client, sim.db, "sun.hong")
    cookie = sim.client.session.cookie_jar.filter_cookies(sim.client.make_url("/admin/me"))["minsheng_desk"].value
    res = await sim.client.post("/admin/logout", data={"_csrf": token}, allow_redirects=False)
    assert res.status == 303
    thief = await aiohttp_client(sim.app)
    res = await thief.get("/admin/me", headers={"Cookie": f"minsheng_desk={cookie}"}, allow_redirects=False)
    assert res.status == 303 and res.headers["Location"].startswith("/admin/login")


async def test_one_address_guessing_across_many_userids_is_made_to_wait(sim) -> None:
    set_password(sim.db, "sun.hong")
    for i in range(20):
        status, page = await _login(sim.client, f"guess.{i}", "password123")
        assert "账号或密码不对" in page
    status, page = await _login(sim.client, "sun.hong", PASSWORD)      # even the right one, for a while
    assert status == 401 and "失败次数过多" in page


async def test_pages_are_not_cached_or_framed_and_odd_input_is_no_error(sim) -> None:
    await logged_in(sim.client, sim.db, "zhou.jie")
    res = await sim.client.get("/admin/me")
    assert res.headers["Cache-Control"] == "no-store" and res.headers["X-Frame-Options"] == "DENY"
    for path in ("/admin/orders", "/admin/numbers/export?table=trend"):   # pages and downloads alike
        assert (await sim.client.get(path)).headers["Cache-Control"] == "no-store", path
    for path in ("/admin/orders?to=9999-12-31", "/admin/orders?from=0001-01-01&page=99999999999999999999",
                 "/admin/numbers?from=9999-12-31", "/admin/numbers?to=0001-01-01",
                 "/admin/audit?before=99999999999999999999999", "/admin/announcements?before=99999999999999999999",
                 "/admin/orders/export?format=csv&to=9999-12-31"):
        assert (await sim.client.get(path)).status == 200, path
    token = await csrf_of(sim.client, "/admin/me")
    res = await sim.client.post("/admin/deliveries/999999999999999999999/retry", data={"_csrf": token})
    assert res.status in (200, 404)
    res = await sim.client.post("/admin/accounts/nobody/unlock", data={"_csrf": token})
    assert res.status == 404
    res = await sim.client.post("/admin/accounts/li.na/password", data={"_csrf": token, "password": "x" * 129})
    assert "密码长度须在" in await res.text()
