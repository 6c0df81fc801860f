"""Work orders (工单) in the workbench: a worker sees and acts on their grid only; the list's filters and
search find the right petitions; the detail shows the timeline and the chat; actions from the page reach
the resident and the workers as chat commands do; the ledger button exports the list as filtered."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from bot.app import create_app
from bot.keys import DELIVERER
from storage import petitions
from tests.conftest import Sim
from tests.desk.helpers import logged_in

LIGHT, RUBBISH, ROAD = "门口路灯不亮了，晚上很黑", "楼下垃圾好几天没人清运了", "5号楼门口路面塌了一个坑"


class Office:
    """The app on a test server: residents through the simulator, people at desks through their own
    browser sessions."""

    def __init__(self, server, aiohttp_client, sim: Sim) -> None:
        self.server, self.client_for, self.sim = server, aiohttp_client, sim

    async def desk(self, userid: str) -> tuple[object, str]:
        client = await self.client_for(self.server)
        return client, await logged_in(client, self.sim.db, userid)

    async def report(self, who: str, building: str, text: str) -> int:
        await self.sim.resident(who, f"我住{building}2单元301")
        return int(re.search(r"编号 (\d+)", await self.sim.resident(who, text)).group(1))


@pytest.fixture
async def office(aiohttp_server, aiohttp_client, settings, clock) -> Office:
    app = create_app(settings, clock=clock, deliver=False)
    server = await aiohttp_server(app)
    return Office(server, aiohttp_client, Sim(await aiohttp_client(server), app))


async def page(client, path: str, status: int = 200) -> str:
    res = await client.get(path)
    assert res.status == status, (path, res.status)
    return await res.text()


async def post(office: Office, client, csrf: str, path: str, **form: str) -> str:
    """Post a form as the page does (then deliver what it sent); returns the page the 303 leads to."""
    res = await client.post(path, data={"_csrf": csrf, **form}, allow_redirects=False)
    assert res.status == 303, (res.status, await res.text())
    await office.sim.app[DELIVERER].drain()
    return await page(client, res.headers["Location"])


def audits(sim: Sim, action: str) -> list[dict]:
    return list(sim.db.query("SELECT actor, action, subject, detail FROM audit WHERE action = ?", (action,)))


async def test_a_worker_sees_and_acts_on_their_grid_only(office: Office) -> None:
    mine = await office.report("r1", "1号楼", LIGHT)            # 第一网格 (李娜)
    theirs = await office.report("r5", "5号楼", ROAD)           # 第二网格
    client, csrf = await office.desk("li.na")
    listing = await page(client, "/admin/orders?state=all")
    assert f'href="/admin/orders/{mine}"' in listing and f'href="/admin/orders/{theirs}"' not in listing
    assert "第一网格" in listing and "第二网格" not in listing       # the grid filter offers theirs only
    assert f'/admin/orders/{theirs}"' not in await page(client, "/admin/orders?state=all&grid=g2")
    refused = await page(client, f"/admin/orders/{theirs}", status=403)
    assert "路面塌了" not in refused and "5号楼" not in refused
    res = await client.post(f"/admin/orders/{theirs}/progress", data={"_csrf": csrf, "text": "马上来看"},
                            allow_redirects=False)
    assert res.status == 403
    assert not any("马上来看" in m for m in await office.sim.log("resident", "r5"))
    assert "路灯不亮" in await page(client, f"/admin/orders/{mine}")
    assert audits(office.sim, "view_petition") == [
        {"actor": "li.na", "action": "view_petition", "subject": str(mine), "detail": ""}]


async def test_filters_and_search_find_the_right_petitions(office: Office, clock) -> None:
    light = await office.report("r1", "1号楼", LIGHT)
    rubbish = await office.report("r2", "2号楼", RUBBISH)
    road = await office.report("r5", "5号楼", ROAD)
    client, _csrf = await office.desk("sun.hong")

    def shown(html: str) -> set[int]:
        return {int(n) for n in re.findall(r'<tr class="order" data-id="(\d+)"', html)}

    assert shown(await page(client, "/admin/orders")) == {light, rubbish, road}
    assert shown(await page(client, "/admin/orders?q=路灯")) == {light}
    assert shown(await page(client, "/admin/orders?q=门口")) == {light, road}
    assert shown(await page(client, "/admin/orders?q=黑")) == {light}
    assert shown(await page(client, "/admin/orders?grid=g2")) == {road}
    assert shown(await page(client, "/admin/orders?building=dy-2")) == {rubbish}
    assert shown(await page(client, "/admin/orders?category=lighting")) == {light}
    assert shown(await page(client, "/admin/orders?state=closed")) == set()
    assert shown(await page(client, "/admin/orders?overdue=1")) == set()
    await office.sim.staff(petitions.get(office.sim.db, rubbish)["worker"], f"接单 {rubbish}")
    clock.advance(hours=3)                     # past the two-hour sign-for limit of the other two
    overdue = await page(client, "/admin/orders?overdue=1")
    assert shown(overdue) == {light, road} and "已超期" in overdue
    board = await page(client, "/admin/orders/board")
    assert f'href="/admin/orders/{light}"' in board and "未签收" in board
    # htmx asks for the list body alone; a bookmark of the same URL gets the whole page
    body = await client.get("/admin/orders?overdue=1&grid=g1", headers={"HX-Request": "true"})
    text = await body.text()
    assert shown(text) == {light} and "<html" not in text
    assert "<html" in await page(client, "/admin/orders?overdue=1&grid=g1")


async def test_the_detail_shows_the_timeline_and_the_chat(office: Office) -> None:
    pid = await office.report("r1", "1号楼", LIGHT)
    client, _csrf = await office.desk("sun.hong")
    html = await page(client, f"/admin/orders/{pid}")
    assert LIGHT.split("，")[0] in html                      # the resident's words
    assert "已派单" in html and "李娜" in html                  # the timeline names the worker
    assert f"编号 {pid} 号" in html                            # the bot's reply in the chat thread
    assert "2单元" in html and "301" in html                   # the resident's address for the office
    assert audits(office.sim, "view_petition")[0]["subject"] == str(pid)


async def test_a_workers_page_shows_this_petitions_chat_only_and_no_phone(office: Office, clock) -> None:
    """The resident files 1号楼's light (第一网格), then 5号楼's road with a phone number (第二网格): 李娜's
    page of the light shows neither the road nor the number; the office's page of the road shows both."""
    light = await office.report("r1", "1号楼", LIGHT)
    await office.sim.resident("r1", "有事打我电话13900002222")
    clock.advance(minutes=5)
    road = int(re.search(r"编号 (\d+)", await office.sim.resident("r1", ROAD + "，我电话13800001111")).group(1))
    worker, _ = await office.desk("li.na")
    html = await page(worker, f"/admin/orders/{light}")
    assert f"编号 {light} 号" in html and "路面塌了" not in html and "13800001111" not in html
    assert "有事打我" in html and "13900002222" not in html            # said about this one: masked
    staff, _ = await office.desk("sun.hong")
    html = await page(staff, f"/admin/orders/{road}")
    assert "13800001111" in html and "路面塌了" in html and LIGHT not in html


