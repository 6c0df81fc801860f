"""Load generator for the callback benchmark: signed, AES-encrypted Official Account text callbacks.

Runs in its own process (pinned to another CPU than the server), to 127.0.0.1 only, bounded in count
and in time. Every payload is built and encrypted before the clock starts, and requests go out as
pre-encoded HTTP/1.1 keep-alive bytes over a small asyncio protocol, so the generator costs a few µs
per request and can saturate a bare aiohttp handler.

    closed loop:  python bench/loadgen.py --port P --mode closed --concurrency 32 --count 20000 --duration 15
    fixed rate:   python bench/loadgen.py --port P --mode rate --rate 500 --count 5000 --duration 15

Each message comes from one of --residents residents and names a building of the demo org
("3号楼门口路灯不亮了"), so every one files a petition. MsgIds are --id-base + i (distinct across runs).
Prints one JSON object; --acked FILE receives the MsgIds acknowledged with HTTP 200.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from common import OA_AES_KEY, OA_APP_ID, OA_ORIGINAL_ID, OA_TOKEN, latency_ms, pin

BUILDINGS = ("1号楼", "2号楼", "3号楼", "5号楼", "6号楼")
PROBLEMS = (
    "门口路灯不亮了", "楼道灯坏了晚上很黑", "电梯经常停运没人修", "楼下垃圾好几天没人清运", "门口路面塌了一个坑",
    "楼道的灯一直闪", "楼下有人乱停车堵住消防通道", "小区绿化带的树枝断了挡路", "充电桩坏了充不上电",
    "楼道里堆满了杂物", "单元门禁坏了关不上", "下水道堵了污水漫出来", "楼顶漏水家里墙面发霉",
    "广场舞音响太吵影响休息", "楼下施工噪音半夜还在响", "自来水发黄不能喝",
)
SUCCESS_ONLY = 2000  # HTTP 200 with the bare "success" body: acknowledged without an answer
_ENCRYPT = re.compile(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>")
_MSG_SIGNATURE = re.compile(r"<MsgSignature><!\[CDATA\[(.*?)\]\]></MsgSignature>")


def text_for(i: int) -> str:
    return BUILDINGS[i % len(BUILDINGS)] + PROBLEMS[(i // len(BUILDINGS)) % len(PROBLEMS)]


def openid_for(i: int, residents: int) -> str:
    return f"oBench{i % residents:022d}"


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def oa_crypto() -> Any:
    from wechatpy.crypto import WeChatCrypto

    return WeChatCrypto(OA_TOKEN, OA_AES_KEY, OA_APP_ID)


def signed_request(crypto: Any, openid: str, msg_id: int, text: str, now: int, nonce: str) -> bytes:
    """One complete HTTP request: a signed, AES-encrypted Official Account text callback."""
    ts = str(now)
    plain = (f"<xml><ToUserName><![CDATA[{OA_ORIGINAL_ID}]]></ToUserName>"
             f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{now}</CreateTime>"
             f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
             f"<MsgId>{msg_id}</MsgId></xml>")
    enc = crypto.encrypt_message(plain, nonce, ts)
    encrypt = _ENCRYPT.search(enc).group(1)  # type: ignore[union-attr]
    msg_signature = _MSG_SIGNATURE.search(enc).group(1)  # type: ignore[union-attr]
    body = (f"<xml><ToUserName><![CDATA[{OA_ORIGINAL_ID}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()
    query = (f"signature={_sha1(OA_TOKEN, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid={openid}"
             f"&encrypt_type=aes&msg_signature={msg_signature}")
    head = (f"POST /wechat?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


def build_payloads(count: int, id_base: int, residents: int) -> list[bytes]:
    """`count` complete HTTP requests, each a distinct signed and encrypted text callback."""
    crypto, now = oa_crypto(), int(time.time())
    return [signed_request(crypto, openid_for(i, residents), id_base + i, text_for(i), now, f"n{id_base + i}")
            for i in range(count)]


class Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with at most one request in flight; `body` is the last
    response's body."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.body = b""
        self.waiter: asyncio.Future[int] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = self.buf[:end].decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buf) < end + 4 + length:
            return
        body = self.body = self.buf[end + 4:end + 4 + length]
        self.buf = self.buf[end + 4 + length:]
        status = int(head.split(" ", 2)[1])
        if status == 200 and body == b"success":
            status = SUCCESS_ONLY
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(0)

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acked: list[int] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0

    def add(self, index: int, status: int, started: float, done: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(done - started)
        if status in (200, SUCCESS_ONLY):
            self.acked.append(index)
        self.last = max(self.last, done)


async def connect(port: int) -> Conn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Conn, "127.0.0.1", port)
    return conn


async def closed_loop(port: int, payloads: list[bytes], concurrency: int, duration: float) -> Tally:
    """`concurrency` connections, each sending its next request as soon as the last is answered."""
    tally = Tally()
    next_index = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal next_index
        conn = await connect(port)
        while next_index < len(payloads) and time.perf_counter() < deadline:
            i = next_index
            next_index += 1
            started = time.perf_counter()
            status = await conn.request(payloads[i])
            tally.add(i, status, started, time.perf_counter())
            if conn.lost:
                conn = await connect(port)
        assert conn.transport is not None
        conn.transport.close()

    tally.first = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


async def fixed_rate(port: int, payloads: list[bytes], rate: float, duration: float, max_conns: int) -> Tally:
    """Open loop: request i is due at t0 + i/rate whatever happened before; latency counts from then."""
    tally = Tally()
    idle: list[Conn] = []
    open_conns = 0
    tasks: set[asyncio.Task] = set()

    async def one(i: int, due: float) -> None:
        nonlocal open_conns
        if idle:
            conn = idle.pop()
        elif open_conns < max_conns:
            open_conns += 1
            conn = await connect(port)
        else:
            while not idle:
                await asyncio.sleep(0.0005)
            conn = idle.pop()
        status = await conn.request(payloads[i])
        tally.add(i, status, due, time.perf_counter())
        if conn.lost:
            open_conns -= 1
        else:
            idle.append(conn)

    n = min(len(payloads), int(rate * duration))
    t0 = tally.first = time.perf_counter() + 0.05
    i = 0
    while i < n:
        now = time.perf_counter()
        while i < n and t0 + i / rate <= now:
            task = asyncio.create_task(one(i, t0 + i / rate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        if i < n:
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    for conn in idle:
        assert conn.transport is not None
        conn.transport.close()
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("closed", "rate"), default="closed")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--id-base", type=int, default=10_000_000)
    parser.add_argument("--residents", type=int, default=2003)
    parser.add_argument("--max-conns", type=int, default=256)
    parser.add_argument("--cpu", type=int, default=1)
    parser.add_argument("--acked", default="")
    parser.add_argument("--unique", type=int, default=0,
                        help="build only this many distinct payloads and cycle them (the bare handler)")
    args = parser.parse_args()
    args.count = min(args.count, 200_000)
    args.duration = min(args.duration, 120.0)
    pin(args.cpu)
    built = time.perf_counter()
    unique = args.warmup + args.count if args.unique <= 0 else min(args.unique, args.warmup + args.count)
    built_once = build_payloads(unique, args.id_base, args.residents)
    payloads = [built_once[i % unique] for i in range(args.warmup + args.count)]
    build_s = time.perf_counter() - built
    warm, measured = payloads[:args.warmup], payloads[args.warmup:]

    async def run() -> tuple[Tally, Tally]:
        warmed = await closed_loop(args.port, warm, min(8, args.concurrency), 10.0)
        if args.mode == "closed":
            return warmed, await closed_loop(args.port, measured, args.concurrency, args.duration)
        return warmed, await fixed_rate(args.port, measured, args.rate, args.duration, args.max_conns)

    warmed, tally = asyncio.run(run())
    elapsed = max(1e-9, tally.last - tally.first)
    ok = tally.statuses.get(200, 0) + tally.statuses.get(SUCCESS_ONLY, 0)
    out = {
        "mode": args.mode, "concurrency": args.concurrency if args.mode == "closed" else None,
        "target_rate": args.rate if args.mode == "rate" else None,
        "sent": len(tally.latencies), "ok": ok, "success_only": tally.statuses.get(SUCCESS_ONLY, 0), "statuses": {str(k): v for k, v in tally.statuses.items()},
        "elapsed_s": round(elapsed, 3), "throughput_per_s": round(ok / elapsed, 1),
        "warmup": args.warmup, "warmup_ok": len(warmed.acked), "build_s": round(build_s, 2), **latency_ms(tally.latencies),
    }
    if args.acked:
        with open(args.acked, "w", encoding="utf-8") as fh:
            fh.writelines(f"{args.id_base + i}\n" for i in warmed.acked)
            fh.writelines(f"{args.id_base + args.warmup + i}\n" for i in tally.acked)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
