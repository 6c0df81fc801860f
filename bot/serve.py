"""Serving the app on a socket, guarded against slow and greedy clients.

aiohttp's `run_app`, with three guards:
- a client must send a request's headers within [server] header_timeout (aiohttp closes a connection
  that has no complete request after its keep-alive timeout, which is set to this); bodies have
  [server] body_timeout (the callbacks' read, bot/channels/callback.py, and the time aiohttp waits for
  the rest of a body no handler read, e.g. after a refusal);
- at most max_connections_per_client connections from one address: one more is closed as soon as it
  is accepted; at most [server] max_connections in all: at that cap the oldest connection with no
  request being handled (a client still sending its headers) is closed for the new one, so half-open
  connections can use up neither the process's file descriptors (the soft limit is raised to the hard
  one at start) nor the slots a callback needs for its few milliseconds;
- the event loop's own errors (an accept failing for lack of descriptors, for example) are logged at
  most once per LOG_EVERY seconds each, with a count of what was left out.
A reverse proxy in front (README: deployment) should still do the same, earlier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from typing import Any

from aiohttp import web

from bot.accesslog import PrivateAccessLogger
from bot.config import Settings

log = logging.getLogger("minsheng.serve")
LOG_EVERY = 10.0


class _Gate(asyncio.Protocol):
    """Stands at a new connection: hands it to aiohttp's handler, or closes it when over a cap."""

    def __init__(self, site: GuardedSite) -> None:
        self.site = site

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        handler = self.site.admit(transport)
        if handler is None:
            transport.abort()
            return
        transport.set_protocol(handler)   # before any data is read: the handler sees the whole stream
        handler.connection_made(transport)


def _peer(transport: asyncio.BaseTransport | None) -> str | None:
    peer = transport.get_extra_info("peername") if transport is not None else None
    return peer[0] if isinstance(peer, tuple) and peer else None


class GuardedSite(web.TCPSite):
    """A TCP site that refuses connections past `max_connections`, or past `per_client` from one address
    (0: no per-address cap, e.g. behind a reverse proxy that limits clients itself)."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, max_connections: int,
                 per_client: int = 0) -> None:
        super().__init__(runner, host, port)
        self.max_connections = max_connections
        self.per_client = per_client
        self.refused = 0
        self.evicted = 0
        self._last_warning = float("-inf")

    def admit(self, transport: asyncio.BaseTransport) -> asyncio.Protocol | None:
        server = self._runner.server
        assert server is not None
        connections = server.connections
        peer = _peer(transport)
        if (self.per_client and peer is not None
                and sum(_peer(h.transport) == peer for h in connections) >= self.per_client):
            self._refuse("per-client cap")
            return None
        if len(connections) >= self.max_connections and not self._evict(connections):
            self._refuse("connection cap")
            return None
        return server()

    def _evict(self, connections: list) -> bool:
        """At the cap: close the oldest connection that has no request being handled (one still sending
        its headers, or idle between requests), so that several clients holding half-open connections
        cannot shut out a callback that would be answered in milliseconds. False when every one is busy."""
        for handler in connections:   # oldest first
            if getattr(handler, "_current_request", None) is None and not getattr(handler, "_messages", ()):
                handler.force_close()
                self.evicted += 1
                self._warn(f"connection cap reached: {self.evicted} idle or half-open connections closed so far")
                return True
        return False

    def _refuse(self, why: str) -> None:
        self.refused += 1
        self._warn(f"{why} reached: {self.refused} connections refused so far")

    def _warn(self, line: str) -> None:
        """At most one line per LOG_EVERY seconds."""
        now = time.monotonic()
        if now - self._last_warning >= LOG_EVERY:
            log.warning("%s", line)
            self._last_warning = now

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Gate(self), self._host, self._port,
                                                backlog=self._backlog, reuse_address=True)


class QuietErrors:
    """The loop's exception handler: each kind of message at most once per LOG_EVERY seconds."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", "event loop error"))
        exc = context.get("exception")
        kind = f"{message}: {type(exc).__name__}: {exc}" if exc is not None else message
        now = time.monotonic()
        if now - self._last.get(kind, float("-inf")) < LOG_EVERY:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1
            return
        self._last[kind] = now
        dropped = self._dropped.pop(kind, 0)
        suffix = f" ({dropped} more like it not logged)" if dropped else ""
        log.error("%s%s", kind, suffix)


def raise_file_limit() -> int:
    """The soft limit on open files raised to the hard one; returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


async def _serve(app: web.Application, settings: Settings, host: str, port: int) -> None:
    server = settings.server
    limit = raise_file_limit()
    if server.max_connections > limit - 64:
        log.warning("max_connections %d is close to the open-file limit %d", server.max_connections, limit)
    asyncio.get_running_loop().set_exception_handler(QuietErrors())
    runner = web.AppRunner(app, handle_signals=True, access_log_class=PrivateAccessLogger,
                           keepalive_timeout=server.header_timeout, lingering_time=server.body_timeout)
    await runner.setup()
    try:
        await GuardedSite(runner, host, port, server.max_connections, server.max_connections_per_client).start()
        while True:
            await asyncio.sleep(3600)
    finally:
        await runner.cleanup()


def serve(app: web.Application, settings: Settings, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly (the app's cleanup runs)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve(app, settings, host, port))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not main.done():
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
