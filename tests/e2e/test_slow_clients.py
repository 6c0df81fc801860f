"""Issue 12, point 9: slow and greedy clients cannot take the server from WeChat.

`minsheng serve` runs as a process with few file descriptors (256), both channels configured; four
clients (127.0.0.2-5) open hundreds of connections that never finish their headers or their body,
more than the server-wide cap. A
signed callback from another address (127.0.0.1) is still answered within WeChat's 5 seconds, the
stalled connections are closed by the server after the header and body timeouts, and the log stays short.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bot.config import REPO_ROOT
from tests import fakewechat
from tests.e2e.test_crash import free_port
from tests.fakewechat import WechatEnv, write_config
from tests.peers import OfficialAccount

wechat_env = fakewechat.wechat_env
REPO = REPO_ROOT
ATTACKERS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")   # together past the server-wide cap
HALF_OPEN = 400


# `python -m bot serve ...` with at most 256 open files, soft and hard: the server cannot raise it
FEW_FILES = ("import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256));"
             " sys.argv = ['minsheng', *sys.argv[1:]]; runpy.run_module('bot', run_name='__main__')")


def _start(cfg: Path, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", FEW_FILES, "serve", "--config", str(cfg), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


async def _wait_up(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def _stall(port: int, body: bool, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A request that never ends: headers cut short, or a body that never comes."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    except OSError:
        return None
    head = "POST /wechat?signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    writer.write((head + "Content-Length: 5000\r\n\r\n<xml>" if body else head).encode())
    return reader, writer


async def _closed_by_server(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], within: float) -> bool:
    reader, _ = conn
    try:
        await asyncio.wait_for(reader.read(), within)   # EOF (or an error answer, then EOF)
        return True
    except (TimeoutError, ConnectionError):
        return isinstance(reader.exception(), ConnectionError)


async def test_half_open_requests_do_not_starve_callbacks(wechat_env: WechatEnv, tmp_path: Path) -> None:
    overrides = {**wechat_env.overrides,
                 "server": {"header_timeout": 1.0, "body_timeout": 1.0,
                            "max_connections": 200, "max_connections_per_client": 100}}
    cfg = write_config(tmp_path / "config.toml", overrides)
    port, log = free_port(), tmp_path / "server.log"
    proc = _start(cfg, port, log)
    conns: list = []
    try:
        await _wait_up(port)
        conns = [c for c in await asyncio.gather(*(_stall(port, i % 2 == 1, ATTACKERS[i % len(ATTACKERS)])
                                                   for i in range(HALF_OPEN))) if c is not None]
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
            oa = OfficialAccount(session)   # the real clock, as the server's
            answer = await oa.send(oa.text("oPatient", "我住3号楼2单元501"))   # asserts < 5 s itself
            assert answer.status == 200 and "3号楼" in answer.content
            started = time.monotonic()
            closed = await asyncio.gather(*(_closed_by_server(c, 5.0) for c in conns))
            assert all(closed), f"{closed.count(False)} stalled connections still open"
            assert time.monotonic() - started < 5.0
            again = await oa.send(oa.text("oPatient", "单元门禁刷不开了"))
            assert again.status == 200
    finally:
        for _, writer in conns:
            writer.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    refusals = [line for line in lines if "callback refused" in line or "aiohttp.access" in line]
    assert len(refusals) <= 2 * HALF_OPEN            # one line for each request refused, and its access line
    other = [line for line in lines if line not in refusals]
    assert len(other) < 40, "\n".join(other[:40])   # caps and loop errors: a few lines, not one per attempt
    assert any("cap reached" in line for line in other)
