"""A stand-in for the WeChat API during the callback benchmark: the replies that go out as messages
(customer-service sends) land here. Runs in its own process pinned to the load generator's CPU, on
127.0.0.1 only; prints "READY <port>". Every call succeeds; GET /count answers how many sends it took.

    python bench/fakeapi.py --cpu 1
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web
from common import pin, serve_until_signal


def make_app() -> web.Application:
    counts = {"sends": 0, "tokens": 0}

    async def token(request: web.Request) -> web.Response:
        counts["tokens"] += 1
        return web.json_response({"access_token": "BENCH_TOKEN", "expires_in": 7200})

    async def send(request: web.Request) -> web.Response:
        await request.read()
        counts["sends"] += 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def count(request: web.Request) -> web.Response:
        return web.json_response(counts)

    app = web.Application()
    app.router.add_get("/cgi-bin/token", token)
    app.router.add_get("/count", count)
    app.router.add_post("/{tail:.*}", send)
    return app


async def serve(port: int) -> None:
    await serve_until_signal(web.AppRunner(make_app(), access_log=None), port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=1)
    args = parser.parse_args()
    pin(args.cpu)
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    sys.exit(main())
