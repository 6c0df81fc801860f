"""Round 7: fewer and cheaper statements per report, and the same rows as before.

- migration 122's view `petition_stat_rows` gives what migration 060's gave, on every kind of row;
- its epoch triggers rewrite a row only when a twin is stale, and `create`/`transition` leave none;
- `transition` (the event first, in one statement that reads the state) and `note` write the same rows
  and events as reading the state first did, and nothing when the move is refused;
- `chat.log_exchange` writes the rows `log_chat` wrote, one by one;
- the topic of a petition is found through an index; temporary storage is in memory;
- organisation lookups inside `org.pinned` read the version stamp once, and follow every write.

The rows are compared on both engines (tests/engines.py); the statement counts (SQLite's trace
callback), the views of SQLite's migrations, query plans, PRAGMA and the stamp pinning (SQLite's
TEMP trigger; on PostgreSQL every lookup reads the stamp) are SQLite's alone.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import TZ, FakeClock
from bot.config import load_settings
from storage import chat, org, petitions, states
from storage.db import MIGRATIONS, Store, _statements, open_db, transaction


def _db(tmp_path: Path, name: str = "t.db"):
    return open_db(tmp_path / name)


def _statements_run(db, fn) -> list[str]:
    """The statements `fn` runs (a trigger's run repeats its statement's text in the trace: one)."""
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        fn()
    finally:
        db.conn.set_trace_callback(None)
    return [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]


# --- the view ---------------------------------------------------------------------------------------

def _view_of(migration: str, name: str) -> str:
    text = (MIGRATIONS / migration).read_text(encoding="utf-8")
    view = next(s for s in _statements(text) if s.startswith("CREATE VIEW petition_stat_rows"))
    return view.replace("CREATE VIEW petition_stat_rows", f"CREATE TEMP VIEW {name}", 1)


def _view_of_060() -> str:
    return _view_of("060_stats_rollup.sql", "stat_rows_060")


def test_stat_rows_view_gives_what_060s_gave(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.conn.execute(_view_of_060())
    db.conn.execute(_view_of("122_cheaper_petition_writes.sql", "stat_rows_122"))  # 150 redefines the live one
    rnd = random.Random(12)
    start = datetime(2026, 1, 28, 20, 0, tzinfo=TZ)

    def moment() -> str | None:
        at = start + timedelta(hours=rnd.randrange(0, 3000))
        return rnd.choice([at.isoformat(timespec="seconds"), at.astimezone(UTC).isoformat(timespec="seconds"),
                           None, "", "not a time"])

    with transaction(db):
        for i in range(400):
            db.conn.execute(
                "INSERT INTO petitions (resident, grid, worker, category, text, state, created_at, updated_at,"
                " dispatched_at, accepted_at, resolved_at, clock_started_at, sign_deadline, resolve_deadline,"
                " rating, reopen_count) VALUES (?, ?, ?, ?, 'x', ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?)",
                (f"r{i}", rnd.choice(["g1", "", None]), rnd.choice(["w1", "", None]), rnd.choice(["a", "b"]),
                 rnd.choice(list(states.STATES)), moment() or "", moment(), moment(), moment(), moment(),
                 moment(), moment(), rnd.choice(["satisfied", "basic", "unsatisfied", "unrated", "", None]),
                 rnd.randrange(3)))
    old = db.conn.execute("SELECT * FROM stat_rows_060 ORDER BY id").fetchall()
    new = db.conn.execute("SELECT * FROM stat_rows_122 ORDER BY id").fetchall()
    assert len(new) == 400 and new == old


# --- epoch twins ------------------------------------------------------------------------------------

def _stale(db) -> int:
    pairs = [("created_at", "created_ts"), ("dispatched_at", "dispatched_ts"), ("accepted_at", "accepted_ts"),
             ("resolved_at", "resolved_ts"), ("closed_at", "closed_ts"), ("clock_started_at", "clock_started_ts"),
             ("sign_deadline", "sign_deadline_ts"), ("resolve_deadline", "resolve_deadline_ts")]
    where = " OR ".join(f"{twin} IS DISTINCT FROM unixepoch({iso})" for iso, twin in pairs)
    return int(db.conn.execute(f"SELECT count(*) FROM petitions WHERE {where}").fetchone()[0])


def test_create_writes_its_twin_and_the_trigger_only_fixes_stale_ones(tmp_path: Path) -> None:
    db = _db(tmp_path)
    # the search index of migration 141 writes FTS5 segments of its own on every insert: not counted here
    db.conn.execute("DROP TRIGGER petition_words_insert")
    now = FakeClock().now()
    with transaction(db):
        before = db.conn.total_changes
        p = petitions.create(db, resident="oA", building="dy-1", grid="g1", category="road", text="坑", now=now)
        # the petition, its event and one row of each rollup (060; 150 has two): no epoch twin to rewrite
        assert db.conn.total_changes - before == 5
        assert p == petitions.get(db, p["id"]) and p["created_ts"] == int(now.timestamp())
        before = db.conn.total_changes
        db.conn.execute("INSERT INTO petitions (resident, category, text, state, created_at, updated_at)"
                        " VALUES ('oB', 'road', 'x', 'submitted', ?, ?)", (now.isoformat(), now.isoformat()))
        assert db.conn.total_changes - before == 5   # a writer without twins: the trigger writes them
        db.conn.execute("UPDATE petitions SET created_ts = 1 WHERE id = ?", (p["id"],))  # a stale twin
        got = petitions.transition(db, p["id"], "assigned", actor="s", now=now, worker="w1",
                                   sign_deadline=(now + timedelta(hours=2)).isoformat())
        assert got == petitions.get(db, p["id"]) and got["created_ts"] == int(now.timestamp())
    assert _stale(db) == 0


@pytest.mark.parametrize("deadline", ["2026-03-01T10:00:00+08:00", None, "", "soon", 5, 2.5])
def test_transition_returns_the_row_as_stored_whatever_the_time(store: Store, deadline: object) -> None:
    db = store
    now = FakeClock().now()
    with transaction(db):
        p = petitions.create(db, resident="oA", building="dy-1", grid="g1", category="road", text="坑", now=now)
        got = petitions.transition(db, p["id"], "assigned", actor="s", now=now, worker="w1",
                                   resolve_deadline=deadline)
        assert got == petitions.get(db, p["id"])
        got = petitions.transition(db, p["id"], "accepted", actor="w1", now=now + timedelta(minutes=5))
        assert got == petitions.get(db, p["id"])
    assert _stale(db) == 0


# --- transition and note: the rows of reading the state first -----------------------------------------

def _transition_as_before(db, pid: int, target: str, *, actor: str, now: datetime, note: str | None = None,
                          **changes: object) -> dict:
    """`petitions.transition` as round 6 wrote it (the state read first, the event after the UPDATE)."""
    found = db.conn.execute("SELECT state FROM petitions WHERE id = ?", (pid,)).fetchone()
    if found is None:
        raise KeyError(pid)
    states.check(found[0], target)
    fields = {"state": target, "updated_at": petitions.iso(now), **changes}
    stamp = petitions._STAMPS.get(target)
    if stamp and stamp not in changes:
        fields[stamp] = petitions.iso(now)
    db.conn.execute(f"UPDATE petitions SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                    (*fields.values(), pid))
    petitions.add_event(db, pid, actor, found[0], target, note, now)
    return petitions.get(db, pid) or {}


_STEPS = [("assigned", {"worker": "w1"}), ("accepted", {}), ("in_progress", {}), ("escalated", {}),
          ("assigned", {"worker": "w2", "sign_deadline": "2026-02-01T09:00:00+08:00"}),
          ("resolved", {"resolution": "ok"}), ("assigned", {}), ("resolved", {}), ("closed", {"rating": "basic"})]


def test_transition_and_note_write_what_reading_the_state_first_wrote(new_store: Callable[[], Store]) -> None:
    fast_db, slow_db = new_store(), new_store()
    clock = FakeClock()
    out = []
    for db, move in ((fast_db, petitions.transition), (slow_db, _transition_as_before)):
        now = clock.now()
        with transaction(db):
            p = petitions.create(db, resident="oA", building="dy-1", grid="g1", category="road", text="坑", now=now)
            rows = []
            for i, (target, changes) in enumerate(_STEPS):
                rows.append(move(db, p["id"], target, actor=f"a{i}", now=now + timedelta(hours=i), note=f"n{i}",
                                 **changes))
                if i == 2:
                    petitions.note(db, p["id"], actor="w1", now=now + timedelta(hours=i), text="在修")
        events = db.conn.execute("SELECT * FROM events ORDER BY id").fetchall()
        tables = [db.conn.execute(f"SELECT * FROM {t}").fetchall() for t in ("petitions", "petition_rollup")]
        out.append((rows, events, tables))
    assert out[0] == out[1]


def _everything(db: Store) -> list[list[tuple]]:
    return [db.conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("petitions", "events")]


def test_a_refused_transition_or_note_writes_nothing(store: Store) -> None:
    db = store
    now = FakeClock().now()
    with transaction(db):
        p = petitions.create(db, resident="oA", building="dy-1", grid="g1", category="road", text="坑", now=now)
    before = _everything(db)
    with transaction(db):
        with pytest.raises(states.TransitionError):
            petitions.transition(db, p["id"], "closed", actor="x", now=now)
        with pytest.raises(states.TransitionError):
            petitions.transition(db, p["id"], "no such state", actor="x", now=now)
        with pytest.raises(KeyError):
            petitions.transition(db, p["id"] + 1, "assigned", actor="x", now=now)
        with pytest.raises(KeyError):
            petitions.note(db, p["id"] + 1, actor="x", now=now, text="?")
    assert _everything(db) == before
    assert [e["to_state"] for e in petitions.history(db, p["id"])] == ["submitted"]


def test_a_transition_is_two_statements_and_create_merged_two(tmp_path: Path) -> None:
    db = _db(tmp_path)
    db.conn.execute("DROP TRIGGER petition_words_insert")   # FTS5's own statements (migration 141): not counted
    now = FakeClock().now()
    with transaction(db):
        p = petitions.create(db, resident="oA", building="dy-1", grid="g1", category="road", text="坑", now=now)
        assert len(_statements_run(db, lambda: petitions.transition(
            db, p["id"], "assigned", actor="s", now=now, worker="w1", sign_deadline=petitions.iso(now)))) == 2
        assert len(_statements_run(db, lambda: petitions.create(
            db, resident="oB", building="dy-1", grid="g1", category="road", text="坑", now=now))) == 2
        assert len(_statements_run(db, lambda: petitions.create_merged(
            db, resident="oC", building="dy-1", grid="g1", category="road", text="坑", now=now, into=p["id"],
            actor="system", note="merged"))) == 2


# --- the chat log -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("said", "replies"), [("3号楼电梯坏了", ["已登记"]), ("hi", ["a", "b", "c"]), ("x", []),
                                               (None, ["欢迎"]), (None, [])])
def test_log_exchange_writes_what_log_chat_wrote(new_store: Callable[[], Store], said: str | None,
                                                replies: list[str]) -> None:
    one_by_one, together = new_store(), new_store()
    now = FakeClock().now()
    for db in (one_by_one, together):
        chat.log_chat(db, "resident", "oX", "out", "earlier", now - timedelta(minutes=1))
    if said is not None:
        chat.log_chat(one_by_one, "resident", "oA", "in", said, now)
    for reply in replies:
        chat.log_chat(one_by_one, "resident", "oA", "out", reply, now)
    chat.log_exchange(together, "resident", "oA", said, replies, now)
    assert (together.conn.execute("SELECT * FROM chat_log ORDER BY id").fetchall()
            == one_by_one.conn.execute("SELECT * FROM chat_log ORDER BY id").fetchall())


# --- an index, the temporary store --------------------------------------------------------------------

def test_the_topic_of_a_petition_is_found_through_an_index(tmp_path: Path) -> None:
    db = _db(tmp_path)
    plan = " ".join(str(r) for r in db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM topics WHERE petition = ?", (1,)))
    assert "topics_petition" in plan


def test_temporary_storage_is_in_memory(tmp_path: Path) -> None:
    db = _db(tmp_path)
    assert db.conn.execute("PRAGMA temp_store").fetchone()[0] == 2   # MEMORY


# --- the organisation, pinned for one message -----------------------------------------------------------

def _stamp_reads(db, fn) -> int:
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        fn()
    finally:
        db.conn.set_trace_callback(None)
    return sum(s == "SELECT stamp FROM org_version WHERE id = 1" for s in seen)


def test_pinned_lookups_read_the_stamp_once_and_follow_every_write(tmp_path: Path) -> None:
    cfg = load_settings(overrides={"storage": {"path": str(tmp_path / "o.db")}}, environ={})
    db = open_db(cfg.storage.path)
    org.load_file(db, cfg.org_path)
    bid = org.buildings(db)[0]["id"]
    gid = org.building(db, bid)["grid"]

    def lookups() -> None:
        org.buildings(db)
        org.building(db, bid)
        org.grid_workers(db, gid)
        org.staff_list(db)

    assert _stamp_reads(db, lookups) == 4                    # no transaction: every lookup reads it
    with transaction(db):
        assert _stamp_reads(db, lookups) == 4                # not pinned: as before
        with org.pinned(db):
            assert _stamp_reads(db, lookups) == 1
            db.conn.execute("UPDATE buildings SET name = 'X楼' WHERE id = ?", (bid,))   # a raw write
            assert org.building(db, bid)["name"] == "X楼"
            try:
                with transaction(db):                           # undone with its savepoint
                    db.conn.execute("UPDATE buildings SET name = 'Y楼' WHERE id = ?", (bid,))
                    assert org.building(db, bid)["name"] == "Y楼"
                    raise RuntimeError
            except RuntimeError:
                pass
            assert org.building(db, bid)["name"] == "X楼"
            db.conn.execute("DELETE FROM grid_workers WHERE grid = ?", (gid,))
            assert org.grid_workers(db, gid) == []
            assert _stamp_reads(db, lookups) == 4            # once it wrote, every lookup reads it
    with transaction(db), org.pinned(db):
        assert _stamp_reads(db, lookups) == 1
        assert org.grid_workers(db, gid) == [] and org.building(db, bid)["name"] == "X楼"
    other = sqlite3.connect(cfg.storage.path, isolation_level=None)   # another process, say `org import`
    other.execute("UPDATE buildings SET name = 'Z楼' WHERE id = ?", (bid,))
    other.close()
    with transaction(db), org.pinned(db):
        assert org.building(db, bid)["name"] == "Z楼"
    with org.pinned(db):                                       # outside a transaction: not pinned
        assert _stamp_reads(db, lookups) == 4
