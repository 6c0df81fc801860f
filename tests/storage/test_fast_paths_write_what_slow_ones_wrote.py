"""Round 4 fast paths say exactly what the slow ones said.

- the in-memory organisation follows every write (org.store, raw SQL, a rolled-back savepoint);
- `petitions.create_merged` writes the same row and events as `create` + `transition(merged)`;
- `transition` returns the row as stored, with or without RETURNING;
- `dispatch` starting the clock in its own UPDATE stores what `deadlines.start` stored;
- `open_load` for some workers equals counting every open petition;
(the Deliverer's batched pass: tests/test_faults.py and bench/bench_fanout.py check the robot limit
per key and that every row is delivered once.)
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FakeClock
from bot.config import Settings, load_settings
from handlers import deadlines, lifecycle
from handlers.context import Ctx
from language.intents import default_matcher
from storage import org, petitions
from storage.db import open_db, transaction


def _settings(store_url: str) -> Settings:
    return load_settings(overrides={"storage": {"url": store_url if "://" in store_url else f"sqlite:///{store_url}"}},
                         environ={})


def _db(store_url: str):
    cfg = _settings(store_url)
    db = open_db(cfg.storage.target)
    org.load_file(db, cfg.org_path)
    return cfg, db


def test_org_snapshot_follows_every_write(store_url: str) -> None:
    _cfg, db = _db(store_url)
    first = org.buildings(db)
    assert first == list(db.query("SELECT * FROM buildings ORDER BY community, grid, id"))
    bid = first[0]["id"]
    db.conn.execute("UPDATE buildings SET name = 'X楼' WHERE id = ?", (bid,))  # a raw write
    assert org.building(db, bid)["name"] == "X楼"
    # a write undone with its savepoint, then another write: never the undone snapshot again
    with transaction(db):
        try:
            with transaction(db):
                db.conn.execute("UPDATE buildings SET name = 'Y楼' WHERE id = ?", (bid,))
                assert org.building(db, bid)["name"] == "Y楼"
                raise RuntimeError
        except RuntimeError:
            pass
        assert org.building(db, bid)["name"] == "X楼"
        db.conn.execute("UPDATE buildings SET name = 'Z楼' WHERE id = ?", (bid,))
    assert org.building(db, bid)["name"] == "Z楼"
    # copies: a caller changing a row does not change the organisation
    org.building(db, bid)["name"] = "changed"
    org.buildings(db)[0]["grid"] = "changed"
    assert org.building(db, bid)["name"] == "Z楼"
    assert org.buildings(db) == list(db.query("SELECT * FROM buildings ORDER BY community, grid, id"))
    gid = org.grids(db)[0]["id"]
    assert org.grid_workers(db, gid) == [r["userid"] for r in db.query(
        "SELECT userid FROM grid_workers WHERE grid = ? ORDER BY userid", (gid,))]
    db.conn.execute("DELETE FROM grid_workers WHERE grid = ?", (gid,))
    assert org.grid_workers(db, gid) == []
    assert org.staff_list(db) == list(db.query("SELECT * FROM staff ORDER BY role, userid"))
    assert org.community_staff(db) == [r["userid"] for r in db.query(
        "SELECT userid FROM staff WHERE role IN ('staff', 'admin') ORDER BY userid")]


def test_create_merged_equals_create_then_transition(store_url: str) -> None:
    _cfg, db = _db(store_url)
    now = FakeClock().now()
    with transaction(db):
        target = petitions.create(db, resident="oA", building="dy-1", grid=None, category="lighting",
                                  text="路灯坏了", now=now)
        slow = petitions.create(db, resident="oB", building="dy-1", grid="g1", category="lighting",
                                text="路灯不亮", now=now)
        slow = petitions.transition(db, slow["id"], "merged", actor="system", now=now,
                                    merged_into=target["id"], note="merged")
        fast = petitions.get(db, petitions.create_merged(
            db, resident="oB", building="dy-1", grid="g1", category="lighting", text="路灯不亮", now=now,
            into=target["id"], actor="system", note="merged"))
    assert fast is not None
    assert {k: v for k, v in fast.items() if k != "id"} == {k: v for k, v in slow.items() if k != "id"}
    def events(pid: int) -> list[tuple]:
        return [(e["at"], e["actor"], e["from_state"], e["to_state"], e["note"]) for e in petitions.history(db, pid)]

    assert events(slow["id"]) == events(fast["id"])


def test_transition_returns_the_row_as_stored(store_url: str) -> None:
    _cfg, db = _db(store_url)
    now = FakeClock().now()
    with transaction(db):
        p = petitions.create(db, resident="oA", building="dy-1", grid="g1", category="lighting",
                             text="路灯坏了", now=now)
        for target, changes in (("assigned", {"worker": "w1"}), ("accepted", {}), ("in_progress", {}),
                                ("resolved", {"resolution": "ok"})):
            got = petitions.transition(db, p["id"], target, actor="x", now=now + timedelta(minutes=1), **changes)
            assert got == petitions.get(db, p["id"])


def test_dispatch_starts_the_clock_like_deadlines_start(store_url: str) -> None:
    cfg, db = _db(store_url)
    clock = FakeClock()
    ctx = Ctx(db, clock.now(), cfg, default_matcher())
    b = org.buildings(db)[0]
    with transaction(db):
        a = petitions.create(db, resident="oA", building=b["id"], grid=b["grid"], category="lighting",
                             text="路灯坏了", now=ctx.now)
        c = petitions.create(db, resident="oC", building=b["id"], grid=b["grid"], category="lighting",
                             text="路灯坏了", now=ctx.now)
        fast = lifecycle.dispatch(ctx, a)
        worker = fast["worker"]
        slow = petitions.transition(db, c["id"], "assigned", actor="system", now=ctx.now, worker=worker,
                                    note=worker)
        slow = deadlines.start(ctx, slow)
    drop = {"id", "resident", "created_ts"}
    assert {k: v for k, v in fast.items() if k not in drop} == {k: v for k, v in slow.items() if k not in drop}
    assert fast["sign_deadline"] and fast["sign_deadline_ts"]


def test_open_load_counts_only_the_workers_asked(store_url: str) -> None:
    _cfg, db = _db(store_url)
    now = FakeClock().now()
    with transaction(db):
        for i, worker in enumerate(["w1", "w2", "w2", "w3", "w1", "w2"]):
            p = petitions.create(db, resident=f"o{i}", building="dy-1", grid="g1", category="other",
                                 text="x", now=now)
            petitions.transition(db, p["id"], "assigned", actor="s", now=now, worker=worker)
            if i == 5:
                petitions.transition(db, p["id"], "cancelled", actor="s", now=now)
    assert petitions.open_load(db, ["w2", "w1", "w9"]) == {"w2": 2, "w1": 2, "w9": 0}
    assert petitions.open_load(db, []) == {}
