"""Rosters as offices keep them: CSV saved by Excel on Chinese Windows, and every problem in Chinese."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from storage import org
from storage.db import Store
from tests.engines import storage_toml

HEADER = "kind,id,userid,name,role,community,grid,head,workers,group,aliases,lat\r\n"
GOOD = HEADER + (
    "社区,c1,,东杨社区,,,,,,,,\r\n"
    "人员,,w1,李娜,worker,c1,,,,,,\r\n"
    "人员,,h1,王强,head,c1,,,,,,\r\n"
    "网格,g1,,第一网格,,c1,,h1,w1,,,\r\n"
    "楼栋,b3,,3号楼,,c1,g1,,,robot:K3,3栋、三号楼,34.7512\r\n"
    ",,,,,,,,,,,\r\n"            # Excel keeps empty rows at the end of a sheet
)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_excel_csv_in_every_encoding_an_office_saves(tmp_path: Path, encoding: str, store: Store) -> None:
    f = tmp_path / "名册.csv"
    f.write_bytes(GOOD.encode(encoding))
    db = store
    counts = org.load_file(db, f)
    assert counts["buildings"] == 1 and counts["staff"] == 2
    b = org.building(db, "b3")
    assert b["name"] == "3号楼" and b["lat"] == pytest.approx(34.7512)
    assert org.grid(db, "g1")["name"] == "第一网格" and org.staff_member(db, "w1")["name"] == "李娜"


def test_every_problem_named_by_its_row_in_chinese_and_nothing_imported(tmp_path: Path, store: Store) -> None:
    bad = GOOD.replace(",,,,,,,,,,,\r\n", "") + (
        "楼栋,b9,,9号楼,,c1,g9,,,,,\r\n"          # row 7
        "楼栋,b8,,8号楼,,c1,g1,,,,,北边\r\n"       # row 8
        "房子,x1,,某处,,,,,,,,\r\n"               # row 9
        "人员,,w2,某人,组长,c1,,,,,,\r\n"          # row 10
        "楼栋,b3,,3号楼,,c1,g1,,,群,,\r\n")        # row 11
    f = tmp_path / "名册.csv"
    f.write_bytes(bad.encode("gbk"))
    db = store
    with pytest.raises(org.OrgError) as err:
        org.load_file(db, f)
    lines = str(err.value).splitlines()
    assert "6 处问题" in lines[0] and "什么都没有导入" in lines[0]
    assert lines[1:] == [
        "· 第 7 行：网格 g9 不存在",
        "· 第 8 行：纬度“北边”不是数字",
        "· 第 9 行：类型“房子”认不出，应填 社区、人员、网格 或 楼栋",
        "· 第 10 行：角色“组长”不对，应填 worker（网格员）、head（网格长）、staff（工作人员）或 admin（管理员）",
        "· 第 11 行：编号 b3 重复了",
        "· 第 11 行：楼栋群“群”的写法不对，应填 robot:密钥、appchat:群聊ID、fanout 或 sim",
    ]
    assert org.buildings(db) == [] and org.grids(db) == []   # nothing half-imported


def test_cli_import_lists_all_problems_and_fails(tmp_path: Path, store_url: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'{storage_toml(store_url, tmp_path)}[org]\nfile = "{REPO_ROOT / "org.example.toml"}"\n', encoding="utf-8")
    roster = tmp_path / "楼栋.csv"
    roster.write_bytes("kind,id,name,community,grid\r\n楼栋,dy-9,9号楼,dongyang,g2\r\n".encode("gbk"))
    ok = subprocess.run([sys.executable, "-m", "bot", "org", "import", str(roster), "--config", str(cfg)],
                        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "楼栋 1" in ok.stdout and "buildings" not in ok.stdout
    bad = tmp_path / "坏.csv"
    bad.write_bytes("kind,id,name,community,grid\r\n楼栋,dy-10,10号楼,dongyang,g9\r\n楼栋,dy-11,,dongyang,g2\r\n"
                    .encode("gbk"))
    out = subprocess.run([sys.executable, "-m", "bot", "org", "import", str(bad), "--config", str(cfg)],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, check=False)
    assert out.returncode == 2
    assert "第 2 行：网格 g9 不存在" in out.stderr and "第 3 行：没有填名称" in out.stderr
    assert "Traceback" not in out.stderr
