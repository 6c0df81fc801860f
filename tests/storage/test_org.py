"""Loading the organisation: TOML, CSV and XLSX rosters, and clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.config import DEMO_ORG
from storage import org
from storage.db import Store

HEADER = "kind,id,userid,name,role,community,grid,head,workers,group,aliases\n"
GOOD = HEADER + (
    "communities,c1,,东杨社区,,,,,,,\n"
    "staff,,w1,李娜,worker,c1,,,,,\n"
    "staff,,h1,王强,head,c1,,,,,\n"
    "grids,g1,,第一网格,,c1,,h1,w1,,\n"
    "buildings,b3,,3号楼,,c1,g1,,,robot:K3,3栋;三号楼\n"
)


def test_demo_org_loads(store: Store) -> None:
    db = store
    counts = org.load_file(db, DEMO_ORG)
    assert counts["buildings"] >= 3 and counts["grids"] >= 2
    assert org.grid_workers(db, "g1") == ["li.na"]
    assert org.building(db, "dy-3")["grid"] == "g1"


def test_csv_roster(tmp_path: Path, store: Store) -> None:
    f = tmp_path / "roster.csv"
    f.write_text(GOOD, encoding="utf-8-sig")
    db = store
    org.load_file(db, f)
    assert org.building(db, "b3")["grp"] == "robot:K3"
    assert org.grid(db, "g1")["head"] == "h1"


def test_xlsx_roster_one_sheet_per_kind(tmp_path: Path, store: Store) -> None:
    book = Workbook()
    book.remove(book.active)
    sheets = {
        "communities": [["id", "name"], ["c1", "东杨社区"]],
        "staff": [["userid", "name", "role"], ["w1", "李娜", "worker"], ["h1", "王强", "head"]],
        "grids": [["id", "community", "name", "head", "workers"], ["g1", "c1", "第一网格", "h1", "w1"]],
        "buildings": [["id", "community", "grid", "name"], ["b3", "c1", "g1", "3号楼"]],
    }
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for r in rows:
            ws.append(r)
    f = tmp_path / "roster.xlsx"
    book.save(f)
    db = store
    org.load_file(db, f)
    assert org.grid_workers(db, "g1") == ["w1"]


@pytest.mark.parametrize(("row", "problem"), [
    ("buildings,b9,,9号楼,,c1,g7,,,,\n", "第 7 行：网格 g7 不存在"),
    ("buildings,b9,,9号楼,,c1,,,,,\n", "第 7 行：没有填所属网格"),
    ("buildings,b3,,3号楼,,c1,g1,,,,\n", "第 7 行：编号 b3 重复了"),
    ("grids,g2,,第二网格,,c1,,nobody,,,\n", "第 7 行：网格长 nobody 不在人员名单里"),
    ("staff,,w2,某人,boss,c1,,,,,\n", "第 7 行：角色“boss”不对"),
])
def test_bad_roster_is_refused_with_a_clear_reason(tmp_path: Path, row: str, problem: str, store: Store) -> None:
    f = tmp_path / "roster.csv"
    f.write_text(GOOD + row, encoding="utf-8")
    db = store
    with pytest.raises(org.OrgError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        org.load_file(db, f)
    assert org.buildings(db) == []  # nothing half-imported


def test_unreadable_files(tmp_path: Path) -> None:
    garbled = tmp_path / "garbled.csv"
    garbled.write_bytes(HEADER.encode() + b"communities,c1,,\xff\xff,,,,,,,\n")  # neither UTF-8 nor GB18030
    with pytest.raises(org.OrgError, match="文字编码"):
        org.parse_file(garbled)
    with pytest.raises(org.OrgError, match="找不到名册文件"):
        org.parse_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[grids]\n", encoding="utf-8")
    with pytest.raises(org.OrgError, match="不是有效的 TOML"):
        org.parse_file(bad)
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a zip")
    with pytest.raises(org.OrgError, match="打不开这个 Excel"):
        org.parse_file(fake)
