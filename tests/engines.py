"""Both storage engines for the tests (imported by tests/conftest.py).

`engine` is parametrised over ["sqlite", "pg"] (the "pg" case is skipped, saying why, unless
MINSHENG_TEST_PG is set; tests/pgfixtures.py). On it: `store` (an opened, migrated `Store`; SQLite in
memory, as most storage tests used), `store_url` (a SQLite path, or the URL of a fresh PostgreSQL
database copied from a template migrated once per session), and `new_store` / `new_store_url` for a
test that compares two stores. A test that is SQLite's alone by nature (query plans, PRAGMA, the SQLite
migration ledger, the trace callback, total_changes) keeps `open_db`, or calls `sqlite_only`, and says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage.db import Store, open_db
from tests.pgfixtures import fresh_database, with_dbname

ENGINES = ["sqlite", "pg"]
APP_ENGINE = "MINSHENG_TEST_ENGINE"   # "pg": the `settings` fixture puts the whole app on PostgreSQL


@pytest.fixture(scope="session")
def pg_template(pg_url: str) -> Iterator[str]:
    """The name of a database with the PG migrations applied, to copy per test (≈0.1 s, not a migration)."""
    import psycopg

    from storage import pg_schema

    name = f"minsheng_tmpl_{os.getpid()}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(with_dbname(pg_url, name), autocommit=True) as conn:
        pg_schema.apply(conn)
    try:
        yield name
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine of this test's case: "sqlite", or "pg" (skipped, saying why, when no PostgreSQL is given)."""
    if request.param == "pg":
        pytest.importorskip("psycopg", reason="needs psycopg 3")
        request.getfixturevalue("pg_template")
    return str(request.param)


@pytest.fixture
def new_store_url(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes the place of another store on this test's engine: a SQLite path in the temp dir, or a
    postgresql:// URL of a fresh database copied from the migrated template (dropped after the test)."""
    made = iter(range(1_000_000))
    with contextlib.ExitStack() as stack:
        def make() -> str:
            if engine == "sqlite":
                return str(tmp_path / f"store{next(made)}.db")
            url, template = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_template")
            return stack.enter_context(fresh_database(url, template=template))

        yield make


@pytest.fixture
def store_url(new_store_url: Callable[[], str]) -> str:
    """Where a store lives, on each engine: a SQLite path, or a postgresql:// URL of a migrated database."""
    return new_store_url()


@pytest.fixture
def new_store(engine: str, new_store_url: Callable[[], str]) -> Iterator[Callable[[], Store]]:
    """Opens another migrated store on this test's engine (SQLite in memory); closed after the test."""
    opened: list[Store] = []

    def make() -> Store:
        opened.append(open_db(":memory:" if engine == "sqlite" else new_store_url()))
        return opened[-1]

    yield make
    for db in opened:
        with contextlib.suppress(Exception):
            db.conn.close()


@pytest.fixture
def store(new_store: Callable[[], Store]) -> Store:
    """An opened, migrated store on each engine (SQLite in memory)."""
    return new_store()


def app_store_url(request: pytest.FixtureRequest) -> str:
    """[storage] url for the app the `settings` fixture describes: "" (SQLite at its path), or with
    MINSHENG_TEST_ENGINE=pg a fresh PostgreSQL database, dropped after the test."""
    if os.environ.get(APP_ENGINE, "sqlite") != "pg":
        return ""
    pytest.importorskip("psycopg", reason="needs psycopg 3")
    url, template = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_template")
    made = fresh_database(url, template=template)
    fresh = made.__enter__()
    request.addfinalizer(lambda: made.__exit__(None, None, None))
    return fresh


def sqlite_only(db: Store, why: str) -> None:
    """Skip the PostgreSQL case of a test that checks something SQLite's alone (a query plan, a PRAGMA)."""
    if db.dialect != "sqlite":
        pytest.skip(f"SQLite only: {why}")


def storage_toml(store_url: str, tmp_path: Path) -> str:
    """The [storage] section of a config file for a `minsheng` process on the store at `store_url` (on
    PostgreSQL the path still says where the intake journal lives: in the test's temp dir)."""
    if store_url.startswith("postgresql"):
        return f'[storage]\npath = "{tmp_path / "journal.db"}"\nurl = "{store_url}"\n'
    return f'[storage]\npath = "{store_url}"\n'


@pytest.fixture
def journal_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app on SQLite whatever MINSHENG_TEST_ENGINE says: for the tests of the file journal, which
    only SQLite deployments use (on PostgreSQL the journal is the `intake` table: tests/storage/
    test_instances.py, tests/e2e/test_two_instances.py). Use it before `settings` or `wechat_env`."""
    monkeypatch.setenv(APP_ENGINE, "sqlite")
