"""The server side of the callback benchmark, run in its own process pinned to one CPU.

    python bench/server.py --mode app --port 0 --db /tmp/x.db [--cpu 0]
    python bench/server.py --mode bare --port 0

`app` is the product (bot.app.create_app) with the Official Account channel in safe (AES) mode;
`bare` is an aiohttp handler that reads the body and answers "success": the ceiling of any aiohttp
webhook on this machine. Both run the way `minsheng serve` does (INFO logging, aiohttp's access log through
bot.accesslog.PrivateAccessLogger, here written to --log); the benchmark runs `bare` with
--no-access-log, the strictest ceiling. The bound port is printed as "READY <port>" on stdout. SIGTERM stops the server;
the benchmark uses SIGKILL to prove that every acknowledged message is already on disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from common import OA_AES_KEY, OA_APP_ID, OA_TOKEN, pin, serve_until_signal


async def bare_handler(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(text="success")


def bare_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/wechat", bare_handler)
    return app


def product_app(db_path: str, api: str, url: str = "") -> web.Application:
    """`api`: the base URL of bench/fakeapi.py, where replies sent as messages go (never the real API);
    `url`: a postgresql:// store instead of the SQLite file at `db_path`."""
    from bot.app import create_app
    from bot.config import load_settings

    settings = load_settings(None, overrides={
        "storage": {"path": db_path, "url": url},
        "simulator": {"enabled": False},
        # a bench resident sends far more than a person could: flood control would hold most messages and
        # measure something cheaper than handling them, so it is off here
        "limits": {"sender_messages": 1_000_000},
        "wechat": {"app_id": OA_APP_ID, "app_secret": "bench", "token": OA_TOKEN, "encoding_aes_key": OA_AES_KEY,
                   "api_base_url": api},
    }, environ={})
    return create_app(settings)


def report_store(app: web.Application, path: str) -> None:
    """Every 0.5 s, write the store thread's batch counters (committed batches, items in them) to `path`
    as JSON, so the benchmark can read them after the SIGKILL."""
    from bot.keys import INTAKE

    async def loop(app: web.Application) -> AsyncIterator[None]:
        async def write() -> None:
            while True:
                await asyncio.sleep(0.5)
                core = app[INTAKE]
                Path(path).write_text(json.dumps({"batches": core.writer.batches, "items": core.writer.batched_items,
                                                  "handled": core.handled, "backlog": core.backlog}))

        task = asyncio.create_task(write())
        yield
        task.cancel()

    app.cleanup_ctx.append(loop)


async def serve(app: web.Application, port: int, access_log: bool) -> None:
    from bot.accesslog import PrivateAccessLogger

    # the access logger of `minsheng serve` (web.run_app(..., access_log_class=PrivateAccessLogger))
    runner = web.AppRunner(app, access_log=logging.getLogger("aiohttp.access") if access_log else None,
                           access_log_class=PrivateAccessLogger)
    await serve_until_signal(runner, port, backlog=1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("bare", "app"), required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", default=":memory:")
    parser.add_argument("--url", default="", help="app: a postgresql:// store instead of --db")
    parser.add_argument("--api", default="http://127.0.0.1:9/cgi-bin/",
                        help="app: WeChat API base URL (bench/fakeapi.py); the default refuses connections")
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--log", default="/dev/null")
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument("--profile", default="", help="write a pyinstrument HTML/text profile here")
    parser.add_argument("--store-stats", default="", help="app: write the store thread's batch counters here")
    parser.add_argument("--switch-interval", type=float, default=0.0,
                        help="experiment: sys.setswitchinterval(SECONDS) (default: Python's 0.005)")
    args = parser.parse_args()
    if args.switch_interval > 0:
        sys.setswitchinterval(args.switch_interval)
    pin(args.cpu)
    logging.basicConfig(level=logging.INFO, filename=args.log,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = bare_app() if args.mode == "bare" else product_app(args.db, args.api, args.url)
    if args.mode == "app":
        from bot.app import tune_gc

        tune_gc()   # as `minsheng serve` does
    if args.mode == "app" and args.store_stats:
        report_store(app, args.store_stats)
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        try:
            asyncio.run(serve(app, args.port, not args.no_access_log))
        finally:
            profiler.stop()
            with open(args.profile, "w", encoding="utf-8") as fh:
                fh.write(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    asyncio.run(serve(app, args.port, not args.no_access_log))


if __name__ == "__main__":
    sys.exit(main())
