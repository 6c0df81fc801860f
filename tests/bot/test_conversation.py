"""Conversation states are declared, stored as readable strings, expire, and can be cancelled."""

from __future__ import annotations

import json

from bot import conversation
from bot.conversation import StatesGroup


def _stored(sim, openid: str) -> dict:
    row = sim.db.execute("SELECT conv FROM residents WHERE openid = ?", [openid]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


async def test_a_question_waits_as_a_named_state_and_is_answered(sim) -> None:
    assert "哪" in await sim.resident("conv-1", "门口的路灯坏了好几天了")   # which building?
    assert _stored(sim, "conv-1")["state"] == "Report:building"
    assert "编号" in await sim.resident("conv-1", "3号楼")
    assert _stored(sim, "conv-1") == {}


async def test_an_old_question_expires(sim, clock) -> None:
    await sim.resident("conv-2", "门口的路灯坏了好几天了")
    clock.advance(hours=3)
    await sim.resident("conv-2", "3号楼")                 # hours later: not the answer to that question
    assert sim.db.execute("SELECT count(*) FROM petitions").fetchone()[0] == 0
    assert _stored(sim, "conv-2") == {}


async def test_any_state_can_be_cancelled(sim) -> None:
    await sim.resident("conv-3", "门口的路灯坏了好几天了")
    assert "取消" in await sim.resident("conv-3", "算了") or _stored(sim, "conv-3") == {}
    assert _stored(sim, "conv-3") == {}


def test_every_declared_state_has_a_readable_unique_name() -> None:
    import handlers.resident  # noqa: F401 - declares its states (and imports lifecycle's)

    names = list(StatesGroup.registry)
    assert "Report:building" in names and "Rating:reopen_reason" in names and "MyPetitions:which" in names
    assert all(":" in n and n.split(":")[0][0].isupper() for n in names)
    assert conversation.EXPIRY.total_seconds() > 0
