"""The Python-side SQL in storage/ stays in spellings SQLite and PostgreSQL both accept (issue 16, step 1):
no INSERT OR IGNORE/REPLACE (ON CONFLICT instead), no datetime('now') (a bound parameter; only the
migrations ledger in storage/db.py, SQLite-only code, keeps it), no cursor.lastrowid (RETURNING id).

The scan reads string literals and attribute names through the syntax tree, so comments and
docstrings that name a construct do not count. Migrations (.sql), triggers, FTS and INDEXED BY
differ by engine and are not scanned here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

STORAGE = Path(__file__).resolve().parents[2] / "storage"

_FORBIDDEN = {
    "INSERT OR IGNORE/REPLACE (use INSERT ... ON CONFLICT)": re.compile(r"(?i)\bINSERT\s+OR\s+(IGNORE|REPLACE)\b"),
    "REPLACE INTO (use INSERT ... ON CONFLICT ... DO UPDATE)": re.compile(r"(?i)^\s*REPLACE\s+INTO\b"),
    "datetime('now') (bind the time as a parameter)": re.compile(r"(?i)\bdatetime\s*\(\s*'now'"),
}
# (file name, function) where a construct may stay: SQLite-only code
_ALLOWED = {("db.py", "migrate", "datetime('now') (bind the time as a parameter)")}


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}


def _functions(tree: ast.AST) -> dict[int, str]:
    """id(node) -> the name of the outermost function holding it."""
    owner: dict[int, str] = {}
    for top in ast.walk(tree):
        if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for n in ast.walk(top):
                owner.setdefault(id(n), top.name)
    return owner


def offences(source: str, name: str) -> list[str]:
    """Each non-portable construct in one module's source, as 'name:line what'."""
    tree = ast.parse(source)
    skip, owner, found = _docstrings(tree), _functions(tree), []
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr == "lastrowid":
            found.append(f"{name}:{n.lineno} cursor.lastrowid (use INSERT ... RETURNING id)")
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip:
            for what, pattern in _FORBIDDEN.items():
                if pattern.search(n.value) and (name, owner.get(id(n)), what) not in _ALLOWED:
                    found.append(f"{name}:{n.lineno} {what}")
    return sorted(found, key=lambda o: int(o.split(" ", 1)[0].rsplit(":", 1)[1]))


def test_storage_sql_has_no_sqlite_only_spellings() -> None:
    found = [o for path in sorted(STORAGE.rglob("*.py"))
             for o in offences(path.read_text(encoding="utf-8"), path.name)]
    assert found == []


def test_the_scan_finds_each_construct_and_ignores_docstrings() -> None:
    source = '''
def f(db):
    """INSERT OR IGNORE and datetime('now') and .lastrowid in a docstring are words."""
    db.conn.execute("INSERT OR IGNORE INTO t (a) VALUES (?)", (1,))
    db.conn.execute("insert or replace into t (a) VALUES (?)", (1,))
    db.conn.execute("REPLACE INTO t (a) VALUES (?)", (1,))
    db.conn.execute("INSERT INTO t (a, at) VALUES (?, datetime('now'))", (1,))
    return db.conn.execute(f"INSERT INTO {T} (a) VALUES (?)", (1,)).lastrowid
'''
    assert [o.split(" ", 1)[0] for o in offences(source, "x.py")] == [
        "x.py:4", "x.py:5", "x.py:6", "x.py:7", "x.py:8"]
    in_ledger = offences(source.replace("def f", "def migrate"), "db.py")   # the ledger keeps datetime('now')
    assert [o.split(" ", 1)[0] for o in in_ledger] == ["db.py:4", "db.py:5", "db.py:6", "db.py:8"]
