"""The `minsheng` command as a user runs it."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from bot.config import REPO_ROOT
from storage import accounts
from storage.db import open_db
from tests.engines import storage_toml

REPO = REPO_ROOT


def run(*args: str, stdin: str = "", cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def test_classify_text_and_json_lines() -> None:
    out = run("classify", stdin='3号楼门口的路灯不亮了\n{"text": "满意"}\n\n{"text": "社区电话多少"}\n')
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["intent"] == "report" and lines[0]["category"] == "lighting"
    assert lines[1]["intent"] == "rate" and lines[1]["category"] is None
    assert lines[2]["intent"] == "consult"
    assert all(0 <= x["confidence"] <= 1 and set(x) == {"text", "intent", "category", "confidence"}
               for x in lines)


def _config(tmp_path: Path, store_url: str) -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'{storage_toml(store_url, tmp_path)}[org]\nfile = "{REPO / "org.example.toml"}"\n', encoding="utf-8")
    return cfg


def _seed(cfg: Path) -> int:
    """File and close one petition through the real handlers, as the server would."""
    code = f"""
import asyncio, re
from bot.app import create_app
from bot.config import load_settings
from bot.keys import INTAKE
from bot.messages import Message
app = create_app(load_settings({str(cfg)!r}), deliver=False)
core = app[INTAKE]
async def main():
    n = 0
    async def say(role, who, text):
        nonlocal n
        n += 1
        return await core.answer(Message("sim", role, who, "text", text, key=f"k{{n}}"), None)
    await say("resident", "cli-r", "我住3号楼2单元501")
    r = await say("resident", "cli-r", "楼道灯坏了")
    pid = re.search(r"编号 (\\d+)", r[0]).group(1)
    await say("staff", "li.na", "接单 " + pid)
    await say("staff", "li.na", "办结 " + pid + " 已更换灯泡")
    await say("resident", "cli-r", "满意")
    print(pid)
print(asyncio.run(main()) or "")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                         check=True)
    return int(re.findall(r"\d+", out.stdout)[0])


def test_org_import_stats_and_export(tmp_path: Path, store_url: str) -> None:
    cfg = _config(tmp_path, store_url)
    roster = tmp_path / "more.csv"
    roster.write_text("kind,id,name,community,grid\nbuildings,dy-9,9号楼,dongyang,g2\n", encoding="utf-8")
    out = run("org", "import", str(roster), "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert "楼栋 1" in out.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("kind,id,name,community,grid\nbuildings,dy-10,10号楼,dongyang,g9\n", encoding="utf-8")
    out = run("org", "import", str(bad), "--config", str(cfg))
    assert out.returncode == 2 and "第 2 行：网格 g9 不存在" in out.stderr

    pid = _seed(cfg)
    out = run("export", "--format", "csv", "--out", "-", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(out.stdout.lstrip("\ufeff"))))
    assert [(r["编号"], r["状态"], r["状态说明"], r["楼栋"], r["类别"], r["评价"]) for r in rows] == [
        (str(pid), "closed", "已评价", "3号楼", "路灯照明", "满意")]

    xlsx = tmp_path / "ledger.xlsx"
    assert run("export", "--format", "xlsx", "--out", str(xlsx), "--config", str(cfg)).returncode == 0
    sheet = load_workbook(xlsx).active
    assert sheet.title == "台账" and sheet.max_row == 2 and sheet.cell(2, 1).value == pid
    out = run("export", "--format", "csv", "--out", "-", "--since", "2000-01-01", "--until", "2000-02-01",
              "--config", str(cfg))
    assert out.returncode == 0 and out.stdout.lstrip("\ufeff").count("\n") == 1   # the header alone
    # who took the residents' names and phones out is on record, as for the workbench's export button
    db = open_db(store_url)
    exports = [(r["actor"], r["subject"]) for r in accounts.audit_log(db, action="export")]
    db.conn.close()
    assert ("cli", str(xlsx)) in exports and ("cli", "-") in exports

    out = run("stats", "--json", "--config", str(cfg))
    numbers = json.loads(out.stdout)
    assert numbers["community"]["received"] == 1
    assert numbers["community"]["completion_rate"] == 1.0
    assert numbers["community"]["satisfaction_rate"] == 1.0
    assert numbers["grids"]["g1"]["received"] == 1


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[server]\nport = 'x'\n", encoding="utf-8")
    out = run("stats", "--config", str(cfg))
    assert out.returncode == 2 and "expected int" in out.stderr and "Traceback" not in out.stderr
