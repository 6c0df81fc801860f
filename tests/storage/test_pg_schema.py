"""The PostgreSQL schema (storage/migrations/pg/) against the SQLite one: the same tables and columns,
indexes, and triggers with the same effect, checked on a real PostgreSQL server.

Skipped unless MINSHENG_TEST_PG holds a PostgreSQL URL or `auto` (tests/pgfixtures.py `pg_url`): a
throw-away database is created there for the module and dropped after it."""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from storage import pg_schema, workorders
from storage.db import open_db
from storage.workorders import search_terms

psycopg = pytest.importorskip("psycopg")
from psycopg.conninfo import make_conninfo

DBNAME = f"minsheng_schema_{os.getpid()}"


@pytest.fixture(scope="module")
def pg(pg_url: str) -> Iterator[Any]:
    """A fresh database with the PG migrations applied (autocommit; tests roll their writes back)."""
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DBNAME}"')
        admin.execute(f"CREATE DATABASE \"{DBNAME}\" TEMPLATE template0 ENCODING 'UTF8'"
                      " LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    try:
        with psycopg.connect(make_conninfo(pg_url, dbname=DBNAME), autocommit=True) as conn:
            assert pg_schema.apply(conn) == [p.name for p in pg_schema.files()]
            yield conn
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DBNAME}"')


@pytest.fixture
def pgx(pg: Any) -> Iterator[Any]:
    """The PG database inside a transaction that is rolled back after the test."""
    with pg.transaction(force_rollback=True):
        yield pg


@pytest.fixture
def lite() -> sqlite3.Connection:
    return open_db(":memory:").conn


# ---- schema parity


