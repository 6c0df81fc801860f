"""The workbench's weekly rollup (migration 150) and the sign-for time that never goes negative.

- `desk_weekly` and `desk_weekly_categories` hold, after any run of writes (inserts, updates of any
  watched column, deletes), what a full recount of the petitions gives, week by week;
- a petition dispatched again after its sign-for (reopened, transferred, re-dispatched) is dispatched and
  not signed for until it is signed for again, and its sign-for time runs from that dispatch;
- the map counts open, urgent and overdue petitions per building through an index, never a scan.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import TZ
from storage import desk_stats, org, petitions, stats
from storage.db import Store, transaction

ROOT = Path(__file__).resolve().parents[2]
_TIMES = ("dispatched_at", "accepted_at", "resolved_at", "closed_at", "clock_started_at", "sign_deadline",
          "resolve_deadline")


def _recount(db) -> tuple[dict[tuple, tuple], dict[tuple, int]]:
    """desk_weekly and desk_weekly_categories as a full recount of every petition would give them."""
    sums = ", ".join(f"sum({s})" for s in desk_stats.SUMS)
    weekly = {r[:3]: r[3:] for r in db.conn.execute(
        f"SELECT week, g, w, {sums} FROM petition_stat_rows GROUP BY week, g, w")}
    categories = {r[:3]: r[3] for r in db.conn.execute(
        "SELECT week, g, c, count(*) FROM petition_stat_rows GROUP BY week, g, c")}
    return weekly, categories


def _held(db) -> tuple[dict[tuple, tuple], dict[tuple, int]]:
    weekly = {r[:3]: r[3:] for r in db.conn.execute(f"SELECT week, g, w, {', '.join(desk_stats.SUMS)}"
                                                    " FROM desk_weekly") if r[3] != 0}
    categories = {r[:3]: r[3] for r in db.conn.execute("SELECT week, g, c, received FROM desk_weekly_categories")
                  if r[3] != 0}
    return weekly, categories


def _random_value(rnd: random.Random, column: str, start: datetime) -> object:
    if column in _TIMES or column == "created_at":
        moment = start + timedelta(hours=rnd.randrange(0, 2000))
        choices: list[object] = [moment.isoformat(timespec="seconds"),
                                 moment.astimezone(UTC).isoformat(timespec="seconds")]
        return rnd.choice(choices + (["not a time"] if column == "created_at" else [None, ""]))
    return {
        "state": lambda: rnd.choice(["submitted", "assigned", "accepted", "in_progress", "resolved", "closed",
                                     "cancelled", "merged", "escalated", "rejected", "returned"]),
        "worker": lambda: rnd.choice(["li.na", "chen.jie", "", None]),
        "grid": lambda: rnd.choice(["g1", "g2", "", None]),
        "category": lambda: rnd.choice(["road", "noise", "other"]),
        "rating": lambda: rnd.choice(["satisfied", "basic", "unsatisfied", "unrated", None]),
    }.get(column, lambda: rnd.randrange(3))()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_weekly_rollup_agrees_with_a_full_recount_after_any_writes(store: Store, seed: int) -> None:
    db = store
    rnd = random.Random(seed)
    start = datetime(2026, 1, 28, 20, 0, tzinfo=TZ)
    ids = []
    with transaction(db):
        for i in range(80):
            p = petitions.create(db, resident=f"r{i % 9}", building=None, grid=rnd.choice(["g1", "g2", None]),
                                 category=rnd.choice(["road", "noise"]), text="x", now=start + timedelta(hours=9 * i))
            ids.append(p["id"])
    for _ in range(300):
        column = rnd.choice([*_TIMES, "state", "worker", "grid", "category", "rating", "reopen_count",
                             "created_at"])
        with transaction(db):
            db.conn.execute(f"UPDATE petitions SET {column} = ? WHERE id = ?",
                            (_random_value(rnd, column, start), rnd.choice(ids)))
    with transaction(db):
        db.conn.execute("DELETE FROM petitions WHERE id = ?", (ids[5],))
    assert _held(db) == _recount(db)


def _flow(db, now: datetime) -> int:
    """Dispatched at `now`, signed for 30 minutes later, resolved, rated 不满意 and reopened (the clock
    starts again at the reopening, as handlers.lifecycle.rate does)."""
    p = petitions.create(db, resident="r1", building="dy-3", grid="g1", category="road", text="x", now=now)
    petitions.transition(db, p["id"], "assigned", actor="s", now=now, worker="li.na",
                         clock_started_at=now.isoformat(timespec="seconds"),
                         sign_deadline=(now + timedelta(hours=2)).isoformat(timespec="seconds"))
    petitions.transition(db, p["id"], "accepted", actor="li.na", now=now + timedelta(minutes=30))
    petitions.transition(db, p["id"], "resolved", actor="li.na", now=now + timedelta(hours=3))
    later = now + timedelta(days=1)
    petitions.transition(db, p["id"], "assigned", actor="r1", now=later, rating="unsatisfied", reopen_count=1,
                         clock_started_at=later.isoformat(timespec="seconds"),
                         sign_deadline=(later + timedelta(hours=2)).isoformat(timespec="seconds"))
    return int(p["id"])


def test_a_petition_dispatched_again_after_its_sign_for_waits_for_a_new_one(store: Store) -> None:
    db = store
    now = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    with transaction(db):
        pid = _flow(db, now)
    numbers = stats.summary(db, now=now + timedelta(days=1, minutes=5))["community"]
    # before migration 150: signed on time, in -23.5 hours on average
    assert (numbers["response_rate"], numbers["avg_sign_for_hours"]) == (0.0, None)
    with transaction(db):
        petitions.transition(db, pid, "accepted", actor="li.na", now=now + timedelta(days=1, minutes=15))
        petitions.transition(db, pid, "assigned", actor="li.na", now=now + timedelta(days=1, hours=1),
                             worker="chen.jie")   # a transfer after the sign-for: the clock keeps running
    numbers = stats.summary(db, now=now + timedelta(days=1, hours=2))["community"]
    assert (numbers["response_rate"], numbers["avg_sign_for_hours"]) == (0.0, None)
    with transaction(db):
        petitions.transition(db, pid, "accepted", actor="chen.jie", now=now + timedelta(days=1, hours=1, minutes=30))
    numbers = stats.summary(db, now=now + timedelta(days=1, hours=2))["community"]
    assert (numbers["response_rate"], numbers["avg_sign_for_hours"]) == (1.0, 0.5)
    week = desk_stats.numbers(db, None, date(2026, 11, 23), date(2026, 11, 30), TZ, now + timedelta(days=2))
    assert week["community"]["avg_sign_for_hours"] == 0.5 and week["weeks"] == [("2026-11-23", 1, 0)]


def test_the_map_counts_open_urgent_and_overdue_petitions_per_building(store: Store) -> None:
    db = store
    with transaction(db):
        org.load_file(db, ROOT / "org.example.toml")
    now = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    with transaction(db):
        for i, (building, urgent) in enumerate([("dy-3", True), ("dy-3", False), ("dy-1", False), ("dy-5", False)]):
            p = petitions.create(db, resident=f"r{i}", building=building, grid="g2" if building == "dy-5" else "g1",
                                 category="road", text="x", now=now, urgent=urgent)
            petitions.transition(db, p["id"], "assigned", actor="s", now=now, worker="li.na",
                                 sign_deadline=(now + timedelta(hours=i + 1)).isoformat(timespec="seconds"))
        petitions.transition(db, p["id"], "cancelled", actor="r3", now=now)
    got = {b["id"]: (b["open"], b["urgent"], b["overdue"])
           for b in desk_stats.building_map(db, frozenset({"g1"}), now + timedelta(hours=1, minutes=30))}
    assert got == {"dy-1": (1, 0, 0), "dy-2": (0, 0, 0), "dy-3": (2, 1, 1)}
    everything = desk_stats.building_map(db, None, now)
    assert [b["name"] for b in everything] == ["1号楼", "2号楼", "3号楼", "5号楼", "6号楼"]
    assert all(b["lat"] is not None for b in everything)   # the demo org places every building
    if db.dialect != "sqlite":
        return   # the rest is SQLite's alone: its query plan with INDEXED BY
    plan = " ".join(r[-1] for r in db.conn.execute("EXPLAIN QUERY PLAN " + desk_stats._PER_BUILDING, {"now": 0}))
    assert "COVERING INDEX petitions_open_by_building_state" in plan, plan
