"""The households behind a petition, counted as followers join, always equal a full recount: whoever
follows, twice or from the same room, moves house, or is unmerged."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from storage import deliberation, people, petitions
from storage.db import Store

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ROOMS = st.sampled_from([("", ""), ("dy-1", "101"), ("dy-1", "102"), ("dy-3", "101"), ("dy-3", "")])
STEPS = st.lists(st.tuples(st.sampled_from(["follow", "move", "unmerge"]), st.integers(0, 7), ROOMS),
                 min_size=1, max_size=30)


def _recount(db, pid: int) -> int:
    return int(db.conn.execute(deliberation._HOUSEHOLDS, {"pid": pid}).fetchone()[0])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(STEPS)
# a follower from the petitioner's own room, counted once; then they move out: two households
@example([("move", 1, ("dy-1", "101")), ("follow", 1, ("", "")), ("move", 1, ("dy-3", "101"))])
def test_the_kept_count_equals_a_recount(store: Store, steps) -> None:
    db = store
    db.conn.execute("BEGIN IMMEDIATE")   # each example on a store as it was: its writes are rolled back
    try:
        _steps(db, steps)
    finally:
        db.conn.execute("ROLLBACK")


def _steps(db: Store, steps: list) -> None:
    for i in range(8):
        people.ensure_resident(db, f"o{i}", "oa", NOW)
    people.update_resident(db, "o0", building="dy-1", room="101")
    p = petitions.create(db, resident="o0", building="dy-1", grid="g1", category="lighting", text="灯坏了",
                         now=NOW)
    for n, (what, who, (building, room)) in enumerate(steps):
        if what == "follow":
            deliberation.add_follower(db, p["id"], f"o{who}", source=100 + who, now=NOW)
        elif what == "move":
            people.update_resident(db, f"o{who}", building=building or None, room=room or None)
        else:
            deliberation.remove_followers_from(db, p["id"], 100 + who)
        if n % 2 == 0 or what == "follow":   # a report asks it after each follow
            assert deliberation.households_raising(db, p["id"]) == _recount(db, p["id"])
    assert deliberation.households_raising(db, p["id"]) == _recount(db, p["id"])
