"""Event-loop cost of one Official Account safe-mode (AES) text callback, in process, without the store.

The product's `/wechat` POST handler (`bot.channels.wechat.callback`) runs on requests made with
aiohttp's `make_mocked_request`, built from the same signed, encrypted payloads as bench/loadgen.py;
`Intake.answer` is replaced by a coroutine that answers at once (no store thread, no SQLite): with a
typical reply (`--answer reply`: rendered and encrypted) or with nothing (`--answer success`, what a
callback answers under load, when its replies follow as messages), so what is timed is the channel
code: signature checks, XML check and parse, AES decrypt, fields, the reply, the Response object. aiohttp's HTTP parsing and response writing
are not included (see bench_callbacks.py for the whole server).

    python bench/bench_loop.py [--messages 5000] [--repeat 5] [--profile cumulative|tottime]

Compare two trees with `cd OTHER_TREE && python bench/bench_loop.py` (each imports its own code).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import statistics
import tempfile
import time

from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
from common import OA_AES_KEY, OA_APP_ID, OA_TOKEN
from loadgen import build_payloads

REPLY = [("已收到您反映的问题：3号楼门口路灯不亮了。编号 #12345，已转给网格员张三处理，"
          "处理进展会通知您。回复“进度”可随时查看。")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", choices=("cumulative", "tottime"))
    parser.add_argument("--answer", choices=("reply", "success"), default="reply")
    args = parser.parse_args()

    from bot.app import create_app
    from bot.channels import wechat
    from bot.config import load_settings
    from bot.keys import INTAKE

    workdir = tempfile.mkdtemp(prefix="minsheng-loop-")
    settings = load_settings(None, overrides={
        "storage": {"path": f"{workdir}/store.db"}, "simulator": {"enabled": False},
        "limits": {"sender_messages": 1_000_000},   # no flood control: every message is handled (bench/server.py)
        "wechat": {"app_id": OA_APP_ID, "token": OA_TOKEN, "encoding_aes_key": OA_AES_KEY},
    }, environ={})
    app = create_app(settings, deliver=False, schedule=False)
    core = app[INTAKE]

    async def answer(msg: object, within: float) -> list[str]:
        return REPLY if args.answer == "reply" else []

    core.answer = answer  # type: ignore[method-assign]
    raw = build_payloads(args.messages, 30_000_000, 2003)
    parsed = []
    for req in raw:
        head, body = req.split(b"\r\n\r\n", 1)
        path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
        parsed.append((path, body))

    async def run_once(profile: cProfile.Profile | None = None) -> float:
        requests = []
        for path, body in parsed:
            payload = StreamReader(protocol=_Proto(), limit=2 ** 16, loop=asyncio.get_running_loop())
            payload.feed_data(body)
            payload.feed_eof()
            requests.append(make_mocked_request("POST", path, headers={"Content-Type": "text/xml",
                                                                       "Content-Length": str(len(body))},
                                                payload=payload, app=app))
        gc.collect()
        gc.freeze()  # the mocked requests are many objects: keep the collector out of the timing
        if profile:
            profile.enable()
        started = time.perf_counter()
        for request in requests:
            response = await wechat.callback(request)
            if response.status != 200:
                raise SystemExit(f"unexpected status {response.status}: {response.text}")
        elapsed = time.perf_counter() - started
        gc.unfreeze()
        if profile:
            profile.disable()
        return elapsed / len(requests) * 1e6

    async def run() -> list[float]:
        await run_once()  # warm-up
        profile = cProfile.Profile() if args.profile else None
        out = [await run_once(profile) for _ in range(args.repeat)]
        if profile:
            profile.disable()
            pstats.Stats(profile).sort_stats(args.profile).print_stats(30)
        return out

    per = asyncio.run(run())
    core.close()
    print(f"callback (channel code, store stubbed): median {statistics.median(per):.1f} µs/message, "
          f"min {min(per):.1f}, runs {[round(p, 1) for p in per]}")


class _Proto:
    """The minimal protocol a StreamReader needs."""

    _reading_paused = False

    def pause_reading(self, **_: object) -> None:
        pass

    def resume_reading(self, **_: object) -> None:
        pass


if __name__ == "__main__":
    main()
