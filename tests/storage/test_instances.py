"""What keeps two instances on one PostgreSQL database from doing one thing twice (storage/instances.py,
storage/intake_rows.py, storage/outbox.py claims), each shown with two connections (two instances) and
the first one's transaction held open while the second tries. On SQLite every lock is granted at once.

Skipped unless MINSHENG_TEST_PG is set (tests/pgfixtures.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.clock import TZ
from storage import instances, intake_rows, outbox, petitions
from storage.db import open_db
from storage.states import TransitionError
from storage.writer import begin, commit, rollback

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=TZ)


@pytest.fixture
def two(pg_database: str) -> Iterator[tuple[Any, Any]]:
    a, b = open_db(pg_database), open_db(pg_database)
    yield a, b
    a.conn.close()
    b.conn.close()


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    return thread, out


def test_one_instance_runs_the_clock_at_a_time(two: tuple[Any, Any]) -> None:
    a, b = two
    begin(a)
    assert instances.clock_turn(a)
    begin(b)
    assert not instances.clock_turn(b)    # A's tick covers this moment: B skips it, without waiting
    commit(b)
    commit(a)
    begin(b)
    assert instances.clock_turn(b)        # A's tick is over: the next one may be B's
    commit(b)


def test_a_sender_is_handled_by_one_instance_at_a_time(two: tuple[Any, Any]) -> None:
    a, b = two
    begin(a)
    instances.lock_sender(a, "o-resident-1")

    def other() -> str:
        begin(b)
        instances.lock_sender(b, "o-resident-1")
        commit(b)
        return "handled"
    thread, out = in_thread(other)
    thread.join(0.3)
    assert thread.is_alive() and out == []     # waits for A's transaction
    begin_other = open_db(a.conn.url)
    try:
        begin(begin_other)
        instances.lock_sender(begin_other, "o-resident-2")   # another resident does not wait
        commit(begin_other)
    finally:
        begin_other.conn.close()
    commit(a)
    thread.join(5)
    assert out == ["handled"]


def test_outbox_rows_are_claimed_by_one_instance(two: tuple[Any, Any]) -> None:
    a, b = two
    ids = [outbox.enqueue(a, "staff", f"worker{i}", f"第{i}条", NOW) for i in range(6)]
    begin(a)
    mine = outbox.claim(a, NOW, "A", NOW + timedelta(minutes=1), limit=4)
    theirs = outbox.claim(b, NOW, "B", NOW + timedelta(minutes=1))   # A's claim is not committed yet
    commit(a)
    assert [r["id"] for r in mine] == ids[:4] and [r["id"] for r in theirs] == ids[4:]
    assert outbox.claim(b, NOW, "B", NOW + timedelta(minutes=1)) == []
    for row in theirs:
        outbox.mark_sent(b, row["id"], NOW, "wecom", row["target_id"])
    # A dies without sending: once its claim lapses the rows are due again, for B
    later = NOW + timedelta(minutes=2)
    assert outbox.lapse(b, later) == 4
    assert [r["id"] for r in outbox.claim(b, later, "B", later + timedelta(minutes=1))] == ids[:4]


def test_a_robot_limit_is_counted_across_instances(two: tuple[Any, Any]) -> None:
    a, b = two
    first = outbox.enqueue(a, "group", "b1", "公告一", NOW)
    second = outbox.enqueue(a, "group", "b1", "公告二", NOW)
    begin(a)
    outbox.claim(a, NOW, "A", NOW + timedelta(minutes=1), limit=1)
    assert outbox.sent_since(a, "robot", "KEY", NOW - timedelta(minutes=1), NOW) == []
    outbox.sending_to(a, first, "robot", "KEY")

    def count_in_b() -> int:
        begin(b)
        assert [r["id"] for r in outbox.claim(b, NOW, "B", NOW + timedelta(minutes=1))] == [second]
        n = len(outbox.sent_since(b, "robot", "KEY", NOW - timedelta(minutes=1), NOW))
        commit(b)
        return n
    thread, out = in_thread(count_in_b)
    thread.join(0.3)
    assert thread.is_alive()                 # B waits while A counts and plans for this robot
    commit(a)
    thread.join(5)
    assert out == [1]                        # and then sees A's send on its way


def test_a_journalled_message_is_handled_once_whichever_instance_holds_it(two: tuple[Any, Any]) -> None:
    a, b = two
    record = ("oa:42", "o-r", '{"kind": "text"}')
    assert intake_rows.journal(a, "A", 30, NOW, [record]) == {"oa:42"}
    assert intake_rows.journal(b, "B", 30, NOW, [record]) == set()    # a retry reaching B
    assert intake_rows.mark_late(b, ["oa:42"]) == {"oa:42"}
    assert intake_rows.take_over(b, "B", 30) == []                     # A's lease holds
    begin(b)
    assert intake_rows.take(b, "oa:42", "o-r", "B") == (False, False)  # not B's to handle
    commit(b)
    begin(a)
    assert intake_rows.take(a, "oa:42", "o-r", "A") == (True, True)    # A's; its replies go as messages
    commit(a)
    assert a.conn.execute("SELECT count(*) FROM intake").fetchone()[0] == 0


def test_the_rows_of_an_instance_that_stopped_renewing_are_taken_over(two: tuple[Any, Any]) -> None:
    a, b = two
    intake_rows.journal(a, "A", 30, NOW, [("oa:1", "o-r", "{}"), ("oa:2", "o-s", "{}")])
    assert intake_rows.renew(a, "A", 30) == 2
    a.conn.execute("UPDATE intake SET lease_until = 0 WHERE key = 'oa:1'")   # as if A died long ago
    assert intake_rows.take_over(b, "B", 30) == [("oa:1", "{}")]
    begin(a)
    assert intake_rows.take(a, "oa:1", "o-r", "A") == (False, False)  # A came back too late: B has it
    commit(a)
    begin(b)
    assert intake_rows.take(b, "oa:1", "o-r", "B") == (True, True)
    commit(b)
    assert intake_rows.release(a, "A") == 1                            # A stops: oa:2 is free at once
    assert [key for key, _ in intake_rows.take_over(b, "B", 30)] == ["oa:2"]


def test_on_sqlite_every_lock_is_granted_at_once() -> None:
    db = open_db(":memory:")
    begin(db)
    assert instances.clock_turn(db) and not instances.shared(db)
    instances.lock_sender(db, "o-r")
    instances.lock_destination(db, "robot", "KEY")
    commit(db)


def test_two_instances_moving_one_petition_apply_one_move(two: tuple[Any, Any]) -> None:
    """A resident's 撤回 on A and a worker's 办结 on B, at the same moment: the second waits for the
    first and is then refused (the state it started from is gone), never both applied."""
    a, b = two
    pid = petitions.create(a, resident="o-r", building="dy-1", grid="g1", category="lighting",
                           text="楼道灯坏了", now=NOW)["id"]
    petitions.transition(a, pid, "assigned", actor="system", now=NOW, worker="li.na")
    begin(a)
    petitions.transition(a, pid, "cancelled", actor="o-r", now=NOW)

    def resolve_in_b() -> str:
        begin(b)
        try:
            petitions.transition(b, pid, "resolved", actor="li.na", now=NOW)
        except TransitionError:
            rollback(b)
            return "refused"
        commit(b)
        return "resolved"
    thread, out = in_thread(resolve_in_b)
    thread.join(0.3)
    assert thread.is_alive()                 # waits for A's move
    commit(a)
    thread.join(5)
    assert out == ["refused"]
    assert petitions.get(a, pid)["state"] == "cancelled"
    moves = [e["to_state"] for e in petitions.history(a, pid)]
    assert moves.count("cancelled") == 1 and "resolved" not in moves


def test_a_row_whose_handling_failed_is_given_up_for_any_instance(two: tuple[Any, Any]) -> None:
    a, _ = two
    intake_rows.journal(a, "A", 30, NOW, [("oa:7", "o-r", "{}")])
    assert intake_rows.take_over(a, "A", 30) == []          # A holds it, its lease runs
    assert intake_rows.abandon(a, ["oa:7"], "A") == 1       # the database refused every attempt
    assert intake_rows.take_over(a, "A", 30) == [("oa:7", "{}")]   # A's next sweep takes it again


def test_claimed_rows_not_tried_are_given_back(two: tuple[Any, Any]) -> None:
    a, b = two
    ids = [outbox.enqueue(a, "staff", "li.na", f"第{i}条", NOW) for i in range(3)]
    outbox.claim(a, NOW, "A", NOW + timedelta(minutes=1))
    assert outbox.release(b, "B", ids[1:]) == 0             # only the claimer gives its rows back
    assert outbox.release(a, "A", ids[1:]) == 2
    assert [r["id"] for r in outbox.claim(b, NOW, "B", NOW + timedelta(minutes=1))] == ids[1:]
