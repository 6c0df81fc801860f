"""The workbench's board (open emergencies, overdue petitions) and the ledger limited to a list's filters."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from storage import ledger, petitions
from storage.workorder_detail import merged, overdue, urgent_open
from storage.workorders import Filters, ids_where
from tests.storage.test_workorders import T0, db  # noqa: F401  (the fixture)


def test_the_board(db) -> None:  # noqa: F811
    assert [r["id"] for r in urgent_open(db, None)] == [2]
    assert urgent_open(db, frozenset({"g2"})) == []
    late, n = overdue(db, None, T0 + timedelta(hours=101))
    assert [r["id"] for r in late] == [1, 5] and n == 2         # the longest overdue first
    assert late[0]["signed"] is False and late[1]["signed"] is True
    assert overdue(db, frozenset({"g1"}), T0 + timedelta(hours=101))[1] == 1
    assert overdue(db, None, T0)[1] == 0


def test_merged_petitions(db) -> None:  # noqa: F811
    petitions.transition(db, 2, "merged", actor="s", now=T0, merged_into=5)
    assert [r["id"] for r in merged(db, 5)] == [2]


def test_the_ledger_of_a_filtered_list(db, tmp_path: Path) -> None:  # noqa: F811
    db.conn.execute("INSERT INTO residents (openid, channel, name, phone, room, created_at)"
                    " VALUES ('r2', 'sim', '王五', '13900000000', '301', ?)", (T0.isoformat(),))
    only = ids_where(db, Filters(family="all", category="lighting"), frozenset({"g2"}), T0)
    out = tmp_path / "l.csv"
    ledger.export(db, "csv", str(out), now=T0, only=only, phones=False)
    table = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert [r[0] for r in table[1:]] == ["3"]
    assert "电话" not in table[0] and "13900000000" not in out.read_text(encoding="utf-8-sig")   # no column at all
    assert table[1][ledger.columns(phones=False).index("resident")] == "王五"
    assert [e[0] for e in ledger.events(db, only=only)] == [3, 3, 3]
