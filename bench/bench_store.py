"""Store-thread cost per message, in process (no HTTP, no AES): the same texts and residents as
bench/loadgen.py, run through `Dispatcher.feed` in group-commit batches of 8 (one savepoint each, one
COMMIT per batch, like the router under load), then the Deliverer drains the outbox rows they wrote.

    python bench/bench_store.py [--messages 3000] [--profile cumulative|tottime]

Prints ms per message on the store thread and ms per outbox row delivered (simulator route). Compare
two trees with `cd OTHER_TREE && python bench/bench_store.py` (each tree imports its own code).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import tempfile
import time

from common import OA_AES_KEY, OA_APP_ID, OA_TOKEN
from loadgen import openid_for, text_for

from bot.app import ROUTERS, open_store
from bot.channels.senders import Senders
from bot.clock import Clock
from bot.config import load_settings
from bot.dispatcher import Dispatcher
from bot.intake import Intake
from bot.messages import Message
from bot.outbox import Deliverer
from language.intents import default_matcher
from storage.writer import Writer

WARMUP, BATCH = 200, 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--profile", choices=("cumulative", "tottime"))
    args = parser.parse_args()
    n = max(args.messages, WARMUP + BATCH)
    workdir = tempfile.mkdtemp(prefix="minsheng-store-")
    settings = load_settings(None, overrides={
        "storage": {"path": f"{workdir}/store.db"}, "simulator": {"enabled": False},
        "limits": {"sender_messages": 1_000_000},   # no flood control: every message is handled (bench/server.py)
        "wechat": {"app_id": OA_APP_ID, "token": OA_TOKEN, "encoding_aes_key": OA_AES_KEY},
    }, environ={})
    db = open_store(settings)
    dispatcher = Dispatcher(settings, Clock(), default_matcher(), ROUTERS)
    msgs = [Message("oa", "resident", openid_for(i, 2003), "text", text_for(i), key=f"oa:{9_000_000 + i}")
            for i in range(n)]
    for m in msgs[:WARMUP]:
        dispatcher.feed_now(db, m)
    profile = cProfile.Profile() if args.profile else None
    conn = db.conn
    started = time.perf_counter()
    if profile:
        profile.enable()
    for i in range(WARMUP, n, BATCH):
        conn.execute("BEGIN IMMEDIATE")
        for m in msgs[i:i + BATCH]:
            conn.execute("SAVEPOINT item")
            dispatcher.feed(db, m)
            conn.execute("RELEASE item")
        conn.execute("COMMIT")
    if profile:
        profile.disable()
    per_message = (time.perf_counter() - started) / (n - WARMUP) * 1000

    intake = Intake(Writer(db), dispatcher, settings)
    deliverer = Deliverer(intake, Senders(settings))

    async def drain() -> tuple[int, float]:
        t = time.perf_counter()
        rows = await deliverer.drain(rounds=10_000)
        return rows, time.perf_counter() - t

    rows, seconds = asyncio.run(drain())
    intake.close()
    print(json.dumps({"bench": "store", "messages": n - WARMUP, "handle_ms_per_message": round(per_message, 3),
                      "outbox_rows": rows, "deliver_ms_per_row": round(seconds / max(rows, 1) * 1000, 3)}))
    if profile:
        pstats.Stats(profile).sort_stats(args.profile).print_stats(40)


if __name__ == "__main__":
    main()
