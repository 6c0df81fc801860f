"""An instance on PostgreSQL loses its connections (the server restarted, a failover, a network cut):
the next message is still handled, /healthz says whether the database can be reached, and a page
still opens. Skipped unless MINSHENG_TEST_PG is set (tests/pgfixtures.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import create_app
from bot.config import load_settings
from bot.keys import INTAKE
from tests.conftest import Sim

psycopg = pytest.importorskip("psycopg")


def cut_connections(url: str) -> int:
    """Terminate every other connection to this database, as a server restart would."""
    with psycopg.connect(url, autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


@pytest.fixture
async def pg_sim(aiohttp_client, pg_database: str, tmp_path: Path, clock) -> Sim:
    settings = load_settings(overrides={"storage": {"path": str(tmp_path / "t.db"), "url": pg_database}}, environ={})
    app = create_app(settings, clock=clock, deliver=False)
    return Sim(await aiohttp_client(app), app)


async def test_messages_are_handled_after_the_database_dropped_every_connection(pg_sim: Sim,
                                                                               pg_database: str) -> None:
    first = await pg_sim.resident("r-pg", "3号楼2单元501，楼道灯不亮了")
    assert re.search(r"编号 \d+", first)
    assert cut_connections(pg_database) >= 2          # the writer's and the journal's at least
    again = await pg_sim.resident("r-pg2", "5号楼1单元101，电梯坏了")
    assert re.search(r"编号 \d+", again), again
    res = await pg_sim.client.get("/healthz")
    assert res.status == 200 and (await res.json())["ok"]


async def test_healthz_says_when_the_database_cannot_be_reached(pg_sim: Sim, pg_database: str) -> None:
    assert (await pg_sim.client.get("/healthz")).status == 200
    conn = pg_sim.app[INTAKE].db.conn
    conn.url = pg_database.replace(pg_database.rsplit("/", 1)[1].split("?")[0], "no_such_database")
    cut_connections(pg_database)
    res = await pg_sim.client.get("/healthz")
    body = await res.json()
    assert res.status == 503 and any(e.startswith("store:") for e in body["errors"]), body


async def test_a_message_the_database_cannot_take_is_not_acknowledged_and_its_retry_is_filed(
        pg_sim: Sim, pg_database: str) -> None:
    core = pg_sim.app[INTAKE]
    await pg_sim.resident("r-down", "我住3号楼2单元503")
    gone = pg_database.replace(pg_database.rsplit("/", 1)[1].split("?")[0], "no_such_database")
    core.journal.url = core.db.conn.url = gone
    cut_connections(pg_database)
    res = await pg_sim.client.post("/api/sim/send", json={"kind": "resident", "id": "r-down", "text": "楼道灯坏了"})
    assert res.status == 500                          # not journalled: not acknowledged, sent again
    assert core.backlog == 0
    core.journal.url = core.db.conn.url = pg_database  # the database is back
    again = await pg_sim.resident("r-down", "楼道灯坏了")
    assert re.search(r"编号 \d+", again), again
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM petitions WHERE resident = 'r-down'").fetchone()[0] == 1
