"""The fast paths of the performance work say exactly what the slow ones said.

- callback fields read from the checked tree equal what wechatpy's parser (xmltodict) reads;
- group commit: items share one COMMIT, a failing one is undone alone (and a failing message kept);
- migration 060: epoch columns and the stats rollup stay equal to the petitions, whatever is written.

The store-backed checks run on both engines (tests/engines.py `store`); query plans are SQLite's alone.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wechatpy import parse_message
from wechatpy.enterprise import parse_message as parse_wecom

from bot.app import ROUTERS
from bot.channels.callback import message_fields
from bot.channels.xmlguard import BadInput, check
from bot.clock import TZ, FakeClock
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.intake import Intake
from bot.messages import Message
from language.intents import default_matcher
from storage import petitions
from storage.db import Store, transaction
from storage.writer import Writer


def _reference_fields(xml: str, parser) -> dict[str, str]:
    """message_fields as it was: wechatpy parses every document (raw fields when it cannot)."""
    from bot.channels.xmlguard import fields

    try:
        data = parser(xml)._data
        if isinstance(data, dict):
            out = {k: v if isinstance(v, str) else ("" if v is None else str(v)) for k, v in data.items()}
            if "Event" in out:
                raw = fields(xml)
                out.update({k: raw[k] for k in ("Event", "EventKey") if k in raw})
            return out
    except Exception:  # noqa: BLE001 - the old boundary, reproduced
        return fields(xml)
    return fields(xml)


_TAGS = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event",
                         "EventKey", "Recognition", "AgentID", "Location_X"])
_VALUES = st.sampled_from(["", " ", "text", "event", " text ", "subscribe", "SUBSCRIBE", "qrscene_12",
                           "scanbarcode|x", "device_event", "unsubscribe", " 3号楼 灯坏了 ", "12345", "click"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    parts = []
    for tag, value in draw(st.lists(st.tuples(_TAGS, _VALUES), max_size=7)):
        style = draw(st.sampled_from(["cdata", "plain", "empty", "nested", "attr"]))
        if style == "cdata":
            parts.append(f"<{tag}><![CDATA[{value}]]></{tag}>")
        elif style == "plain":
            parts.append(f"<{tag}>{value}</{tag}>")
        elif style == "empty":
            parts.append(f"<{tag}/>")
        elif style == "nested":
            parts.append(f"<{tag}><Inner>{value}</Inner></{tag}>")
        else:
            parts.append(f'<{tag} a="1">{value}</{tag}>')
    sep = draw(st.sampled_from(["", "\n", " "]))
    return "<xml>" + sep + sep.join(parts) + sep + "</xml>"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents())
# an event without Event: WeCom's parser raises (raw fields), the Official Account's does not
@example("<xml><ToUserName><![CDATA[ ]]></ToUserName><MsgType><![CDATA[event]]></MsgType></xml>")
def test_fields_from_the_checked_tree_equal_wechatpys(xml: str) -> None:
    try:
        doc = check(xml)
    except BadInput:
        return
    assert message_fields(doc, parse_message) == _reference_fields(xml, parse_message)
    assert message_fields(doc, parse_wecom) == _reference_fields(xml, parse_wecom)


# --- group commit ------------------------------------------------------------------------------

@pytest.fixture
def core(tmp_path: Path, store: Store) -> Intake:
    from bot.config import load_settings

    cfg: Settings = load_settings(overrides={"storage": {"path": str(tmp_path / "g.db")}}, environ={})
    db = store
    db.conn.execute("CREATE TABLE IF NOT EXISTS scratch (n INTEGER)")
    c = Intake(Writer(db), Dispatcher(cfg, FakeClock(), default_matcher(), ROUTERS), cfg)
    yield c
    c.close()   # the store fixture closes the store


async def test_items_share_commits_and_a_failing_one_is_undone_alone(core: Intake) -> None:
    def write(n: int) -> int:
        core.db.conn.execute("INSERT INTO scratch (n) VALUES (?)", (n,))
        if n % 5 == 0:
            raise ValueError(n)
        return n

    results = await asyncio.gather(*(core.writer.call(write, n) for n in range(1, 41)), return_exceptions=True)
    for n, result in enumerate(results, start=1):
        assert isinstance(result, ValueError) if n % 5 == 0 else result == n
    stored = sorted(r[0] for r in core.db.conn.execute("SELECT n FROM scratch"))
    assert stored == [n for n in range(1, 41) if n % 5]
    if core.writer.alone:   # PostgreSQL: each job its own transaction (storage/writer.py)
        assert core.writer.batches == 40 and core.writer.batched_items == 40
    else:                   # SQLite: commits were shared
        assert core.writer.batches < 40 and core.writer.batched_items == 40


async def test_a_failing_message_is_kept_and_the_rest_of_its_batch_stored(core: Intake, monkeypatch) -> None:
    real = core.dispatcher.route

    def flaky(ctx, msg: Message) -> None:
        real(ctx, msg)
        if msg.text.startswith("boom"):
            raise RuntimeError("handler bug")

    monkeypatch.setattr(core.dispatcher, "route", flaky)
    msgs = [Message("sim", "resident", f"r{i}", "text", ("boom " if i == 3 else "") + "你好", key=f"k{i}")
            for i in range(8)]
    replies = await asyncio.gather(*(core.answer(m, None) for m in [*msgs, msgs[5]]))   # k5 twice in one batch
    db = core.db.conn
    assert db.execute("SELECT count(*) FROM inbound").fetchone()[0] == 7
    assert db.execute("SELECT key FROM failed_inbound").fetchall() == [("k3",)]
    assert db.execute("SELECT count(*) FROM residents WHERE openid = 'r3'").fetchone()[0] == 0   # undone
    # a retry while the first copy waits is acknowledged; the replies go once, as a message
    assert replies[8] == [] and replies[5] == []
    assert db.execute("SELECT count(*) FROM outbox WHERE target_id = 'r5' AND ref = 'late-reply'").fetchone() == (1,)
    assert replies[3] and replies[4]                                  # the apology; the others answered


def test_nested_transaction_is_a_savepoint(store: Store) -> None:
    db = store
    db.conn.execute("CREATE TABLE t (n INTEGER)")
    with transaction(db):
        db.conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(KeyError), transaction(db):
            db.conn.execute("INSERT INTO t VALUES (2)")
            raise KeyError
        db.conn.execute("INSERT INTO t VALUES (3)")
    assert [r[0] for r in db.conn.execute("SELECT n FROM t ORDER BY n")] == [1, 3]


# --- migration 060: epoch columns and the stats rollup -------------------------------------------

_TIMES = ("dispatched_at", "accepted_at", "resolved_at", "closed_at", "clock_started_at", "sign_deadline",
          "resolve_deadline")


def _rollup_matches(db) -> None:
    conn = db.conn
    sums = "received, excluded, open, dispatched, signed_on_time, sign_n, sign_sum, done, done_on_time," \
           " resolve_n, resolve_sum, rated, satisfied, reopened"
    want = {r[:4]: r[4:] for r in conn.execute(
        f"SELECT bucket, g, w, c, {', '.join(f'sum({s.strip()})' for s in sums.split(','))}"
        " FROM petition_stat_rows GROUP BY bucket, g, w, c")}
    have = {r[:4]: r[4:] for r in conn.execute(f"SELECT bucket, g, w, c, {sums} FROM petition_rollup")
            if r[4] != 0}
    assert have == want
    stale = " OR ".join(f"{c.removesuffix('_at')}_ts IS DISTINCT FROM unixepoch({c})" for c in ("created_at", *_TIMES)
                        if c.endswith("_at")) + " OR " + " OR ".join(
        f"{c}_ts IS DISTINCT FROM unixepoch({c})" for c in _TIMES if c.endswith("_deadline"))
    bad = conn.execute(f"SELECT count(*) FROM petitions WHERE {stale}").fetchone()[0]
    assert bad == 0
    for bucket, first, last in conn.execute("SELECT bucket, min(min_at), max(max_at) FROM petition_rollup"
                                            " GROUP BY bucket"):
        lo, hi = conn.execute("SELECT min(at), max(at) FROM petition_stat_rows WHERE bucket = ?",
                              (bucket,)).fetchone()
        if lo is not None:
            assert first <= lo and hi <= last      # the bounds may be wider, never narrower


def test_rollup_and_epochs_follow_every_write(store: Store) -> None:
    db = store
    rnd = random.Random(7)
    start = datetime(2026, 1, 28, 20, 0, tzinfo=TZ)
    states = ("submitted", "assigned", "accepted", "in_progress", "resolved", "closed", "cancelled", "merged",
              "escalated", "rejected", "returned")
    ids = []
    with transaction(db):
        for i in range(120):
            now = start + timedelta(hours=7 * i)
            p = petitions.create(db, resident=f"r{i % 9}", building=None, grid=rnd.choice(["g1", "g2", "", None]),
                                 category=rnd.choice(["road", "noise"]), text="x", now=now)
            ids.append(p["id"])
    for _ in range(400):
        pid = rnd.choice(ids)
        column = rnd.choice([*_TIMES, "state", "worker", "grid", "category", "rating", "reopen_count",
                             "created_at"])
        if column in _TIMES or column == "created_at":
            moment = start + timedelta(hours=rnd.randrange(0, 2000))
            choices = [moment.isoformat(timespec="seconds"),
                       moment.astimezone(UTC).isoformat(timespec="seconds")]
            choices += ["not a time"] if column == "created_at" else [None, ""]
            value = rnd.choice(choices)
        elif column == "state":
            value = rnd.choice(states)
        elif column == "worker":
            value = rnd.choice(["li.na", "chen.jie", "", None])
        elif column == "grid":
            value = rnd.choice(["g1", "g2", "", None])
        elif column == "category":
            value = rnd.choice(["road", "noise", "other"])
        elif column == "rating":
            value = rnd.choice(["satisfied", "basic", "unsatisfied", "unrated", None])
        else:
            value = rnd.randrange(3)
        with transaction(db):
            db.conn.execute(f"UPDATE petitions SET {column} = ? WHERE id = ?", (value, pid))
    with transaction(db):
        db.conn.execute("DELETE FROM petitions WHERE id = ?", (ids[3],))
    _rollup_matches(db)


def test_summary_reads_whole_months_from_the_rollup_and_cut_ones_row_by_row(store: Store) -> None:
    """The same numbers whether the period is made of whole months or cuts them anywhere."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import reference_stats

    from storage import stats

    db = store
    rnd = random.Random(11)
    start = datetime(2026, 3, 30, 22, 0, tzinfo=TZ)
    with transaction(db):
        for i in range(300):
            now = start + timedelta(hours=5 * i + rnd.random())
            p = petitions.create(db, resident=f"r{i}", building=None, grid=rnd.choice(["g1", "g2"]),
                                 category=rnd.choice(["road", "noise", "other"]), text="x", now=now)
            if rnd.random() < 0.8:
                petitions.transition(db, p["id"], "assigned", actor="s", now=now + timedelta(minutes=30),
                                     worker=rnd.choice(["li.na", "chen.jie"]),
                                     sign_deadline=(now + timedelta(hours=2)).isoformat(timespec="seconds"),
                                     resolve_deadline=(now + timedelta(days=3)).isoformat(timespec="seconds"))
                if rnd.random() < 0.6:
                    petitions.transition(db, p["id"], "accepted", actor="w",
                                         now=now + timedelta(hours=rnd.uniform(0.2, 4)))
                    if rnd.random() < 0.7:
                        petitions.transition(db, p["id"], "in_progress", actor="w", now=now + timedelta(hours=5))
                        petitions.transition(db, p["id"], "resolved", actor="w",
                                             now=now + timedelta(hours=rnd.uniform(6, 100)))
    as_of = datetime(2026, 6, 1, 9, 0, tzinfo=TZ)
    cases = [(None, None), (datetime(2026, 4, 1, tzinfo=TZ), datetime(2026, 5, 1, tzinfo=TZ)),
             (datetime(2026, 4, 9, 13, 17, tzinfo=TZ), datetime(2026, 5, 3, 1, 0, tzinfo=TZ)),
             (None, datetime(2026, 4, 20, tzinfo=TZ)), (datetime(2026, 4, 20, tzinfo=TZ), None)]
    listed_some = False
    for since, until in cases:
        reference = reference_stats.summary(db, since, until, as_of)
        numbers = stats.summary(db, since, until, as_of)
        assert numbers == reference_stats.as_summarised(reference, stats.OVERDUE_SHOWN)
        assert stats.overdue_list(db, until, as_of) == reference["overdue"]
        listed_some = listed_some or numbers["overdue_count"] > len(numbers["overdue"]) > 0
    assert listed_some    # some case has more overdue petitions than a summary lists


