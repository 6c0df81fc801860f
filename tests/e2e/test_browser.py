"""End-to-end test of the simulator web page in headless Debian chromium.

Starts the real aiohttp app on 127.0.0.1 (free port, temp database) in a background thread,
then drives the page like a person would: a resident binds an address and reports a broken
street light, the building's grid worker takes and resolves it, the resident rates it, and the
building group shows the 办结公示 notice. Outbound messages go through the outbox worker, so every
wait is a bounded Playwright wait, never a sleep.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000  # upper bound for any one thing to show up on the page
BUILDING = "dy-3"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser test needs Debian chromium at /usr/bin/chromium"
)

# The bot files a petition with "已登记，编号 12 号…"; later messages say "12 号" / "12号"
# (never to be confused with a building such as "3号楼").
NUMBER_RE = re.compile(r"编号\s*[:：]?\s*(\d+)")


def mentions(number: str) -> re.Pattern:
    return re.compile(rf"(?<!\d){number}\s*号(?![楼栋院])")


class ServerThread:
    """The real app served by aiohttp on its own event loop in a daemon thread."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sim-server", daemon=True)
        self.runner = None
        self.url = ""

    def start(self) -> str:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        port = future.result(timeout=30)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def _start(self) -> int:
        from bot.app import create_app

        self.runner = web.AppRunner(create_app(self.settings))
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()  # port 0: the OS picks a free one
        return self.runner.addresses[0][1]

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        asyncio.run_coroutine_threadsafe(self.loop.shutdown_asyncgens(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def wait_healthy(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"server at {url} did not answer /healthz within {timeout}s")
        time.sleep(0.1)


@pytest.fixture
def server_url(tmp_path):
    from bot.config import load_settings

    settings = load_settings(overrides={"storage": {"path": str(tmp_path / "sim.db")}})
    server = ServerThread(settings)
    try:
        url = server.start()
        wait_healthy(url)
        yield url
    finally:
        server.stop()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read().decode("utf-8"))


# ---------- page helpers ----------


def choose(page, person: str, name: str, *, keyboard: bool = False) -> None:
    if keyboard:  # search box -> arrow down into the filtered list -> Enter
        page.fill("#search", name)
        page.press("#search", "ArrowDown")
        expect(page.locator(f'[data-person="{person}"]')).to_be_focused()
        page.keyboard.press("Enter")
    else:
        page.click(f'[data-person="{person}"]')
    expect(page.locator("#chat-title")).to_have_text(name, timeout=WAIT_MS)
    expect(page.locator("#messages")).to_have_attribute("data-loaded", "true", timeout=WAIT_MS)


def bubble(page, text: str | re.Pattern):
    """A message bubble by its text alone (a message's sender name and time are outside it)."""
    return page.locator(".bubble", has_text=text)


def send(page, text: str, *, reply: str | re.Pattern, chip: bool = False):
    """Send `text` (typed + Enter, or by its quick-reply chip) and wait for a bot reply after it."""
    if chip:
        page.click(f'#chips .chip[data-text="{text}"]')
    else:
        page.fill("#input", text)
        page.press("#input", "Enter")
    mine = page.locator("#messages .msg.in:not(.pending)", has=bubble(page, text)).last
    expect(mine).to_be_visible(timeout=WAIT_MS)
    msg_id = mine.get_attribute("data-id")
    after = page.locator(f'#messages .msg.in[data-id="{msg_id}"] ~ .msg.out', has=bubble(page, reply))
    expect(after.first).to_be_visible(timeout=WAIT_MS)
    return after.first


def notified_worker(base: str, staff: list[dict], number: str) -> dict:
    """The worker whose WeCom chat got the new-petition notice for `number` (outbox is async)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        for person in staff:
            query = urllib.parse.urlencode({"kind": "staff", "id": person["id"], "after": 0})
            for m in get_json(f"{base}/api/sim/log?{query}")["messages"]:
                if m["direction"] == "out" and mentions(number).search(m["text"]):
                    return person
        time.sleep(0.2)
    raise AssertionError(f"no worker was notified about petition {number}")


def shots_dir(tmp_path: Path) -> Path:
    """Where the screenshots go: MINSHENG_SHOTS (to look at them), else the test's temp directory."""
    shots = Path(os.environ.get("MINSHENG_SHOTS", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def run_flow(page, base: str, shot: Path) -> None:
    people = get_json(f"{base}/api/sim/people")
    resident = people["residents"][0]
    group = next(g for g in people["groups"] if g["id"] == BUILDING)
    rid = f'resident:{resident["id"]}'

    page.goto(f"{base}/")
    expect(page.locator("#people [data-section]")).to_have_count(3, timeout=WAIT_MS)
    expect(page.locator("#people .section-title").first).to_contain_text("居民")

    # Resident, chosen with the keyboard: bind the address (typed, Enter), then report by chip.
    choose(page, rid, resident["name"], keyboard=True)
    expect(page.locator("#input")).to_be_focused()
    page.fill("#search", "")
    send(page, "我住3号楼2单元501", reply="3号楼")
    expect(page.locator(f'[data-person="{rid}"] .item-detail')).to_contain_text("3号楼", timeout=WAIT_MS)
    reported = send(page, "3号楼2单元门口的路灯不亮了", reply=NUMBER_RE, chip=True)
    number = NUMBER_RE.search(reported.inner_text()).group(1)

    # The building's worker: sees the new petition, lists, takes and resolves it.
    worker = notified_worker(base, people["staff"], number)
    choose(page, f'staff:{worker["id"]}', worker["name"])
    expect(page.locator("#messages .msg.out", has=bubble(page, mentions(number))).first).to_be_visible(timeout=WAIT_MS)
    send(page, "待办", reply=mentions(number), chip=True)
    send(page, f"接单 {number}", reply=mentions(number), chip=True)  # chip carries the latest number
    send(page, f"办结 {number} 已更换灯泡", reply=mentions(number))

    # Back to the resident: the resolution arrives by the outbox; rate it.
    choose(page, rid, resident["name"])
    resolved = page.locator("#messages .msg.out", has=bubble(page, "已更换灯泡"))
    expect(resolved.first).to_be_visible(timeout=WAIT_MS)
    send(page, "满意", reply=re.compile(r"感谢|谢谢"), chip=True)

    # The building group shows the public resolution notice.
    page.click(f'[data-group="{BUILDING}"]')
    expect(page.locator("#group-title")).to_contain_text(group["name"])
    notice = page.locator("#group-feed .msg", has=bubble(page, mentions(number))).filter(has_text="办结公示")
    expect(notice.first).to_be_visible(timeout=WAIT_MS)

    page.screenshot(path=str(shot), animations="disabled")
    assert shot.stat().st_size > 10_000
    assert "办结公示" in page.locator("#group-feed").inner_text()    # the note itself waits for staff
    chat_text = page.locator("#messages").inner_text()
    assert "满意" in chat_text and "已更换灯泡" in chat_text


def test_simulator_page_end_to_end(server_url, tmp_path):
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            run_flow(page, server_url, shots_dir(tmp_path) / "simulator.png")
            assert page_errors == []
        finally:
            browser.close()


# ---------- a newcomer on a phone (issue 14, point 11) ----------

PHONE = {"width": 390, "height": 844}


def back_to_list(page) -> None:
    page.click("#chat .back")
    expect(page.locator("#people")).to_be_visible()


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"


def run_phone_flow(page, base: str, shots: Path) -> None:
    page.goto(f"{base}/")
    expect(page.locator("#people")).to_be_visible(timeout=WAIT_MS)    # a phone opens on the list
    expect(page.locator("#chat")).to_be_hidden()
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "phone-list.png"), animations="disabled")

    # Add a resident of one's own: a name, a building, a room.
    page.click("#add-resident-open")
    page.fill("#new-name", "小林")
    page.select_option("#new-building", BUILDING)
    page.fill("#new-room", "1单元101")
    page.screenshot(path=str(shots / "phone-add-resident.png"), animations="disabled")
    page.click("#add-resident-submit")
    expect(page.locator("#chat-title")).to_have_text("小林", timeout=WAIT_MS)
    expect(page.locator("#people")).to_be_hidden()
    rid = page.evaluate("() => new URLSearchParams(location.hash.slice(1)).get('who')")
    assert rid.startswith("resident:sim-")
    send(page, "你好 👋 我是新搬来的🏠", reply="报事")
    no_sideways_scroll(page)

    # Staff register the new resident as an observer (社区观察团).
    back_to_list(page)
    choose(page, "staff:sun.hong", "孙红")
    send(page, "登记观察员 小林", reply="观察员")

    # The observer shares a location by a preset for a demo building, then says what is wrong there.
    back_to_list(page)
    choose(page, rid, "小林")
    page.click("#location-open")
    page.click("#location-presets .chip >> nth=0")
    expect(page.locator("#loc-lat")).not_to_have_value("")
    page.screenshot(path=str(shots / "phone-location.png"), animations="disabled")
    page.click("#location-send")
    expect(page.locator("#messages .msg.out", has=bubble(page, "附近楼栋")).first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#messages .msg.in", has=bubble(page, "📍")).first).to_be_visible(timeout=WAIT_MS)
    send(page, "这里路灯不亮了🌙", reply=NUMBER_RE)
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "phone-chat.png"), animations="disabled")

    # A message the server refuses: the chat says why, in Chinese, under the message (no raw JSON).
    why = "这条消息太长，没有发出去。请删短一些，或分几条发送。"
    page.route("**/api/sim/send", lambda route: route.fulfill(
        status=413, content_type="application/json", body=json.dumps({"error": why})))
    page.fill("#input", "一条发不出去的消息")
    page.press("#input", "Enter")
    expect(page.locator("#messages .notice")).to_have_text(why, timeout=WAIT_MS)
    assert "{" not in page.locator("#messages .notice").inner_text()
    page.unroute("**/api/sim/send")

    # The group, one tap away, then back to the list.
    page.click("#show-group")
    expect(page.locator("#group-panel")).to_be_visible()
    page.click("#group-back")
    expect(page.locator("#people")).to_be_visible()


def test_simulator_on_a_phone_adds_a_resident_and_sends_a_location(server_url, tmp_path):
    shots = shots_dir(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                    locale="zh-CN")
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            run_phone_flow(page, server_url, shots)
            assert page_errors == []
            assert (shots / "phone-chat.png").stat().st_size > 10_000
        finally:
            browser.close()
