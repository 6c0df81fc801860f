"""storage/pg.py and storage/dialect.py: SQLite's SQL as psycopg runs it on PostgreSQL.

The translation is checked without a server; the connection's behaviour (values, errors, transactions)
on the PostgreSQL of MINSHENG_TEST_PG (skipped without one)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from storage import dialect, petitions
from storage.db import Store, one, transaction
from storage.pg import placeholders


@pytest.mark.parametrize(("sql", "expected", "named"), [
    ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s", False),
    ("SELECT :a, :b_2 FROM t", "SELECT %(a)s, %(b_2)s FROM t", True),
    ("SELECT '?', ':x', 'it''s ?' WHERE a = ?", "SELECT '?', ':x', 'it''s ?' WHERE a = %s", False),
    ("SELECT x::bigint, '%' || ? LIKE 'a%'", "SELECT x::bigint, '%%' || %s LIKE 'a%%'", False),
    ('SELECT "odd?name" FROM t -- why? :no\nWHERE a = :a', 'SELECT "odd?name" FROM t -- why? :no\nWHERE a = %(a)s',
     True),
])
def test_placeholders(sql: str, expected: str, named: bool) -> None:
    assert placeholders(sql) == (expected, named)


def test_the_dialect_rewrites_only_what_postgresql_does_not_read() -> None:
    from storage import workorders

    assert dialect.to_postgresql("PRAGMA foreign_keys=ON") is None
    assert dialect.to_postgresql("PRAGMA query_only = ON") == "SET default_transaction_read_only = ON"
    assert dialect.to_postgresql("BEGIN IMMEDIATE") == "BEGIN"
    assert dialect.to_postgresql("SELECT id FROM petitions INDEXED BY petitions_desk_all WHERE x") == (
        "SELECT id FROM petitions WHERE x")
    assert dialect.to_postgresql("SELECT 1 FROM petition_words WHERE petition_words MATCH ?") == (
        "SELECT 1 FROM petition_words WHERE petition_words.grams @@ fts5_tsquery(?)")
    assert dialect.to_postgresql("id IN (SELECT rowid FROM petition_words WHERE petition_words MATCH :q)") == (
        "id IN (SELECT id FROM petition_words WHERE petition_words.grams @@ fts5_tsquery(:q))")
    assert "LEAST(sign_deadline_ts, resolve_deadline_ts)" in dialect.to_postgresql(workorders.DUE)
    assert dialect.to_postgresql("SELECT group_concat(a, :sep)") == "SELECT string_agg(a, :sep)"
    assert dialect.to_postgresql("FROM w CROSS JOIN petitions AS p ON p.id = w.id") == (
        "FROM w JOIN petitions AS p ON p.id = w.id")
    plain = "SELECT min(a) FROM t WHERE s = 'INDEXED BY x'"
    assert dialect.to_postgresql(plain) == plain.replace(" INDEXED BY x", "")   # (no such literal in storage)


def test_values_read_as_sqlite_gives_them(store: Store) -> None:
    got = one(store, "SELECT sum(v) AS s, avg(v) AS a, count(*) AS n, ? AS b, ? AS none_at_all"
                     " FROM (SELECT 1 AS v UNION ALL SELECT 2) AS t", (True, None))
    assert got == {"s": 3, "a": 1.5, "n": 2, "b": 1, "none_at_all": None}
    assert type(got["s"]) is int and type(got["b"]) is int


def test_errors_are_sqlite3s_and_a_savepoint_undoes_only_its_own(store: Store) -> None:
    with transaction(store):
        store.conn.execute("INSERT INTO job_runs (job, period, at) VALUES (?, ?, ?)", ("j", "p1", "t"))
        with pytest.raises(sqlite3.IntegrityError), transaction(store):
            store.conn.execute("INSERT INTO job_runs (job, period, at) VALUES ('j', 'p2', 't')")
            store.conn.execute("INSERT INTO job_runs (job, period, at) VALUES ('j', 'p1', 't')")
        assert store.conn.in_transaction
    assert not store.conn.in_transaction
    assert [r["period"] for r in store.query("SELECT period FROM job_runs ORDER BY period")] == ["p1"]
    petitions.create(store, resident="r", building=None, grid=None, category="road", text="x",
                     now=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM events")
    with pytest.raises(sqlite3.OperationalError if store.dialect == "sqlite" else sqlite3.ProgrammingError):
        store.conn.execute("SELECT no_such_column FROM events")
