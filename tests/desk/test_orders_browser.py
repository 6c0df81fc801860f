"""Work orders in headless Debian chromium: a grid worker filters the list to overdue petitions of their
grid (htmx, the address follows), opens one and replies to the resident, and is refused another grid's
petition; staff re-dispatch it, resolve it, and download the ledger of the filtered list (XLSX).

The real app runs on 127.0.0.1 on its own event loop with a fake clock (to make petitions overdue);
deliveries are drained on that loop. Every wait is a bounded Playwright wait."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web
from openpyxl import load_workbook
from playwright.sync_api import expect, sync_playwright

from bot.clock import FakeClock
from bot.keys import DELIVERER
from storage.db import open_db
from tests.desk.helpers import PASSWORD, set_password
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, shots_dir

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="browser test needs Debian chromium")


class Served:
    """The real app with a fake clock, served by aiohttp on its own loop in a daemon thread."""

    def __init__(self, settings, clock: FakeClock) -> None:
        self.settings, self.clock = settings, clock
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="orders-server", daemon=True)
        self.runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    def start(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.run(self._start())}"

    async def _start(self) -> int:
        from bot.app import create_app

        self.app = create_app(self.settings, clock=self.clock, deliver=False)
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        return self.runner.addresses[0][1]

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def deliver(self) -> None:
        assert self.app is not None
        self.run(self.app[DELIVERER].drain())

    def stop(self) -> None:
        if self.runner is not None:
            self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def call(base: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))


def report(base: str, who: str, building: str, text: str) -> int:
    call(base, "/api/sim/send", {"kind": "resident", "id": who, "text": f"我住{building}2单元301"})
    reply = call(base, "/api/sim/send", {"kind": "resident", "id": who, "text": text})["replies"][0]["text"]
    return int(re.search(r"编号 (\d+)", reply).group(1))


def told(base: str, who: str) -> list[str]:
    found = call(base, f"/api/sim/log?kind=resident&id={who}")["messages"]
    return [m["text"] for m in found if m["direction"] == "out"]


@pytest.fixture
def served(settings, tmp_path: Path):
    server = Served(settings, FakeClock())
    base = server.start()
    try:
        yield server, base
    finally:
        server.stop()


def log_in(browser, base: str, userid: str):
    page = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900}).new_page()
    page.goto(f"{base}/admin/login")
    page.fill("input[name=userid]", userid)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text(re.compile("工单"), timeout=WAIT_MS)
    return page


PAINTED = """() => Array.from(document.querySelectorAll('.chart canvas')).map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; })"""


def charts_are_drawn(page, url: str, shot: Path, at_least: int) -> None:
    """Every chart on `url` has painted pixels (ECharts draws on canvases after the page's script ran)."""
    page.goto(url)
    expect(page.locator(".chart canvas").nth(at_least - 1)).to_be_attached(timeout=WAIT_MS)
    page.wait_for_function(f"({PAINTED})().every(n => n > 500)", timeout=WAIT_MS)
    painted = page.evaluate(PAINTED)
    assert len(painted) >= at_least and all(n > 500 for n in painted), painted
    page.screenshot(path=str(shot), full_page=True)


def test_orders_in_a_browser(served, tmp_path: Path) -> None:
    server, base = served
    light = report(base, "r1", "1号楼", "门口路灯不亮了，晚上很黑")
    rubbish = report(base, "r2", "2号楼", "楼下垃圾好几天没人清运了")
    road = report(base, "r5", "5号楼", "5号楼门口路面塌了一个坑")
    server.clock.advance(hours=3)                       # past the two-hour sign-for limit
    db = open_db(server.settings.storage.target)
    for userid in ("li.na", "sun.hong", "zhou.jie"):
        set_password(db, userid)
    shots = shots_dir(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        worker = log_in(browser, base, "li.na")
        worker.check("input[name=overdue]")              # htmx reloads the list; the address follows
        expect(worker).to_have_url(re.compile(r"overdue=1"), timeout=WAIT_MS)
        rows = worker.locator("#order-rows tr.order")
        expect(rows).to_have_count(2, timeout=WAIT_MS)
        expect(worker.locator(f'#order-rows tr[data-id="{road}"]')).to_have_count(0)
        expect(worker.locator("#order-rows")).to_contain_text("已超期")
        worker.screenshot(path=str(shots / "orders-worker-overdue.png"), full_page=True)
        worker.click(f'#order-rows a[href="/admin/orders/{light}"] >> nth=0')
        expect(worker.locator("h1")).to_contain_text(f"{light} 号工单", timeout=WAIT_MS)
        worker.fill("form.action-progress textarea", "明天上午物业来换灯泡")
        worker.click("form.action-progress button")
        expect(worker.locator(".flash").first).to_contain_text(f"{light}", timeout=WAIT_MS)
        server.deliver()
        assert any("明天上午物业来换灯泡" in m for m in told(base, "r1"))
        expect(worker.locator(".timeline")).to_contain_text("明天上午物业来换灯泡", timeout=WAIT_MS)
        expect(worker.locator(".timeline")).not_to_contain_text("改派给 明天")   # a note, not a transfer
        worker.screenshot(path=str(shots / "order-detail-worker.png"), full_page=True)
        refused = worker.goto(f"{base}/admin/orders/{road}")
        assert refused is not None and refused.status == 403
        expect(worker.locator("main")).not_to_contain_text("路面塌了")

        staff = log_in(browser, base, "sun.hong")
        staff.goto(f"{base}/admin/orders/{light}")
        staff.select_option("form.action-dispatch select[name=worker]", "wang.qiang")
        staff.click("form.action-dispatch button")
        expect(staff.locator(".flash").first).to_contain_text("王强", timeout=WAIT_MS)
        staff.fill("form.action-resolve textarea", "已更换灯泡，恢复照明")
        staff.click("form.action-resolve button")
        expect(staff.locator(".flash").first).to_contain_text("已办结", timeout=WAIT_MS)
        server.deliver()
        assert any("已更换灯泡" in m and "满意" in m for m in told(base, "r1"))
        staff.screenshot(path=str(shots / "order-detail-staff.png"), full_page=True)

        staff.goto(f"{base}/admin/orders?state=all&grid=g1")
        expect(staff.locator("#order-rows tr.order")).to_have_count(2, timeout=WAIT_MS)
        with staff.expect_download(timeout=WAIT_MS) as got:
            staff.click("text=导出台账（Excel）")
        path = tmp_path / "ledger.xlsx"
        got.value.save_as(path)
        staff.goto(f"{base}/admin/orders")
        staff.select_option("select[name=grid]", "g1")
        staff.check("input[name=overdue]")
        expect(staff).to_have_url(re.compile(r"grid=g1.*overdue=1|overdue=1.*grid=g1"), timeout=WAIT_MS)
        expect(staff.locator(f'#order-rows tr[data-id="{rubbish}"]')).to_have_count(1, timeout=WAIT_MS)
        expect(staff.locator(f'#order-rows tr[data-id="{road}"]')).to_have_count(0)
        staff.screenshot(path=str(shots / "orders-staff-g1-overdue.png"), full_page=True)
        charts_are_drawn(staff, f"{base}/admin/numbers", shots / "numbers.png", at_least=4)
        charts_are_drawn(staff, f"{base}/admin/map", shots / "map.png", at_least=1)
        admin = log_in(browser, base, "zhou.jie")
        admin.goto(f"{base}/admin/audit?action=export")
        expect(admin.locator("table.grid")).to_contain_text("sun.hong", timeout=WAIT_MS)
        admin.screenshot(path=str(shots / "audit.png"), full_page=True)
        browser.close()
    book = load_workbook(path)
    assert book.sheetnames == ["台账", "办理过程", "统计", "超期"]
    sheet = book["台账"]
    assert sheet["A1"].value == "编号"
    assert sorted(row[0].value for row in sheet.iter_rows(min_row=2)) == [light, rubbish]
    assert sheet.cell(row=2, column=2).is_date