def test_overdue_counts_come_from_one_group_by_in_index_order(store: Store) -> None:
    """Per-group overdue counts are a SQL GROUP BY read in the order of the partial index (no sort of
    the overdue rows), with '' and NULL grids and workers in one group as the rollup has them, and the
    summary lists only the oldest OVERDUE_SHOWN of the overdue petitions while counting them all."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import reference_stats

    from storage import stats

    db = store
    rnd = random.Random(5)
    start = datetime(2026, 4, 1, 8, 0, tzinfo=TZ)
    with transaction(db):
        for i in range(8 * stats.OVERDUE_SHOWN):
            now = start + timedelta(hours=i)
            p = petitions.create(db, resident=f"r{i}", building=None, grid="g1", category=rnd.choice(["road", "noise"]),
                                 text="x", now=now)
            db.conn.execute(
                "UPDATE petitions SET grid = ?, worker = ?, state = ?, dispatched_at = ?, clock_started_at = ?,"
                " sign_deadline = ?, resolve_deadline = ? WHERE id = ?",
                (rnd.choice(["g1", "", None]), rnd.choice(["li.na", "", None]),
                 rnd.choice(["assigned", "accepted", "in_progress", "escalated", "returned", "resolved"]),
                 *[(now + timedelta(hours=h)).isoformat(timespec="seconds") for h in (0, 0, 2)],
                 rnd.choice([(now + timedelta(hours=rnd.choice([30, 200, 2000]))).isoformat(timespec="seconds"),
                             None]), p["id"]))
    as_of = datetime(2026, 4, 20, 9, 0, tzinfo=TZ)
    cases = [(None, None), (datetime(2026, 4, 3, tzinfo=TZ), datetime(2026, 4, 6, tzinfo=TZ)),
             (datetime(2026, 4, 5, tzinfo=TZ), None), (None, datetime(2026, 4, 4, 12, tzinfo=TZ))]
    for since, until in cases:
        reference = reference_stats.summary(db, since, until, as_of)
        assert stats.summary(db, since, until, as_of) == reference_stats.as_summarised(reference, stats.OVERDUE_SHOWN)
    numbers = stats.summary(db, None, None, as_of)
    assert numbers["overdue_count"] > stats.OVERDUE_SHOWN == len(numbers["overdue"])
    assert {o["kind"] for o in numbers["overdue"]} == {"sign", "resolve"}
    if db.dialect != "sqlite":
        return   # the rest is SQLite's alone: its query plans with INDEXED BY
    for since, until in cases:
        sql, params = stats._late_groups_query(since, until, as_of)
        plan = [row[-1] for row in db.conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
        assert plan == ["SCAN petitions USING COVERING INDEX petitions_running_by_group"], plan   # no sort
        # the list: two walks in deadline order (only ties on the deadline are sorted, by id)
        sign, resolve, params = stats._late_list_queries(until, as_of, stats.OVERDUE_SHOWN)
        for sql, index, column in ((sign, "petitions_assigned_by_sign_deadline", "sign_deadline_ts"),
                                   (resolve, "petitions_running_by_resolve_deadline", "resolve_deadline_ts")):
            plan = [row[-1] for row in db.conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            assert plan == [f"SEARCH petitions USING COVERING INDEX {index} ({column}<?)",
                            "USE TEMP B-TREE FOR RIGHT PART OF ORDER BY"], plan


def test_a_serving_process_keeps_what_it_loaded_out_of_the_collectors_sight() -> None:
    import gc

    from bot.app import GC_THRESHOLD, tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLD and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
