"""No internal identifier, code or English reaches the people who read the bot (issue 14, point 9): a
scenario through the simulator, the weekly report, the CLI's stats text and the public page are read
for anything that looks like a userid, a grid id, a code, a negative zero or an ISO time."""

from __future__ import annotations

import io
import re
import tomllib

from bot.config import REPO_ROOT
from bot.keys import INTAKE
from handlers import bulletin
from storage import stats
from tests.bot.test_cli import _config, _seed, run

_CATALOGUE = REPO_ROOT / "catalogue"
_CODES = sorted({*tomllib.loads((_CATALOGUE / "texts.toml").read_text(encoding="utf-8"))["category"],
                 *tomllib.loads((_CATALOGUE / "texts.states.toml").read_text(encoding="utf-8"))["state"],
                 "suggestion", "wish", "voting", "decided", "open", "satisfied", "basic", "unsatisfied",
                 "unrated", "proactive", "request", "pending", "answered", "communities", "staff", "grids",
                 "buildings", "residents", "resolve", "sign"})
LEAKS = re.compile(r"[a-z]+\.[a-z]+"                      # a WeCom userid: li.na
                   r"|(?<![A-Za-z0-9])g\d+(?![0-9])"        # a grid id: g1
                   r"|(?<![A-Za-z])(?:" + "|".join(_CODES) + r")(?![A-Za-z_])"
                   r"|-0\.0|T\d\d:|\d{4}-\d\d-\d\dT")       # negative zero, ISO times


def leaks(text: str) -> list[str]:
    return [m.group(0) for m in LEAKS.finditer(text)]


def number(reply: str) -> int:
    return int(re.search(r"编号 (\d+)", reply).group(1))


async def test_a_whole_story_reads_without_ids_or_codes(sim) -> None:
    read: list[str] = []

    async def resident(text: str) -> str:
        read.append(await sim.resident("sim-plain", text))
        return read[-1]

    async def staff(who: str, text: str) -> str:
        read.append(await sim.staff(who, text))
        return read[-1]

    await resident("我住3号楼2单元501")
    a = number(await resident("楼道灯不亮了"))
    assert "李娜" in await resident(f"查询 {a}")            # who has it, by name: not li.na
    assert "李娜" in await staff("li.na", f"查 {a}")
    await staff("li.na", f"接单 {a}")
    await staff("li.na", f"办结 {a} 已更换灯泡")
    await resident("满意")
    assert "满意" in await resident(f"查询 {a}")
    await resident("建议在小区门口装个公告屏")
    topic = int(re.search(r"议题 (\d+)", await staff("sun.hong", "议题 3号楼门口空地改停车位")).group(1))
    assert "讨论中" in await staff("sun.hong", f"议题 {topic}")
    await staff("sun.hong", f"发起投票 议题{topic} 截止 12-30 18:00 范围 3号楼")
    assert "投票中" in await staff("sun.hong", f"议题 {topic}")
    await resident("投票 1")
    b = number(await resident("楼下垃圾桶满了没人清"))
    await staff("li.na", f"退回 {b} 不归我们管")
    await staff("sun.hong", f"查 {b}")
    for kind, who in (("resident", "sim-plain"), ("staff", "li.na"), ("staff", "sun.hong"), ("group", "dy-3")):
        read += await sim.log(kind, who)
    report = bulletin.render(sim.db, stats.summary(sim.db), "…", "…")
    assert "路灯照明" in report and "第一网格" in report
    read.append(report)
    found = {text: leaks(text) for text in read if leaks(text)}
    assert found == {}


def test_weekly_numbers_never_show_a_negative_zero() -> None:
    assert bulletin._hours(-0.001) == bulletin._hours(0.0) and "-" not in bulletin._hours(-0.04)
    assert bulletin._pct(-0.0) == "0.0%"


async def test_public_page_dates_read_as_an_office_writes_them(sim) -> None:
    await sim.resident("sim-pub", "我住5号楼2单元601")
    await sim.resident("sim-pub", "申请公开 小区停车费这两年的收支情况")
    await sim.staff("sun.hong", "主动公开 2026年度社区惠民资金使用情况：共计8万元，用于加装扶手和路灯")
    page = await (await sim.client.get("/public")).text()
    assert "惠民资金" in page and re.search(r"\d{4}年\d\d月\d\d日 \d\d:\d\d", page)
    body = re.sub(r"<[^>]+>|\{[^}]*\}", " ", page.split("<body>", 1)[1])
    assert leaks(body) == []


def test_cli_stats_text_names_grids_workers_and_categories(tmp_path, store_url: str) -> None:
    cfg = _config(tmp_path, store_url)
    _seed(cfg)
    out = run("stats", "--since", "2020-01-01", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert "第一网格" in out.stdout and "李娜" in out.stdout and "路灯照明" in out.stdout
    assert "2020年01月01日" in out.stdout
    assert leaks(out.stdout) == []


async def test_over_long_message_is_answered_in_chinese_in_the_chat(sim) -> None:
    limit = sim.app[INTAKE].settings.limits.max_text_chars
    reply = await sim.resident("sim-long", "楼道灯不亮了" + "。" * limit)
    assert f"前 {limit} 个字" in reply
    res = await sim.client.post("/api/sim/send", json={"kind": "resident", "id": "sim-long", "text": "灯坏了",
                                                       "omitted": 5000})
    assert "后面的 5000 个字" in "".join(r["text"] for r in (await res.json())["replies"])


async def test_a_post_too_big_for_the_server_is_explained_in_chinese(sim) -> None:
    big = b'{"kind": "resident", "id": "sim-big", "text": "' + "灯".encode() * 400_000 + b'"}'
    res = await sim.client.post("/api/sim/send", data=io.BytesIO(big), headers={"Content-Type": "application/json"})
    assert res.status == 413
    assert "太长" in (await res.json())["error"]
