"""PostgreSQL for the tests: the `pg_url` and `pg_database` fixtures (imported by tests/conftest.py).

`MINSHENG_TEST_PG` says where PostgreSQL is:

- a `postgresql://…` URL: a server someone runs (its user must be allowed to CREATE DATABASE);
- `auto`: a throw-away cluster (tests/pgcluster.py) started once per session in a fresh directory under
  the system temp dir, on a free port, and removed at the session's end (what `.ci/run` does);
  `MINSHENG_TEST_PG_PORTS=LO-HI` narrows the ports tried (default: one the OS hands out);
- unset or empty: every test that needs PostgreSQL is skipped, saying so.

`pg_database` gives each test its own fresh, empty database (`t_<random>`), dropped after the test even
when connections to it are still open.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import tempfile
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests import pgcluster

ENV = "MINSHENG_TEST_PG"
PORTS_ENV = "MINSHENG_TEST_PG_PORTS"
UNSET = (f"needs PostgreSQL: set {ENV} to a postgresql:// URL, or to auto to start a throw-away cluster "
         "(needs Debian's postgresql package)")


def free_port(ports: str | None = None) -> int:
    """A port nothing listens on at 127.0.0.1: the first free one of "LO-HI", else one the OS hands out."""
    if ports:
        lo, _, hi = ports.partition("-")
        for port in range(int(lo), int(hi or lo) + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise pgcluster.ClusterError(f"no free port in {ports}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def auto_cluster(attempts: int = 3) -> Iterator[str]:
    """A throw-away cluster for as long as the block runs; yields its URL. Another free port is tried
    when one is taken between the check and the server's bind (other sessions may start clusters too)."""
    error: Exception | None = None
    for _ in range(attempts):
        base = tempfile.mkdtemp(prefix="minsheng-pg-")
        try:
            url = pgcluster.start(base, free_port(os.environ.get(PORTS_ENV)))
        except pgcluster.ClusterError as e:
            error = e
            pgcluster.stop(base)
            continue
        try:
            yield url
        finally:
            pgcluster.stop(base)
        return
    raise pgcluster.ClusterError(f"could not start PostgreSQL in {attempts} attempts: {error}")


def with_dbname(url: str, dbname: str) -> str:
    """url naming database dbname instead (in the path, and in a dbname= query parameter if it has one)."""
    parts = urlsplit(url)
    query = [(k, dbname if k == "dbname" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    rest = urlencode(query, safe="/")
    # built by hand: urlunsplit drops the empty host of postgresql:///db?host=/socket
    return f"{parts.scheme}://{parts.netloc}/{dbname}" + (f"?{rest}" if rest else "")


@contextlib.contextmanager
def fresh_database(admin_url: str, template: str | None = None) -> Iterator[str]:
    """A new empty database (a copy of template, else of template1) for the block; yields its URL and
    drops it after, closing any connection still open to it."""
    import psycopg
    from psycopg import sql

    name = f"t_{secrets.token_hex(8)}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(create)
    try:
        yield with_dbname(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The URL of a PostgreSQL server whose user may create databases (see the module's docstring)."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        pytest.skip(UNSET)
    if value != "auto":
        yield value
        return
    if pgcluster.bindir() is None:
        pytest.fail(f"{ENV}=auto but PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    with auto_cluster() as url:
        yield url


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """The URL of a fresh, empty database for this test alone; dropped after it."""
    pytest.importorskip("psycopg", reason="needs psycopg 3 (pip install 'psycopg[binary]')")
    with fresh_database(pg_url) as url:
        yield url
