"""The ledger workbook (issue 15, point 5): `minsheng export` writes sheets 台账, 办理过程, 统计 and 超期 with
Chinese headers and labels, real date cells, widths, a frozen header and an autofilter; a re-dispatched
and a reopened petition read coherently (the latest dispatch, the latest resolution); the CSV has a BOM."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook

from bot.config import Settings
from storage import people, petitions
from tests.storage.test_ledger_safety import export

OTHER = {"chen.jie": ("liu.fang", "刘芳"), "liu.fang": ("chen.jie", "陈杰")}


def number(reply: str) -> int:
    return int(re.search(r"编号 (\d+)", reply).group(1))


async def story(sim, clock) -> tuple[int, int, int]:
    """In 5号楼 (第二网格: 陈杰, 刘芳): A transferred to the other worker, not signed for again; B
    transferred and signed for; C resolved, then reopened by an unsatisfied resident."""
    pids = []
    texts = ("小区里的草坪好久没人修剪了", "楼道里堆满了杂物", "单元门口的路灯不亮了")
    for n, (who, text) in enumerate(zip(("wa", "wb", "wc"), texts, strict=True)):
        await sim.resident(who, f"我住5号楼2单元50{n + 1}")
        people.update_resident(sim.db, who, name=f"居民{n}", phone=f"1380000000{n}")
        pids.append(number(await sim.resident(who, text)))
        clock.advance(minutes=10)
        await sim.staff(petitions.get(sim.db, pids[-1])["worker"], f"接单 {pids[-1]}")
    a, b, c = pids
    clock.advance(hours=1)
    for pid in (a, b):
        first = petitions.get(sim.db, pid)["worker"]
        name = OTHER[first][1]
        assert name in await sim.staff(first, f"转 {pid} {name}")
    clock.advance(hours=1)
    await sim.staff(petitions.get(sim.db, b)["worker"], f"接单 {b}")
    assert "已办结" in await sim.staff(petitions.get(sim.db, c)["worker"], f"办结 {c} 已更换灯泡")
    clock.advance(hours=1)
    await sim.resident("wc", "不满意，灯还是不亮")
    return a, b, c


async def test_the_workbook(sim, clock, settings: Settings, tmp_path: Path) -> None:
    a, b, c = await story(sim, clock)
    path = tmp_path / "ledger.xlsx"
    export(settings, tmp_path, "--format", "xlsx", "--out", str(path))
    book = load_workbook(path)
    assert book.sheetnames == ["台账", "办理过程", "统计", "超期"]
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
        assert all(ws.column_dimensions[col].width for col in ("A", "B", "C"))
    ws = book["台账"]
    header = [cell.value for cell in ws[1]]
    assert "状态说明" not in header and "assigned" not in {r[header.index("状态")] for r in ws.iter_rows(min_row=2, values_only=True)}
    for label in ("编号", "反映人", "房号", "电话", "派单时间", "签收时限", "签收时间", "办结时限", "办结时间", "超期",
                  "重办次数", "不满意原因", "办理结果", "承办人", "状态", "类别"):
        assert label in header, label
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {a, b, c}
    created = ws.cell(2, header.index("登记时间") + 1)
    assert isinstance(created.value, datetime) and created.number_format == "yyyy-mm-dd hh:mm"
    ra, rb, rc = rows[a], rows[b], rows[c]
    for pid, row in ((a, ra), (b, rb)):                                 # the latest dispatch
        assert row["承办人"] == {"chen.jie": "陈杰", "liu.fang": "刘芳"}[petitions.get(sim.db, pid)["worker"]]
        assert row["派单时间"] > row["登记时间"] + timedelta(minutes=30)
    assert (ra["状态"], ra["签收时间"]) == ("已派单", None)                  # not signed since the transfer
    assert rb["签收时间"] >= rb["派单时间"] > rb["登记时间"]
    assert (rc["反映人"], rc["房号"], rc["电话"]) == ("居民2", "2单元503", "13800000002")
    assert (rc["办结时间"], rc["办理结果"]) == (None, None)                    # reopened: no resolution now
    assert (rc["评价"], rc["不满意原因"], rc["重办次数"]) == ("不满意", "灯还是不亮", 1)
    assert rc["类别"] == "路灯照明" and rc["状态"] == "已派单"
    assert ra["超期"] == "是"                                             # the real clock is long past
    events = [r for r in book["办理过程"].iter_rows(min_row=2, values_only=True)]
    assert [cell.value for cell in book["办理过程"][1]] == ["编号", "时间", "操作人", "原状态", "新状态", "说明"]
    assert any(e[0] == c and e[4] == "重新办理" for e in events)
    assert all(isinstance(e[1], datetime) for e in events)
    stat_header = [cell.value for cell in book["统计"][1]]
    stat = {(r[0], r[1]): dict(zip(stat_header, r, strict=True))
            for r in book["统计"].iter_rows(min_row=2, values_only=True)}
    assert stat[("全社区", "东杨社区")]["受理量"] == 3 and ("网格", "第二网格") in stat
    assert book["统计"].cell(2, stat_header.index("办结率") + 1).number_format == "0.00%"
    overdue = [r[0] for r in book["超期"].iter_rows(min_row=2, values_only=True)]
    assert a in overdue and overdue == sorted(overdue)


async def test_the_csv_starts_with_a_bom(sim, clock, settings: Settings, tmp_path: Path) -> None:
    a, b, c = await story(sim, clock)
    path = tmp_path / "ledger.csv"
    export(settings, tmp_path, "--format", "csv", "--out", str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [int(r["编号"]) for r in table] == [a, b, c]
    assert (table[2]["状态"], table[2]["状态说明"]) == ("assigned", "已派单")   # the code stays for other tools
    assert table[2]["办结时间"] == "" and table[2]["不满意原因"] == "灯还是不亮"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", table[0]["登记时间"])
    out = export(settings, tmp_path, "--format", "csv", "--out", "-")
    assert out.stdout.startswith("\ufeff编号,")
