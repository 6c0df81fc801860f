"""The few SQLite spellings PostgreSQL does not read, rewritten at execution time (storage/pg.py).

Storage code writes one SQL for both engines (tests/storage/test_portable_sql.py); what stays
SQLite's alone is rewritten here, once per statement text (storage.pg caches the result):

- `INDEXED BY <index>` (a forced walk on SQLite): dropped, PostgreSQL's planner chooses;
- the FTS5 search `petition_words MATCH <q>`: `petition_words.grams @@ fts5_tsquery(<q>)`, and the
  index's `rowid` is the column `id` (storage/migrations/pg/README.md);
- the scalar `min(a, b)` of `storage.workorders.DUE`: `LEAST(a, b)`, as the index petitions_desk_due
  spells it (both ignore NULLs inside the coalesce);
- `group_concat(x, sep)`: `string_agg(x, sep)`;
- `CROSS JOIN t ON …` (SQLite's way to fix the join order): `JOIN t ON …`;
- `BEGIN IMMEDIATE` (SQLite's write lock at once): `BEGIN`;
- `PRAGMA query_only = ON|OFF`: `SET default_transaction_read_only = …` (the same refusal of writes);
- any other `PRAGMA …`: None, nothing to run (the engine settings of storage/db.py `open_db` are SQLite's).
"""

from __future__ import annotations

import re

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE), ""),
    (re.compile(r"\bpetition_words\s+MATCH\s+(\?|:\w+)", re.IGNORECASE), r"petition_words.grams @@ fts5_tsquery(\1)"),
    (re.compile(r"\bpetition_words\.rowid\b", re.IGNORECASE), "petition_words.id"),
    (re.compile(r"\bSELECT\s+rowid\s+FROM\s+petition_words\b", re.IGNORECASE), "SELECT id FROM petition_words"),
    (re.compile(r"\bcoalesce\(min\(sign_deadline_ts, resolve_deadline_ts\)", re.IGNORECASE),
     "coalesce(LEAST(sign_deadline_ts, resolve_deadline_ts)"),
    (re.compile(r"\bgroup_concat\(", re.IGNORECASE), "string_agg("),
    (re.compile(r"\bCROSS\s+JOIN\s+(\w+(?:\s+AS\s+\w+)?)\s+ON\b", re.IGNORECASE), r"JOIN \1 ON"),
    (re.compile(r"^\s*BEGIN\s+IMMEDIATE\b", re.IGNORECASE), "BEGIN"),
)
_PRAGMA = re.compile(r"^\s*PRAGMA\b", re.IGNORECASE)
_QUERY_ONLY = re.compile(r"^\s*PRAGMA\s+query_only\s*=\s*(ON|OFF|1|0|TRUE|FALSE)\s*;?\s*$", re.IGNORECASE)


def to_postgresql(sql: str) -> str | None:
    """`sql` as PostgreSQL reads it; None for a statement it has no use for (PRAGMA)."""
    query_only = _QUERY_ONLY.match(sql)
    if query_only:   # the connection refuses writes from now on (or again accepts them)
        return f"SET default_transaction_read_only = {query_only.group(1)}"
    if _PRAGMA.match(sql):
        return None
    for pattern, replacement in _REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql
