"""bench/desk_data.py writes what the product would have written: epoch twins, a rollup equal to a
recount, events that follow the state table, and a realistic mix (a small store; the 1M one is a bench)."""

from __future__ import annotations

import sqlite3
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import desk_data

from storage import states


def test_a_small_desk_store_is_consistent(tmp_path: Path) -> None:
    out = tmp_path / "desk.db"
    summary = desk_data.generate(out, 3000, seed=5, end=datetime.fromisoformat("2026-12-01T18:00:00+08:00"),
                                 people=2000)
    assert summary["rollup_check"]["consistent"]
    assert summary["counts"]["petitions"] == 3000 and summary["counts"]["buildings"] == 400
    assert summary["grids"] == 20
    conn = sqlite3.connect(out)
    twins = " OR ".join(f"{twin} IS NOT unixepoch({col})" for twin, col in desk_data.TWINS.items())
    assert conn.execute(f"SELECT count(*) FROM petitions WHERE {twins}").fetchone()[0] == 0
    moves = conn.execute("SELECT DISTINCT from_state, to_state FROM events WHERE from_state IS NOT NULL"
                         " AND from_state <> to_state").fetchall()
    assert set(moves) <= states.TRANSITIONS
    last = dict(conn.execute("SELECT petition, to_state FROM events WHERE id IN"
                             " (SELECT max(id) FROM events GROUP BY petition)").fetchall())
    assert last == dict(conn.execute("SELECT id, state FROM petitions").fetchall())
    mix = dict(conn.execute("SELECT state, count(*) FROM petitions GROUP BY state").fetchall())
    assert mix["closed"] > 2000 and mix.get("merged", 0) > 50
    created = [r[0] for r in conn.execute("SELECT created_ts FROM petitions ORDER BY id")]
    assert created == sorted(created)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    notices = dict(conn.execute("SELECT target_kind, count(*) FROM outbox GROUP BY target_kind").fetchall())
    assert notices["staff"] > 2000 and notices["resident"] > 2000 and notices["group"] > 208 * 20
    assert conn.execute("SELECT count(*) FROM announcements").fetchone()[0] == 208
