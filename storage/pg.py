"""The PostgreSQL engine: a psycopg 3 connection behind the part of `sqlite3.Connection` that storage code
uses, so every storage module runs unchanged on both engines (storage/db.py `open_db` picks one).

What `PgConnection` offers, as sqlite3 does:

- `execute(sql, params)` / `executemany`: SQLite's placeholders `?` and `:name` become psycopg's `%s` and
  `%(name)s` (not inside string literals, quoted names or comments, and not `::` casts); a literal `%`
  is doubled. A few engine-specific spellings are rewritten by `storage.dialect` first. The
  translation is cached per statement text.
- cursors with `fetchone`, `fetchall`, iteration (tuples), `rowcount` and `description` (name first).
- `in_transaction`, `commit`, `rollback`, `close`. The connection is in autocommit mode: transactions are the SQL statements
  storage code sends (`BEGIN IMMEDIATE` is sent as `BEGIN`; SAVEPOINT, RELEASE and ROLLBACK TO as they are).
- errors: psycopg's are raised as sqlite3's classes (IntegrityError, OperationalError, …) with the
  psycopg error as their cause, so storage code and the writer catch one family on both engines.

Values: parameters are bound on the client (psycopg's ClientCursor) so an untyped parameter compares as
SQLite's would (`? IS NULL`, text against a literal); Python bools are written as 0/1 (the schema has
no boolean columns, as SQLite has none); `numeric` results (PostgreSQL's `sum` of bigint) are read as
int when whole, else float, as SQLite returns them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Dumper, Loader
from psycopg.pq import TransactionStatus

from storage import dialect

Params = Sequence[Any] | Mapping[str, Any] | None


class _BoolAsInt(Dumper):
    """True/False as 1/0: the schema keeps flags in bigint columns, as SQLite keeps them in INTEGER."""

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: bool) -> bytes:
        return self.dump(obj)


class _NumericAsNumber(Loader):
    """numeric (what PostgreSQL's sum() of bigint returns) as int when whole, else float."""

    def load(self, data: Any) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


_ERRORS: tuple[tuple[type[Exception], type[Exception]], ...] = (
    (psycopg.IntegrityError, sqlite3.IntegrityError),
    (psycopg.OperationalError, sqlite3.OperationalError),
    (psycopg.ProgrammingError, sqlite3.ProgrammingError),
    (psycopg.DataError, sqlite3.DataError),
    (psycopg.NotSupportedError, sqlite3.NotSupportedError),
    (psycopg.InternalError, sqlite3.InternalError),
)


def as_sqlite_error(exc: psycopg.Error) -> sqlite3.Error:
    """The sqlite3 exception class storage code catches for this psycopg error."""
    if isinstance(exc, pg_errors.RaiseException):   # a trigger's refusal, as SQLite's RAISE(ABORT, …)
        return sqlite3.IntegrityError(str(exc).splitlines()[0])
    for pg_class, lite_class in _ERRORS:
        if isinstance(exc, pg_class):
            return lite_class(str(exc))
    return sqlite3.DatabaseError(str(exc))


class PgCursor:
    """The result of one statement, read as a sqlite3 cursor is."""

    def __init__(self, cursor: psycopg.ClientCursor | None) -> None:
        self._cursor = cursor

    @property
    def description(self) -> list[tuple] | None:
        cols = None if self._cursor is None else self._cursor.description
        return None if cols is None else [(c.name, None, None, None, None, None, None) for c in cols]

    @property
    def rowcount(self) -> int:
        return -1 if self._cursor is None else self._cursor.rowcount

    def fetchone(self) -> tuple | None:
        if self._cursor is None or self._cursor.description is None:
            return None
        return self._fetch(self._cursor.fetchone)

    def fetchall(self) -> list[tuple]:
        if self._cursor is None or self._cursor.description is None:
            return []
        return self._fetch(self._cursor.fetchall)

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())

    @staticmethod
    def _fetch(fn: Any) -> Any:
        try:
            return fn()
        except psycopg.Error as exc:
            raise as_sqlite_error(exc) from exc


