"""`minsheng db copy`: the demo community's store, after real use, moved from SQLite into an empty
PostgreSQL database: every petition and event arrives, the ledger reads the same before and after,
the rollups are rebuilt, and the next petition gets the next number. Skipped without PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storage import ledger, petitions, stats
from storage.db import open_db, transaction

ROOT = Path(__file__).resolve().parents[2]


async def _use(sim) -> None:
    """A few days of a community: reports, dispatch, progress, resolution, ratings, a merge, a return."""
    await sim.resident("c1", "我住3号楼2单元501")
    await sim.resident("c1", "单元门口的路灯不亮了")
    await sim.resident("c2", "我住3号楼1单元302")
    await sim.resident("c2", "3号楼单元门口那盏路灯坏了")
    await sim.resident("c3", "我住5号楼2单元601")
    await sim.resident("c3", "5号楼门口路面塌了一个坑")
    await sim.staff("li.na", "接单 1")
    await sim.staff("li.na", "进度 1 已联系物业")
    await sim.staff("li.na", "办结 1 已更换灯泡")
    await sim.resident("c1", "满意")
    await sim.staff("chen.jie", "退回 3 不是我们网格的")


def _copy(source: str, target: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "db", "copy", "--from", source, "--to", target],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


async def test_the_demo_store_moves_to_postgresql_whole(sim, clock, pg_database: str, tmp_path: Path) -> None:
    if getattr(sim.db, "dialect", "sqlite") != "sqlite":
        pytest.skip("the copy starts from SQLite; this run puts the test apps on PostgreSQL")
    await _use(sim)
    path = sim.db.conn.execute("PRAGMA database_list").fetchone()[2]
    source = open_db(path)
    before = list(ledger.rows(source, now=clock.now()))
    events_before = source.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    numbers_before = stats.summary(source, now=clock.now())
    ledger.export(source, "csv", str(tmp_path / "before.csv"), now=clock.now())
    source.conn.close()
    assert len(before) == 3 and events_before > 6

    done = _copy(f"sqlite:///{path}", pg_database)
    assert done.returncode == 0, done.stderr
    assert "已复制" in done.stdout

    target = open_db(pg_database)
    assert list(ledger.rows(target, now=clock.now())) == before          # the ledger reads the same
    ledger.export(target, "csv", str(tmp_path / "after.csv"), now=clock.now())
    assert (tmp_path / "after.csv").read_bytes() == (tmp_path / "before.csv").read_bytes()
    assert target.conn.execute("SELECT count(*) FROM events").fetchone()[0] == events_before
    assert stats.summary(target, now=clock.now()) == numbers_before       # rollups rebuilt, not copied
    with transaction(target):
        new = petitions.create(target, resident="c9", building="dy-1", grid="g1", category="road", text="x",
                               now=clock.now())
    assert new["id"] == max(row[0] for row in before) + 1                 # numbering goes on
    again = _copy(path, pg_database)                                      # into a store in use: refused
    assert again.returncode == 2 and "无法复制" in again.stderr
    assert target.conn.execute("SELECT count(*) FROM petitions").fetchone()[0] == len(before) + 1
    target.conn.close()
