"""The one state machine: allowed transitions, families, and the append-only event log."""

from __future__ import annotations

import sqlite3

import pytest

from bot.clock import FakeClock
from storage import petitions, states
from storage.db import Store


def test_every_state_has_a_chinese_label_and_family() -> None:
    assert set(states.STATES) == {"submitted", "assigned", "accepted", "in_progress", "resolved", "closed",
                                  "returned", "escalated", "merged", "cancelled", "rejected"}
    for code in states.STATES:
        assert states.family(code) in ("open", "fixed", "closed")
        assert states.label(code)


def test_transitions_only_between_known_states() -> None:
    for a, b in states.TRANSITIONS:
        assert a in states.STATES and b in states.STATES
    assert not any(a in ("closed", "cancelled", "rejected") for a, _ in states.TRANSITIONS)
    assert {b for a, b in states.TRANSITIONS if a == "merged"} == {"submitted"}  # only 取消合并


@pytest.mark.parametrize(("a", "b"), [("submitted", "closed"), ("closed", "assigned"), ("cancelled", "assigned"),
                                      ("resolved", "accepted"), ("submitted", "resolved")])
def test_forbidden_transitions_raise(a: str, b: str) -> None:
    with pytest.raises(states.TransitionError):
        states.check(a, b)


def test_transition_logs_events_and_log_is_append_only(store: Store) -> None:
    db = store
    clock = FakeClock()
    p = petitions.create(db, resident="o1", building=None, grid=None, category="lighting", text="灯坏了",
                         now=clock.now())
    petitions.transition(db, p["id"], "assigned", actor="sys", now=clock.advance(minutes=1), worker="w")
    petitions.transition(db, p["id"], "accepted", actor="w", now=clock.advance(minutes=30))
    with pytest.raises(states.TransitionError):
        petitions.transition(db, p["id"], "closed", actor="w", now=clock.now())
    events = petitions.history(db, p["id"])
    assert [(e["from_state"], e["to_state"]) for e in events] == [
        (None, "submitted"), ("submitted", "assigned"), ("assigned", "accepted")]
    row = petitions.get(db, p["id"])
    assert row["state"] == "accepted" and row["dispatched_at"] and row["accepted_at"]
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE events SET note = 'x'")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM events")


def test_state_lists_in_sql_are_declared_families() -> None:
    """Every state an SQL statement (migrations, indexes, storage queries) names is a state of the table,
    and every list of them is one of the families of storage/states.py: a new state cannot be
    forgotten in one partial index or query."""
    import re
    from pathlib import Path

    from storage import states

    root = Path(states.__file__).resolve().parent
    sources = [*sorted((root / "migrations").rglob("*.sql")), *sorted(root.glob("*.py"))]  # both engines
    families = {frozenset(f) for f in states.FAMILIES.values()}
    named = re.compile(r"(?:state|to_state|from_state)\s*(?:=|<>|!=|NOT IN|IN)\s*\(?\s*('[a-z_]+'(?:\s*,\s*'[a-z_]+')*)")
    seen = 0
    for path in sources:
        for found in named.finditer(path.read_text(encoding="utf-8")):
            codes = re.findall(r"'([a-z_]+)'", found.group(1))
            seen += 1
            assert set(codes) <= set(states.STATES), (path.name, codes)
            if len(codes) > 1:
                assert frozenset(codes) in families, (path.name, codes)
    assert seen >= 5
