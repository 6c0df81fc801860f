"""`minsheng db migrate` (SPEC §11) as a process, on each engine: the first run applies every migration
of the configured engine and names each; the second applies none and says so. The URL may come from
MINSHENG_STORAGE_URL (a password stays out of the config file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from storage import pg_schema
from storage.db import MIGRATIONS


def _migrate(cfg: Path, env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "bot", "db", "migrate", "--config", str(cfg)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_sqlite(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "s.db"}"\n', encoding="utf-8")
    first = _migrate(cfg, {})
    assert [line.split("：")[1] for line in first] == sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert (tmp_path / "s.db").is_file()
    assert _migrate(cfg, {}) == ["数据库已是最新（SQLite），没有要执行的迁移。"]


def test_postgresql(tmp_path: Path, pg_database: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[storage]\npath = "{tmp_path / "unused.db"}"\n', encoding="utf-8")
    env = {"MINSHENG_STORAGE_URL": pg_database}
    first = _migrate(cfg, env)
    assert [line.split("：")[1] for line in first] == [p.name for p in pg_schema.files()]
    assert _migrate(cfg, env) == ["数据库已是最新（PostgreSQL），没有要执行的迁移。"]
    assert not (tmp_path / "unused.db").exists()


def test_a_url_that_is_neither_engine_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[storage]\nurl = "mysql://x"\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "db", "migrate", "--config", str(cfg)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "[storage] url" in out.stderr


@pytest.mark.parametrize("url", ["sqlite:///data/x.db", "sqlite:////abs/x.db", "sqlite://"])
def test_sqlite_urls_name_the_path(url: str) -> None:
    from bot.config import load_settings

    s = load_settings(overrides={"storage": {"url": url}}, environ={})
    assert s.storage.url == "" and s.storage.target == {"sqlite:///data/x.db": "data/x.db",
                                                        "sqlite:////abs/x.db": "/abs/x.db",
                                                        "sqlite://": ":memory:"}[url]