async def test_a_reply_from_the_page_reaches_the_resident(office: Office) -> None:
    pid = await office.report("r1", "1号楼", LIGHT)
    client, csrf = await office.desk("sun.hong")
    html = await post(office, client, csrf, f"/admin/orders/{pid}/progress", text="物业明天上午来换灯泡")
    assert "物业明天上午来换灯泡" in html                      # the event, and the bot's answer flashed
    assert any("物业明天上午来换灯泡" in m for m in await office.sim.log("resident", "r1"))


async def test_dispatch_moves_the_petition_and_tells_the_new_worker(office: Office) -> None:
    pid = await office.report("r5", "5号楼", ROAD)
    first = petitions.get(office.sim.db, pid)["worker"]
    other = "liu.fang" if first == "chen.jie" else "chen.jie"
    client, csrf = await office.desk("sun.hong")
    detail = await page(client, f"/admin/orders/{pid}")
    assert f'value="{other}"' in detail and f'action="/admin/orders/{pid}/dispatch"' in detail
    html = await post(office, client, csrf, f"/admin/orders/{pid}/dispatch", worker=other)
    assert petitions.get(office.sim.db, pid)["worker"] == other
    assert "改派给 " in html                                   # the timeline says what happened
    assert any(f"{pid}" in m and "路面塌了" in m for m in await office.sim.log("staff", other))
    # a worker of the grid moves it on with 转派 (派单 is for the office)
    worker, token = await office.desk(other)
    assert f'action="/admin/orders/{pid}/dispatch"' not in await page(worker, f"/admin/orders/{pid}")
    await post(office, worker, token, f"/admin/orders/{pid}/transfer", worker=first)
    assert petitions.get(office.sim.db, pid)["worker"] == first


