"""Shared fixtures: settings on a temp store, a fake clock, the real app on a test server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import create_app
from bot.clock import FakeClock
from bot.config import Settings, load_settings
from bot.keys import DELIVERER, INTAKE
from bot.logsafe import LIMITED
from tests.engines import app_store_url, engine, new_store, new_store_url, pg_template, store, store_url  # noqa: F401 (tests/engines.py)
from tests.pgfixtures import pg_database, pg_url  # noqa: F401 (PostgreSQL fixtures: tests/pgfixtures.py)

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
CALLBACKS = SHARED / "wechat-callbacks"


@pytest.fixture(autouse=True)
def _fresh_log_limits() -> None:
    """Each test starts with no refusal lines counted against the log's rate limit (bot/logsafe.py)."""
    LIMITED.reset()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """On a SQLite file in the temp dir; with MINSHENG_TEST_ENGINE=pg, on a fresh PostgreSQL database
    (tests/engines.py `app_store_url`), where the intake journal is the `intake` table."""
    storage = {"path": str(tmp_path / "t.db"), "url": app_store_url(request)}
    return load_settings(overrides={"storage": storage}, environ={})


class Sim:
    """Drives the simulator channel: the real router, handlers, store and outbox."""

    def __init__(self, client, app) -> None:
        self.client = client
        self.app = app

    async def say(self, kind: str, who: str, text: str) -> list[str]:
        res = await self.client.post("/api/sim/send", json={"kind": kind, "id": who, "text": text})
        assert res.status == 200, await res.text()
        body = await res.json()
        await self.app[DELIVERER].drain()
        return [r["text"] for r in body["replies"]]

    async def resident(self, who: str, text: str) -> str:
        return "\n".join(await self.say("resident", who, text))

    async def staff(self, who: str, text: str) -> str:
        return "\n".join(await self.say("staff", who, text))

    async def log(self, kind: str, who: str) -> list[str]:
        res = await self.client.get("/api/sim/log", params={"kind": kind, "id": who})
        return [m["text"] for m in (await res.json())["messages"] if m["direction"] == "out"]

    @property
    def db(self):
        return self.app[INTAKE].db


@pytest.fixture
async def sim(aiohttp_client, settings, clock) -> Sim:
    app = create_app(settings, clock=clock, deliver=False)
    client = await aiohttp_client(app)
    return Sim(client, app)