def _sqlite_tables(lite: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Each table of the migrated SQLite store (not SQLite's own, nor FTS5's shadow tables): its
    columns as (name, type, notnull, pk)."""
    names = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    shadow = {f"petition_words_{s}" for s in ("data", "idx", "config", "docsize", "content")}
    return {n: [(c[1], c[2], c[3], c[5]) for c in lite.execute(f"PRAGMA table_info('{n}')")]
            for n in names if n != "sqlite_sequence" and n not in shadow}


def _pg_columns(pg: Any, table: str) -> list[tuple[str, str, bool]]:
    return pg.execute("SELECT column_name, data_type, is_nullable = 'NO' FROM information_schema.columns"
                      " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
                      (table,)).fetchall()


_TYPES = {"TEXT": "text", "INTEGER": "bigint", "REAL": "double precision"}


def test_every_sqlite_table_is_there_with_the_same_columns(pg: Any, lite: sqlite3.Connection) -> None:
    tables = _sqlite_tables(lite)
    pg_tables = {r[0] for r in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert set(tables) == pg_tables, "tables differ"
    for table, columns in tables.items():
        pg_cols = _pg_columns(pg, table)
        if table == "petition_words":  # FTS5: its one column; PG's row also carries the petition id
            assert [c[0] for c in pg_cols] == ["id", "grams", "grid"] and [c[0] for c in columns] == ["grams"]
            continue
        assert [c[0] for c in pg_cols] == [c[0] for c in columns], table
        for (name, typ, notnull, pk), (_, pg_type, pg_notnull) in zip(columns, pg_cols, strict=True):
            assert pg_type == _TYPES[typ], (table, name)
            assert pg_notnull == bool(notnull or pk), (table, name)  # PG keys are NOT NULL
    assert len(tables) == 39  # 37 of the app, migrations, petition_words


def test_the_view_has_the_same_columns(pg: Any, lite: sqlite3.Connection) -> None:
    ours = [d[0] for d in lite.execute("SELECT * FROM petition_stat_rows LIMIT 0").description]
    assert [c[0] for c in _pg_columns(pg, "petition_stat_rows")] == ours


def test_every_sqlite_index_is_there(pg: Any, lite: sqlite3.Connection) -> None:
    """By name, on the same table, as unique and as partial as SQLite's."""
    ours = {r[0]: (r[1], "UNIQUE" in r[2].upper(), " WHERE " in r[2].upper()) for r in lite.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    theirs = {r[0]: (r[1], r[2], r[3]) for r in pg.execute(
        "SELECT c.relname, t.relname, i.indisunique, i.indpred IS NOT NULL FROM pg_index AS i"
        " JOIN pg_class AS c ON c.oid = i.indexrelid JOIN pg_class AS t ON t.oid = i.indrelid"
        " JOIN pg_namespace AS n ON n.oid = t.relnamespace WHERE n.nspname = 'public'"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid)")}
    assert len(ours) == 45
    assert {n: theirs.get(n) for n in ours} == ours
    assert set(theirs) - set(ours) == {"petition_words_grid_grams"}  # the search index's GIN (grid, words)
    # the same key columns in the same order (None: an expression)
    keys = {n: [r[2] for r in lite.execute(f"PRAGMA index_xinfo('{n}')") if r[5]] for n in ours}
    pg_keys = dict(pg.execute(
        "SELECT c.relname, array_agg(a.attname ORDER BY k.n) FROM pg_index AS i"
        " JOIN pg_class AS c ON c.oid = i.indexrelid"
        " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)"
        " LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        " WHERE c.relname = ANY(%s) GROUP BY c.relname", (list(ours),)).fetchall())
    assert pg_keys == keys


def test_the_planner_can_walk_the_due_and_search_indexes(pgx: Any) -> None:
    """storage.workorders.DUE with min() spelled LEAST is the expression of petitions_desk_due; a
    search by fts5_tsquery reads the GIN index."""
    pgx.execute("SET LOCAL enable_seqscan = off")
    due = workorders.DUE.replace("min(", "LEAST(")
    plan = pgx.execute(f"EXPLAIN SELECT id FROM petitions WHERE state IN ('assigned', 'accepted',"
                       f" 'in_progress', 'escalated') ORDER BY {due} ASC, id ASC LIMIT 10").fetchall()
    assert "petitions_desk_due" in str(plan)
    plan = pgx.execute("EXPLAIN SELECT id FROM petition_words WHERE grams @@ fts5_tsquery(%s)",
                       (search_terms("路灯"),)).fetchall()
    assert "petition_words_grid_grams" in str(plan)


# SQLite's triggers, each with the PG trigger that does its work
TRIGGERS = {
    "events_append_only_u": "events_append_only", "events_append_only_d": "events_append_only",
    "audit_append_only_u": "audit_append_only", "audit_append_only_d": "audit_append_only",
    "petitions_ts_insert": "petitions_ts", "petitions_ts_update": "petitions_ts",
    **{f"{t}_{s}": "petitions_rollup" for t in ("petition_rollup", "desk_weekly")
       for s in ("insert", "update_out", "update_in", "delete")},
    **{f"desk_weekly_categories_{s}": "petitions_weekly_categories"
       for s in ("insert", "update_out", "update_in", "delete")},
    **{f"org_version_{t}_{s}": f"org_version_{t}"
       for t in ("communities", "staff", "grids", "grid_workers", "buildings") for s in "iud"},
    "residents_household_moved": "residents_household_moved", "followers_removed": "followers_removed",
    **{f"petition_words_{s}": "petitions_words" for s in ("insert", "update", "delete")},
}
PG_ONLY = {"events_append_only_truncate", "audit_append_only_truncate", "petitions_truncated"}


def test_every_sqlite_trigger_has_its_pg_twin(pg: Any, lite: sqlite3.Connection) -> None:
    ours = {r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    theirs = {r[0] for r in pg.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert ours == set(TRIGGERS) and len(ours) == 38
    assert theirs == set(TRIGGERS.values()) | PG_ONLY


def test_migrations_are_recorded_and_applied_once(pg: Any) -> None:
    assert pg_schema.apply(pg) == []
    names = [r[0] for r in pg.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [p.name for p in pg_schema.files()]


def test_instances_starting_together_apply_each_migration_once(pg_url: str) -> None:
    name = f"{DBNAME}_race"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conns = [psycopg.connect(make_conninfo(pg_url, dbname=name), autocommit=True) for _ in range(3)]
        with ThreadPoolExecutor(3) as pool:
            applied = sorted(pool.map(pg_schema.apply, conns))
        for conn in conns:
            conn.close()
        # each migration by one of them (which one may differ from file to file), none twice
        assert sorted(name for names in applied for name in names) == [p.name for p in pg_schema.files()]
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


# ---- the append-only logs


@pytest.mark.parametrize("table", ["events", "audit"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET at = 'x'", "DELETE FROM {t}", "TRUNCATE {t}"])
def test_the_logs_refuse_every_change(pgx: Any, table: str, statement: str) -> None:
    pgx.execute("INSERT INTO events (petition, at, actor, to_state) VALUES (1, '2026-01-01', 'a', 'submitted')")
    pgx.execute("INSERT INTO audit (at, actor, action) VALUES ('2026-01-01', 'a', 'login')")
    with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"), pgx.transaction():
        pgx.execute(statement.format(t=table))
    assert pgx.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1


# ---- unixepoch and the week


SAMPLES = [
    "2026-03-01T10:00:00+08:00", "2026-03-01T10:00:00.123456+08:00", "2026-03-01T10:00:00-05:30",
    "2026-03-01 10:00:00", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00z", "2026-03-01T10:00", "2026-03-01",
    "2026-03-08", "2026-02-30", "2026-02-29T23:59:59.9996", "2026-03-01T10:00:00.999500",
    "2026-03-01T10:00:00.9995", "2026-03-01T24:00:00", "1969-12-31T23:59:59.5", "1969-12-31",
    "2026-03-01T10:00:00+0800", "2026-03-01T10:00:00 +08:00", " 2026-03-01", "2026-03-01T", "2026-03-01 ",
    "2026-13-01", "2026-00-10", "2026-03-32", "2026-03-00", "2026-03-01T25:00", "2026-03-01T10:60",
    "2026-03-01T10:00:60", "2026-03-01T10:00:00+15:00", "2026-03-01T10:00:00+14:59", "", None, "yesterday",
    "2026-3-1", "2026/03/01", "2026-03-01T10:00:00.", "2026-03-0110:00", "2026-03-01 10:00:00 Z",
    "2026-03-01TT10:00", "2026-03-01t10:00", "\uff12\uff10\uff12\uff16-03-01", "2026-03-01T10:00:00+08:00x",
    "2026-03-01T10:00+08:00", "2026-03-01T10", "2026-03-01T10:00:0", "9999-12-31T23:59:59",
    "2026-03-01\t10:00", "2026-03-01T10:00:00-00:00", "2026-03-01\u300010:00", "2026-03-01T10:00\u00a0",
    "2026-03-01\n10:00:00\r", "2026-03-01T10:00:00\x0b+08:00",
]
# migration 150's week of a created_at
WEEK = ("CASE WHEN unixepoch(?) IS NULL THEN '' ELSE coalesce(date(substr(?, 1, 10), '-6 days', 'weekday 1'),"
        " '') END")


def test_unixepoch_and_the_week_are_sqlites(pg: Any, lite: sqlite3.Connection) -> None:
    ours = [tuple(lite.execute(f"SELECT unixepoch(?), {WEEK}", (s, s, s)).fetchone()) for s in SAMPLES]
    theirs = [pg.execute("SELECT unixepoch(%s), petition_week(%s)", (s, s)).fetchone() for s in SAMPLES]
    assert dict(zip(SAMPLES, theirs, strict=True)) == dict(zip(SAMPLES, ours, strict=True))
    assert sum(1 for t in ours if t[0] is not None) > 25


# ---- the same writes on both engines


def _run(lite: sqlite3.Connection, pg: Any, script: Sequence[tuple[str, tuple]]) -> None:
    for sql, params in script:
        lite.execute(sql, params)
        pg.execute(sql.replace("?", "%s"), params)


def _same(lite: sqlite3.Connection, pg: Any, sql: str) -> list[tuple]:
    ours = sorted(tuple(r) for r in lite.execute(sql))
    theirs = sorted(tuple(r) for r in pg.execute(sql))
    assert theirs == ours, sql
    return ours


_COLS = ("id, resident, building, grid, worker, category, text, state, created_at, updated_at, dispatched_at,"
         " accepted_at, resolved_at, clock_started_at, sign_deadline, resolve_deadline, rating, reopen_count")
_NEW = f"INSERT INTO petitions ({_COLS}) VALUES ({', '.join('?' * 18)})"
T0 = "2026-03-02T09:00:00+08:00"
PETITIONS = [  # (id, grid, worker, category, text, state, created, dispatched, accepted, resolved,
    #            clock_started, sign_deadline, resolve_deadline, rating, reopen_count)
    (1, "g1", None, "lights", "门口路灯不亮了", "submitted", T0, None, None, None, None, None, None, None, 0),
    (2, "g1", "w1", "lights", "楼道路灯坏了，晚上很黑", "assigned", T0, "2026-03-02T10:00:00+08:00", None, None,
     "2026-03-02T10:00:00+08:00", "2026-03-02T12:00:00+08:00", "2026-03-05T10:00:00+08:00", None, 0),
    (3, "g1", "w1", "water", "三楼漏水严重", "accepted", "2026-03-03 01:00:00", "2026-03-03 02:00:00",
     "2026-03-03 05:00:00", None, None, "2026-03-03 04:00:00", None, None, 0),
    (4, "g2", "w2", "water", "电梯漏水", "resolved", "2026-03-08", "2026-03-08T08:00:00Z",
     "2026-03-08T08:30:00Z", "2026-03-09T08:00:00Z", None, None, "2026-03-10T08:00:00Z", "satisfied", 0),
    (5, "", "w2", "lift", "Lift broken 电梯", "closed", "2026-02-27T23:00:00+08:00", "2026-02-28T01:00:00+08:00",
     "2026-02-28T02:00:00+08:00", "2026-03-06T01:00:00+08:00", None, None, None, None, 1),
    (6, "g2", None, "other", "灯", "cancelled", "yesterday", None, None, None, None, None, None, None, 0),
    (7, None, "w1", "lights", "路 灯", "in_progress", "2026-03-04T10:00:00+08:00", "2026-03-04T11:00:00+08:00",
     "2026-03-04T10:30:00+08:00", None, "2026-03-04T09:00:00+08:00", "", "", None, 0),
    (8, "g1", "w1", "lights", "灯不亮 路灯 lamp", "resolved", "2026-03-05T10:00:00+08:00",
     "2026-03-05T11:00:00+08:00", "2026-03-05T11:30:00+08:00", "2026-03-05T15:00:00+08:00", None,
     "2026-03-05T13:00:00+08:00", "2026-03-06T10:00:00+08:00", "basic", 2),
]


def _script() -> list[tuple[str, tuple]]:
    new = [(_NEW, (p[0], "r" + str(p[0]), "b1", *p[1:5], p[5], p[6], p[6], p[7], p[8], p[9], *p[10:]))
           for p in PETITIONS]
    return new + [
        (("UPDATE petitions SET state = 'assigned', worker = 'w3', dispatched_at = ?, sign_deadline = ?"
          " WHERE id = 1"), ("2026-03-02T11:00:00+08:00", "2026-03-02T13:00:00+08:00")),
        ("UPDATE petitions SET state = 'accepted', accepted_at = ? WHERE id = 2", ("2026-03-02T11:30:00+08:00",)),
        ("UPDATE petitions SET grid = 'g3' WHERE id = 3", ()),
        ("UPDATE petitions SET created_at = ? WHERE id = 4", ("2026-03-15T08:00:00+08:00",)),
        ("UPDATE petitions SET rating = 'unsatisfied' WHERE id = 5", ()),
        (("UPDATE petitions SET reopen_count = reopen_count + 1, state = 'returned', dispatched_at = ?"
          " WHERE id IN (4, 8)"), ("2026-03-16T08:00:00+08:00",)),
        ("UPDATE petitions SET urge_count = 3, text = '电梯又坏了' WHERE id = 5", ()),
        ("UPDATE petitions SET category = 'water', created_at = ? WHERE id = 6", ("2026-03-09",)),
        ("DELETE FROM petitions WHERE id = 7", ()),
        ("UPDATE petitions SET state = 'resolved', resolved_at = ? WHERE id = 4", ("2026-03-16T09:00:00+08:00",)),
    ]


def test_the_rollups_and_epoch_twins_follow_the_same_writes(pgx: Any, lite: sqlite3.Connection) -> None:
    _run(lite, pgx, _script())
    ts = ("created_ts, dispatched_ts, accepted_ts, resolved_ts, closed_ts, clock_started_ts, sign_deadline_ts,"
          " resolve_deadline_ts")
    assert len(_same(lite, pgx, f"SELECT id, {ts} FROM petitions")) == 7
    assert len(_same(lite, pgx, "SELECT * FROM petition_stat_rows")) == 7
    assert len(_same(lite, pgx, "SELECT * FROM petition_rollup")) >= 7
    assert len(_same(lite, pgx, "SELECT * FROM desk_weekly")) >= 5
    assert len(_same(lite, pgx, "SELECT * FROM desk_weekly_categories")) >= 5
    # what a statistic reads: nothing counted twice or lost (rows left at 0 by moves included)
    assert _same(lite, pgx, "SELECT sum(received), sum(open), sum(done) FROM petition_rollup") == [(7, 4, 2)]


QUERIES = ["路灯", "漏水", "电梯", "灯", "路灯不亮", "灯不亮", "楼道", "lift", "LAMP", "水 电梯", "路 灯", "亮了",
           "又坏", "严重", "楼", "晚上很黑", "不存在", "e"]


def test_the_search_index_finds_the_same_petitions(pgx: Any, lite: sqlite3.Connection) -> None:
    _run(lite, pgx, _script())
    found = {}
    for q in QUERIES:
        terms = search_terms(q)
        ours = [r[0] for r in lite.execute(
            "SELECT rowid FROM petition_words WHERE petition_words MATCH ? ORDER BY rowid", (terms,))]
        theirs = [r[0] for r in pgx.execute(
            "SELECT id FROM petition_words WHERE grams @@ fts5_tsquery(%s) ORDER BY id", (terms,))]
        assert theirs == ours, (q, terms)
        found[q] = ours
    assert found["路灯"] == [1, 2, 8] and found["电梯"] == [4, 5] and found["不存在"] == []
    # the words carry their petition's grid (a transfer included: id 3 moved to g3), for one grid's search
    assert pgx.execute("SELECT count(*) FROM petition_words AS w JOIN petitions AS p ON p.id = w.id"
                       " WHERE w.grid IS DISTINCT FROM p.grid").fetchone()[0] == 0
    assert pgx.execute("SELECT grid FROM petition_words WHERE id = 3").fetchone() == ("g3",)


def test_truncating_the_petitions_empties_what_their_triggers_keep(pgx: Any, lite: sqlite3.Connection) -> None:
    _run(lite, pgx, _script())
    pgx.execute("TRUNCATE petitions")
    for table in ("petition_rollup", "desk_weekly", "desk_weekly_categories", "petition_words"):
        assert pgx.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_households_are_counted_again_on_the_same_writes(pgx: Any, lite: sqlite3.Connection) -> None:
    _run(lite, pgx, [
        *_script()[:3],
        ("INSERT INTO residents (openid, channel, building, room, created_at) VALUES (?, 'mp', 'b1', '101', ?)",
         ("r9", T0)),
        ("INSERT INTO followers (petition, resident, at, household) VALUES (?, 'r9', ?, 'b1:101')", (1, T0)),
        ("INSERT INTO followers (petition, resident, at, household) VALUES (?, 'r9', ?, 'b1:101')", (2, T0)),
        ("INSERT INTO household_counts VALUES (?, 2)", (1,)),
        ("INSERT INTO household_counts VALUES (?, 2)", (2,)),
        ("INSERT INTO household_counts VALUES (?, 1)", (3,)),
        ("UPDATE residents SET room = '102' WHERE openid = 'r9'", ()),
        ("DELETE FROM followers WHERE petition = 3", ()),
    ])
    assert _same(lite, pgx, "SELECT petition, household FROM followers") == [(1, "b1:102"), (2, "b1:102")]
    assert _same(lite, pgx, "SELECT * FROM household_counts") == [(3, 1)]


def test_the_org_stamp_changes_on_every_write_and_never_comes_back(pg: Any) -> None:
    seen = {pg.execute("SELECT stamp FROM org_version").fetchone()[0]}
    with pg.transaction():
        with pytest.raises(RuntimeError), pg.transaction():
            pg.execute("INSERT INTO communities VALUES ('c1', 'one')")
            seen.add(pg.execute("SELECT stamp FROM org_version").fetchone()[0])
            raise RuntimeError("undo")
        for sql in ("INSERT INTO communities VALUES ('c1', 'one')", "UPDATE communities SET name = 'x'",
                    "INSERT INTO grid_workers VALUES ('g1', 'u1')", "DELETE FROM communities"):
            pg.execute(sql)
            stamp = pg.execute("SELECT stamp FROM org_version").fetchone()[0]
            assert stamp not in seen
            seen.add(stamp)
        pg.execute("DELETE FROM grid_workers")


def test_the_search_agrees_on_random_texts_and_queries(pgx: Any, lite: sqlite3.Connection) -> None:
    """Chinese, punctuation (full- and half-width), Latin in both cases, digits, other scripts, an emoji:
    every query finds the same petitions (letters with diacritics left out: see the README)."""
    rnd = random.Random(7)
    alphabet = [*"路灯不亮漏水电梯楼道门口坏", *"，。！？、 ·-_/()（）【】", *"abAB12", "Ж", "あ", "한", "\U0001f600",
                "\u3000", "\uff4c", "\uff15", "\t"]
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30))) for _ in range(300)]
    _run(lite, pgx, [(_NEW, (i, "r", None, None, None, "c", t, "submitted", T0, T0, *[None] * 7, 0))
                     for i, t in enumerate(texts, 1)])
    queries = {search_terms("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 4)))) for _ in range(400)}
    hits = 0
    for terms in sorted(queries - {None}):
        ours = [r[0] for r in lite.execute(
            "SELECT rowid FROM petition_words WHERE petition_words MATCH ? ORDER BY rowid", (terms,))]
        theirs = [r[0] for r in pgx.execute(
            "SELECT id FROM petition_words WHERE grams @@ fts5_tsquery(%s) ORDER BY id", (terms,))]
        assert theirs == ours, terms
        hits += bool(ours)
    assert len(queries) > 150 and hits > 50, (len(queries), hits)
