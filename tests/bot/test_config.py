"""Config: TOML file, MINSHENG_* variables, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_are_the_demo() -> None:
    s = load_settings(environ={})
    assert s.source == "demo" and s.simulator.enabled and not s.wechat.enabled
    assert s.org_path.name == "org.example.toml"


def test_file_and_environment(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[server]\nport = 9000\n[wechat]\napp_id = "wx1"\ntoken = "t"\n[org]\nfile = "o.toml"\n',
                 encoding="utf-8")
    s = load_settings(f, environ={"MINSHENG_WECHAT_APP_SECRET": "s3cret", "MINSHENG_SERVER_PORT": "9100"})
    assert s.server.port == 9100 and s.wechat.app_secret == "s3cret" and s.wechat.app_id == "wx1"
    assert s.org_path == tmp_path / "o.toml"


@pytest.mark.parametrize(("text", "message"), [
    ("[server]\nport = \"abc\"\n", "expected int"),
    ("[nosuch]\nx = 1\n", "unknown section"),
    ("[server]\nprot = 1\n", "unknown key"),
    ("[wechat]\nencoding_aes_key = \"short\"\n", "43 characters"),
    ("[server\n", "not valid TOML"),
])
def test_bad_config(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(f, environ={})
