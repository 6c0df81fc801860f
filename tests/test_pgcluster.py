"""The throw-away PostgreSQL cluster (tests/pgcluster.py) and the per-test databases (tests/pgfixtures.py).

- a cluster starts, answers `SELECT 1`, runs without fsync and listens on 127.0.0.1 alone; stopping it
  closes the port and removes its directory;
- `pg_database` hands a test an empty database of its own, dropped afterwards even with a connection
  still open to it.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator

import pytest

from tests import pgcluster
from tests.pgfixtures import PORTS_ENV, free_port, fresh_database, with_dbname

pytestmark = pytest.mark.skipif(pgcluster.bindir() is None, reason="PostgreSQL's server binaries are not installed")
psycopg = pytest.importorskip("psycopg", reason="needs psycopg 3")


def _own_addresses() -> set[str]:
    """This machine's IPv4 addresses other than loopback (the one a default route would use, if any)."""
    found = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: picks the outgoing address; sends nothing
            found.add(s.getsockname()[0])
        except OSError:
            pass
    return {a for a in found if not a.startswith("127.")}


def _accepts(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.settimeout(2)
        try:
            s.connect((host, port))
        except OSError:
            return False
        return True


@pytest.fixture
def cluster() -> Iterator[tuple[str, int, str]]:
    base = tempfile.mkdtemp(prefix="minsheng-pgtest-")
    port = free_port(os.environ.get(PORTS_ENV))
    try:
        yield base, port, pgcluster.start(base, port)
    finally:
        pgcluster.stop(base)


def test_a_cluster_starts_answers_and_is_removed(cluster: tuple[str, int, str]) -> None:
    base, port, url = cluster
    with psycopg.connect(url, connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', "
            "'full_page_writes', 'listen_addresses', 'max_connections', 'server_encoding')").fetchall())
        assert int(conn.info.server_version) // 10000 >= 15
    assert settings["fsync"] == "off"
    assert settings["synchronous_commit"] == "off"
    assert settings["full_page_writes"] == "off"
    assert settings["listen_addresses"] == "127.0.0.1"
    assert int(settings["max_connections"]) >= 100
    assert settings["server_encoding"] == "UTF8"
    assert _accepts("127.0.0.1", port)
    for address in _own_addresses():
        assert not _accepts(address, port), f"listens on {address}"
    with psycopg.connect(f"host={base}/sock port={port} user=postgres dbname=postgres") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the unix socket inside the directory
    pgcluster.stop(base)
    assert not _accepts("127.0.0.1", port)
    assert not os.path.exists(base)


def test_stop_refuses_a_directory_it_did_not_make(tmp_path) -> None:
    (tmp_path / "keep").write_text("x")
    with pytest.raises(pgcluster.ClusterError):
        pgcluster.stop(tmp_path)
    assert (tmp_path / "keep").exists()


def test_with_dbname_keeps_host_port_and_query() -> None:
    assert with_dbname("postgresql://postgres@127.0.0.1:55500/postgres", "t_1") == \
        "postgresql://postgres@127.0.0.1:55500/t_1"
    assert with_dbname("postgresql:///postgres?host=/tmp/s&port=5&dbname=postgres", "t_2") == \
        "postgresql:///t_2?host=/tmp/s&port=5&dbname=t_2"


def test_each_test_gets_an_empty_database_of_its_own(pg_database: str, pg_url: str) -> None:
    with psycopg.connect(pg_database) as conn:
        assert conn.info.dbname.startswith("t_")
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        conn.execute("CREATE TABLE x (id int)")


def test_the_database_is_dropped_even_with_a_connection_open(pg_url: str) -> None:
    with fresh_database(pg_url) as url:
        left_open = psycopg.connect(url)
        name = left_open.info.dbname
    with psycopg.connect(pg_url) as admin:
        assert admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone() == (0,)
    assert left_open.closed or left_open.broken or _closed_by_server(left_open)
    left_open.close()


def _closed_by_server(conn) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False