class PgConnection:
    """A psycopg connection that storage code drives as it drives a sqlite3 one (see the module)."""

    dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection, url: str = "", read_only: bool = False) -> None:
        self.raw = conn
        self.url, self.read_only = url, read_only

    @classmethod
    def connect(cls, url: str, read_only: bool = False) -> PgConnection:
        return cls(_connect(url, read_only), url, read_only)

    @property
    def broken(self) -> bool:
        """The connection is lost (the server restarted, the network failed): `reconnect` mends it."""
        return self.raw.closed or self.raw.broken

    def reconnect(self) -> None:
        """A new connection to the same database in place of a lost one."""
        self.raw.close()
        self.raw = _connect(self.url, self.read_only)

    @property
    def in_transaction(self) -> bool:
        """Inside BEGIN … COMMIT (or a failed one not yet rolled back). Read under the connection's
        lock: while another thread's statement runs, libpq says ACTIVE, which tells neither."""
        with self.raw.lock:
            return self.raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def execute(self, sql: str, params: Params = None) -> PgCursor:
        text, named = translate(sql)
        if text is None:
            return PgCursor(None)   # a PRAGMA: SQLite's engine settings mean nothing here
        cursor = self.raw.cursor()
        try:
            cursor.execute(text, _params(params, named))
        except psycopg.Error as exc:
            raise as_sqlite_error(exc) from exc
        return PgCursor(cursor)

    def executemany(self, sql: str, seq: Iterable[Params]) -> PgCursor:
        text, named = translate(sql)
        if text is None:
            return PgCursor(None)
        cursor = self.raw.cursor()
        try:
            cursor.executemany(text, [_params(p, named) for p in seq])
        except psycopg.Error as exc:
            raise as_sqlite_error(exc) from exc
        return PgCursor(cursor)

    def commit(self) -> None:
        """As sqlite3's: end the open transaction, if any (in autocommit mode there is none otherwise)."""
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()


def _connect(url: str, read_only: bool) -> psycopg.Connection:
    """A connection in autocommit mode, binding parameters on the client, with the value adapters."""
    try:
        conn = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor)
    except psycopg.Error as exc:
        raise as_sqlite_error(exc) from exc
    conn.adapters.register_dumper(bool, _BoolAsInt)
    conn.adapters.register_loader("numeric", _NumericAsNumber)
    if read_only:
        conn.execute("SET default_transaction_read_only = on")
    return conn


def transient(exc: BaseException) -> bool:
    """A failure that running the same transaction again may not meet: a deadlock between instances,
    a serialization failure, or a lost connection (after `reconnect`)."""
    cause = exc.__cause__ if isinstance(exc, sqlite3.Error) else exc
    return isinstance(cause, (pg_errors.DeadlockDetected, pg_errors.SerializationFailure,
                              pg_errors.LockNotAvailable, psycopg.OperationalError))


def _params(params: Params, named: bool) -> Sequence[Any] | Mapping[str, Any]:
    if params is None:
        return {} if named else ()
    if isinstance(params, Mapping):
        return params
    return tuple(params)


@lru_cache(maxsize=2048)
def translate(sql: str) -> tuple[str | None, bool]:
    """(psycopg's text of `sql`, whether it names its parameters); None for a statement PostgreSQL
    skips (PRAGMA)."""
    sql = dialect.to_postgresql(sql)
    if sql is None:
        return None, False
    return placeholders(sql)


def placeholders(sql: str) -> tuple[str, bool]:
    """`?` → `%s`, `:name` → `%(name)s`, `%` → `%%`, outside '…' literals, "…" names and -- comments."""
    out: list[str] = []
    named = False
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            end = _closing(sql, i)
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif c == "?":
            out.append("%s")
            i += 1
        elif c == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif c == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1:j]})s")
            named = True
            i = j
        else:
            out.append("%%" if c == "%" else c)
            i += 1
    return "".join(out), named


def _closing(sql: str, start: int) -> int:
    """The index just past the quoted literal or name opening at `start` (a doubled quote stays inside)."""
    quote, i = sql[start], start + 1
    while i < len(sql):
        if sql[i] == quote:
            if sql.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)