async def test_resolving_from_the_page_asks_the_resident_to_rate(office: Office) -> None:
    pid = await office.report("r1", "1号楼", LIGHT)
    client, csrf = await office.desk("li.na")
    html = await post(office, client, csrf, f"/admin/orders/{pid}/resolve", text="已更换灯泡")
    assert "已办结" in html
    assert petitions.get(office.sim.db, pid)["state"] == "resolved"
    told = await office.sim.log("resident", "r1")
    assert any("已更换灯泡" in m and "满意" in m for m in told)


async def test_the_ledger_button_exports_the_list_as_filtered(office: Office) -> None:
    light = await office.report("r1", "1号楼", LIGHT)
    await office.report("r2", "2号楼", RUBBISH)
    road = await office.report("r5", "5号楼", "5号楼的路灯坏了")
    client, _csrf = await office.desk("sun.hong")
    listing = await page(client, "/admin/orders?category=lighting")
    link = re.search(r'href="(/admin/orders/export\?[^"]*format=csv[^"]*)"', listing).group(1).replace("&amp;", "&")
    assert "category=lighting" in link
    res = await client.get(link)
    assert res.status == 200 and "attachment" in res.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO((await res.read()).decode("utf-8-sig"))))
    assert sorted(int(r[0]) for r in table[1:]) == [light, road]
    assert audits(office.sim, "export")[0]["actor"] == "sun.hong"
    assert "category=lighting" in audits(office.sim, "export")[0]["detail"]
    # a worker's ledger: their grid only, without phones
    worker, _token = await office.desk("li.na")
    res = await worker.get("/admin/orders/export?category=lighting&format=csv")
    table = list(csv.reader(io.StringIO((await res.read()).decode("utf-8-sig"))))
    assert [int(r[0]) for r in table[1:]] == [light] and "电话" not in table[0]
    # and in the workbook, the 统计 sheet holds their grid and its people, not the community or grid two
    res = await worker.get("/admin/orders/export?format=xlsx")
    book = load_workbook(io.BytesIO(await res.read()))
    assert "电话" not in [c.value for c in book["台账"][1]] and "电话" not in [c.value for c in book["超期"][1]]
    head = [c.value for c in book["台账"][1]]
    first = {h: c.value for h, c in zip(head, book["台账"][2], strict=True)}
    assert first["编号"] == light and first["状态"] == "已派单" and first["楼栋"] == "1号楼"   # columns still aligned
    stats = book["统计"]
    names = [row[1].value for row in stats.iter_rows(min_row=2)]
    assert "第一网格" in names and "李娜" in names
    assert not {"第二网格", "陈杰", "东杨社区"} & set(names)


async def test_merge_and_unmerge_from_the_page(office: Office) -> None:
    first = await office.report("r1", "1号楼", LIGHT)
    again = await office.report("r2", "2号楼", "1号楼门口那盏路灯坏了好几天")
    client, csrf = await office.desk("sun.hong")
    html = await post(office, client, csrf, f"/admin/orders/{again}/merge", target=str(first))
    assert petitions.get(office.sim.db, again)["merged_into"] == first
    assert f'action="/admin/orders/{again}/unmerge"' in html          # what is offered follows the state
    into = await page(client, f"/admin/orders/{first}")
    assert f'href="/admin/orders/{again}"' in into and "2号楼" in into     # merged, and its household
    await post(office, client, csrf, f"/admin/orders/{again}/unmerge")
    assert petitions.get(office.sim.db, again)["merged_into"] is None


async def test_actions_need_the_forms_token_and_the_role(office: Office) -> None:
    pid = await office.report("r5", "5号楼", ROAD)
    client, csrf = await office.desk("chen.jie")
    res = await client.post(f"/admin/orders/{pid}/progress", data={"text": "没有令牌"}, allow_redirects=False)
    assert res.status == 403
    detail = await page(client, f"/admin/orders/{pid}")
    assert f'action="/admin/orders/{pid}/reject"' not in detail        # 驳回 is the office's
    html = await post(office, client, csrf, f"/admin/orders/{pid}/reject", reason="不归社区管")
    assert petitions.get(office.sim.db, pid)["state"] != "rejected"
    assert "只有社区工作人员可以使用" in html                        # the bot's refusal, flashed


async def test_the_office_board_lists_what_waits_for_the_office(office: Office) -> None:
    pid = await office.report("r1", "1号楼", LIGHT)
    await office.sim.staff("li.na", f"退回 {pid} 不是路灯，是物业的灯")
    staff, _ = await office.desk("sun.hong")
    board = await page(staff, "/admin/orders/board")
    assert "待派单 / 退回 / 上报" in board and f'href="/admin/orders/{pid}"' in board
    worker, _ = await office.desk("li.na")
    assert "待派单 / 退回 / 上报" not in await page(worker, "/admin/orders/board")   # the office dispatches
