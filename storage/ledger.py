"""The ledger (台账): one row per petition, to CSV or XLSX."""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Iterator

from sqlite_utils import Database

from storage import states

COLUMNS = [("id", "编号"), ("created_at", "登记时间"), ("community", "社区"), ("grid", "网格"),
           ("building", "楼栋"), ("category", "类别"), ("text", "内容"), ("state", "状态"),
           ("state_label", "状态说明"), ("urgent", "紧急"), ("worker", "承办人"),
           ("dispatched_at", "派单时间"), ("accepted_at", "签收时间"), ("resolved_at", "办结时间"),
           ("resolution", "办理结果"), ("rating", "评价"), ("reopen_count", "重办次数"),
           ("urge_count", "催办次数")]

_SQL = """SELECT p.*, b.name AS building_name, b.community AS community, g.name AS grid_name,
  s.name AS worker_name FROM petitions p LEFT JOIN buildings b ON b.id = p.building
  LEFT JOIN grids g ON g.id = p.grid LEFT JOIN staff s ON s.userid = p.worker ORDER BY p.id"""


def rows(db: Database) -> Iterator[list[object]]:
    for r in db.query(_SQL):
        r["state_label"] = states.label(r["state"])
        r["building"] = r["building_name"] or r["building"]
        r["grid"] = r["grid_name"] or r["grid"]
        r["worker"] = r["worker_name"] or r["worker"]
        r["urgent"] = "是" if r["urgent"] else ""
        yield [r.get(key) for key, _ in COLUMNS]


def export(db: Database, fmt: str, out: str) -> None:
    header = [name for _, name in COLUMNS]
    if fmt == "csv":
        with contextlib.ExitStack() as stack:
            stream = sys.stdout if out == "-" else stack.enter_context(
                open(out, "w", encoding="utf-8-sig", newline=""))
            writer = csv.writer(stream)
            writer.writerow(header)
            writer.writerows(rows(db))
        return
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(header)
    for row in rows(db):
        sheet.append(row)
    book.save(out)
