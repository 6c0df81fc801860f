"""Handled-report benchmark: how long a resident waits for the petition number, Minsheng against the
plain bot (../shared/peers/plain_bot.py, run from there, unchanged), in the same run.

Each server runs pinned to CPU 0; this driver (load and the fake WeChat API) to CPU 1. Residents are
bound first (not measured). Then, at each offered rate (100, 200, 400, 800, 1,600, 3,200 reports/s, 5 s
each, open loop: report i is due at t0 + i/rate whatever happened before), every report comes from a
distinct bound resident as a signed, AES-encrypted callback; its wait is from its due time until the
resident has the number: the passive reply that carries it, or the customer-service message that
carries it reaching the fake API. A step starts only once the previous one is answered (or after
DRAIN_LIMIT). Capacity: the highest rate with p99 <= 5 s, every report answered and no number given
twice (a passive reply and a message, or two messages).

On PostgreSQL (issue 16), when its server binaries are installed: a throw-away cluster with PostgreSQL's
durable defaults (fsync, synchronous_commit and full_page_writes on), a fresh database per run, and
Minsheng with one instance (pinned to CPU 0) and with two (CPU 0 and CPU 1, the second beside this
driver), the driver sending report i to instance i mod n, as a round-robin load balancer would. After
each PostgreSQL run: every report is filed once (one `inbound` row and one petition per MsgId).

    python bench/bench_handled.py [--quick] [--only minsheng|plain|pg]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from common import BENCH, OA_AES_KEY, OA_APP_ID, OA_TOKEN, PY, REPO, pct, pin, save_section
from loadgen import Conn, oa_crypto, signed_request

PLAIN_BOT = REPO.parent / "shared" / "peers" / "plain_bot.py"
RATES = (100, 200, 400, 800, 1600, 3200)
PG_RATES = (100, 200, 300, 400, 500, 600, 800, 1000, 1200)   # finer: PostgreSQL's capacity is lower
STEP_SECONDS = 5.0
DRAIN_LIMIT = 30.0          # seconds a step's last reports may take before it counts as unanswered
WINDOW = 5.0                # WeChat's answer window: capacity needs p99 within it
SERVER_CPU, DRIVER_CPU = 0, 1
# a petition number: "编号 12" (filed) or "（12 号，当前：…）" (merged into a neighbour's); never "3号楼"
NUMBER = re.compile(r"编号\s*\d+|\d+\s*号(?![楼栋])")
_SIGNATURE = re.compile(rb"<MsgSignature><!\[CDATA\[(.*?)\]\]></MsgSignature>")
CRYPTO = oa_crypto()
EXTRA: list[str] = []        # more bench/server.py arguments for Minsheng (--server-arg), for experiments


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the fake WeChat API: where replies sent as messages arrive ------------------------------------------


class FakeApi:
    def __init__(self) -> None:
        self.numbers: dict[str, float] = {}   # openid -> when a message with a petition number arrived
        self.counts: dict[str, int] = {}      # openid -> how many messages with a number arrived
        self.sends = 0

    def app(self) -> web.Application:
        async def token(request: web.Request) -> web.Response:
            return web.json_response({"access_token": "BENCH_TOKEN", "expires_in": 7200})

        async def send(request: web.Request) -> web.Response:
            body = json.loads(await request.read() or b"{}")
            self.sends += 1
            content = str((body.get("text") or {}).get("content", ""))
            if NUMBER.search(content):
                who = str(body.get("touser", ""))
                self.numbers.setdefault(who, time.perf_counter())
                self.counts[who] = self.counts.get(who, 0) + 1
            return web.json_response({"errcode": 0, "errmsg": "ok"})

        app = web.Application()
        app.router.add_get("/cgi-bin/token", token)
        app.router.add_post("/{tail:.*}", send)
        return app


# -- signed callbacks ------------------------------------------------------------------------------------


def callback(openid: str, msg_id: int, text: str) -> bytes:
    return signed_request(CRYPTO, openid, msg_id, text, int(time.time()), f"h{msg_id}")


def passive_number(body: bytes) -> bool:
    """Does this passive reply (encrypted) carry a petition number?"""
    if not body or body == b"success":
        return False
    try:
        plain = CRYPTO.decrypt_message(body.decode(), _SIGNATURE.search(body).group(1).decode(),  # type: ignore[union-attr]
                                       re.search(rb"<TimeStamp>(\d+)</TimeStamp>", body).group(1).decode(),  # type: ignore[union-attr]
                                       re.search(rb"<Nonce><!\[CDATA\[(.*?)\]\]></Nonce>", body).group(1).decode())  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - an answer that cannot be read carries no number
        return False
    return bool(NUMBER.search(plain))


class Spread:
    """Several instances behind a round-robin balancer: each send goes to the next one's pool."""

    def __init__(self, pools: list[Pool]) -> None:
        self.pools, self.next = pools, 0

    async def send(self, data: bytes) -> tuple[int, bytes]:
        pool = self.pools[self.next % len(self.pools)]
        self.next += 1
        return await pool.send(data)

    def close(self) -> None:
        for pool in self.pools:
            pool.close()


class Pool:
    def __init__(self, port: int, limit: int = 1024) -> None:
        self.port, self.limit, self.idle, self.open = port, limit, [], 0

    async def send(self, data: bytes) -> tuple[int, bytes]:
        while not self.idle and self.open >= self.limit:
            await asyncio.sleep(0.0005)
        if self.idle:
            conn = self.idle.pop()
        else:
            self.open += 1
            _, conn = await asyncio.get_running_loop().create_connection(Conn, "127.0.0.1", self.port)
        status = await conn.request(data)
        if conn.lost:
            self.open -= 1
        else:
            self.idle.append(conn)
        return status, conn.body

    def close(self) -> None:
        for conn in self.idle:
            if conn.transport is not None and not conn.lost:
                conn.transport.close()
        self.idle, self.open = [], 0


# -- one server under rising load ----------------------------------------------------------------------


def openid(i: int) -> str:
    return f"oHandled{i:020d}"


async def bind(pool: Pool | Spread, residents: int, id_base: int) -> int:
    """Bind `residents` residents (closed loop, 16 at a time); returns how many were answered."""
    done = 0

    async def worker(start: int) -> None:
        nonlocal done
        for i in range(start, residents, 16):
            status, _ = await pool.send(callback(openid(i), id_base + i, f"我住{1 + i % 3}号楼{1 + i % 4}单元{101 + i % 900}"))
            done += status == 200
    await asyncio.gather(*(worker(k) for k in range(16)))
    return done


async def settle(api: FakeApi, quiet: float = 2.0, limit: float = 120.0) -> None:
    """Until the server has sent nothing for `quiet` seconds: binding is acknowledged before it is
    handled, and a step must not start behind that backlog."""
    deadline = time.perf_counter() + limit
    last, since = api.sends, time.perf_counter()
    while time.perf_counter() < deadline and time.perf_counter() - since < quiet:
        await asyncio.sleep(0.1)
        if api.sends != last:
            last, since = api.sends, time.perf_counter()


async def step(pool: Pool | Spread, api: FakeApi, rate: int, id_base: int, seconds: float) -> dict[str, Any]:
    """Reports at `rate`/s for `seconds`; the wait of each until its resident has the number."""
    n = int(rate * seconds)
    payloads = [callback(openid(i), id_base + i, f"{1 + i % 3}号楼楼道灯坏了好几天了，晚上很黑") for i in range(n)]
    api.numbers.clear()
    api.counts.clear()
    due: list[float] = []
    got: dict[int, float] = {}
    tasks: set[asyncio.Task] = set()

    async def one(i: int) -> None:
        status, body = await pool.send(payloads[i])
        if status == 200 and passive_number(body):   # a bare "success" is loadgen's SUCCESS_ONLY
            got[i] = time.perf_counter()

    t0 = time.perf_counter() + 0.05
    for i in range(n):
        due.append(t0 + i / rate)
        delay = due[i] - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    deadline = time.perf_counter() + DRAIN_LIMIT
    while time.perf_counter() < deadline:
        if not tasks and all(i in got or openid(i) in api.numbers for i in range(n)):
            break
        await asyncio.sleep(0.05)
    waits = []
    for i in range(n):
        at = got.get(i, api.numbers.get(openid(i)))
        if at is not None:
            waits.append(max(0.0, at - due[i]))
    answered = len(waits)
    # the number given twice: a passive reply and a message, or two messages
    twice = sum(1 for i in range(n) if api.counts.get(openid(i), 0) + (i in got) > 1)
    return {"rate": rate, "reports": n, "answered": answered, "passive": len(got), "twice": twice,
            "p50_s": round(pct(waits, 50), 3), "p99_s": round(pct(waits, 99), 3),
            "max_s": round(max(waits), 3) if waits else None,
            "ok": answered == n and twice == 0 and pct(waits, 99) <= WINDOW}


def start(name: str, workdir: Path, api_port: int, cpu: int = SERVER_CPU,
          url: str = "") -> tuple[subprocess.Popen, int]:
    port = free_port()
    if name == "plain":
        cfg = workdir / "plain.toml"
        cfg.write_text(f'[server]\nport = {port}\n[storage]\npath = "{workdir}/plain.db"\n'
                       f'[wechat]\napp_id = "{OA_APP_ID}"\ntoken = "{OA_TOKEN}"\n'
                       f'encoding_aes_key = "{OA_AES_KEY}"\n', encoding="utf-8")
        cmd = [PY, str(PLAIN_BOT), "--config", str(cfg)]
    else:
        cmd = [PY, str(BENCH / "server.py"), "--mode", "app", "--cpu", str(cpu), "--port", str(port),
               "--db", str(workdir / "store.db"), "--api", f"http://127.0.0.1:{api_port}/cgi-bin/",
               "--log", str(workdir / f"{name}.log"), "--no-access-log", "--url", url, *EXTRA]
    err = open(workdir / f"{name}.err", "w", encoding="utf-8")   # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=err)
    try:
        os.sched_setaffinity(proc.pid, {cpu})
    except (AttributeError, OSError):
        pass
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{name} did not start; see {workdir}/{name}.err")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds the processes `pids` have used so far (0 for those gone)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (the benchmark's cluster; others idle)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


class CpuMeter:
    """CPU per report of a step: the instances', PostgreSQL's (all its processes) and this driver's."""

    def __init__(self, procs: list[subprocess.Popen]) -> None:
        self.groups = {"instances": lambda: [p.pid for p in procs], "postgres": postgres_pids,
                       "driver": lambda: [os.getpid()]}
        self.start: dict[str, float] = {}

    def begin(self) -> None:
        self.start = {k: cpu_seconds(f()) for k, f in self.groups.items()}

    def per_report_ms(self, reports: int) -> dict[str, float]:
        return {k: round((cpu_seconds(f()) - self.start[k]) * 1000 / max(reports, 1), 2)
                for k, f in self.groups.items()}


async def measure(name: str, rates: tuple[int, ...], seconds: float, instances: int = 1,
                  url: str = "") -> dict[str, Any]:
    api = FakeApi()
    runner = web.AppRunner(api.app(), access_log=None)
    await runner.setup()
    api_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    workdir = Path(tempfile.mkdtemp(prefix=f"minsheng-handled-{name}-"))
    procs, pools = [], []
    for k in range(instances):   # one after the other: the first applies the migrations
        proc, port = start(f"{name}-{k}" if instances > 1 else name, workdir, api_port,
                           (SERVER_CPU + k) % (os.cpu_count() or 1), url)
        procs.append(proc)
        pools.append(Pool(port))
    pool: Pool | Spread = pools[0] if instances == 1 else Spread(pools)
    steps: list[dict[str, Any]] = []
    try:
        residents = int(max(rates) * seconds)
        bound = await bind(pool, residents, 10_000_000)
        await settle(api)
        meter = CpuMeter(procs)
        for k, rate in enumerate(rates):
            meter.begin()
            result = await step(pool, api, rate, 20_000_000 + k * 1_000_000, seconds)
            result["cpu_ms_per_report"] = meter.per_report_ms(result["reports"])
            steps.append(result)
            print(json.dumps({"server": name, **result}), flush=True)
            if not result["ok"]:
                break
    finally:
        pool.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        await runner.cleanup()
    capacity = max((s["rate"] for s in steps if s["ok"]), default=0)
    return {"bound": bound, "steps": steps, "capacity_per_s": capacity}


def once(url: str, result: dict[str, Any]) -> dict[str, Any]:
    """Every message of the run handled once (an `inbound` row each: its key is the primary key, so
    never twice; as many as were sent, so none lost), none left in the intake journal. A number given
    twice is counted by each step (`twice`)."""
    import psycopg

    reports = sum(s["reports"] for s in result["steps"])
    with psycopg.connect(url, autocommit=True) as conn:
        inbound, intake = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("inbound", "intake"))
    return {"messages": reports + result["bound"], "handled": inbound, "intake_left": intake,
            "ok": inbound == reports + result["bound"] and intake == 0}


def on_postgresql(rates: tuple[int, ...], seconds: float) -> dict[str, Any]:
    """Minsheng on a throw-away durable PostgreSQL cluster, with one and with two instances."""
    from tests import pgcluster
    from tests.pgfixtures import fresh_database

    if pgcluster.bindir() is None:
        return {"skipped": "PostgreSQL's server binaries are not installed"}
    base = tempfile.mkdtemp(prefix="minsheng-bench-pg-")
    out: dict[str, Any] = {}
    try:
        admin = pgcluster.start(base, free_port(), durable=True)
        for n in (1, 2):
            with fresh_database(admin) as url:
                result = asyncio.run(measure(f"pg{n}", rates, seconds, instances=n, url=url))
                result["exactly_once"] = once(url, result)
                out[f"instances_{n}"] = result
                print(json.dumps({"server": f"minsheng-pg{n}", "capacity_per_s": result["capacity_per_s"],
                                  "exactly_once": result["exactly_once"]}), flush=True)
    finally:
        pgcluster.stop(base)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 to 800 reports/s, 2 s each")
    parser.add_argument("--only", choices=("minsheng", "plain", "pg"))
    parser.add_argument("--server-arg", action="append", default=[], help="passed to bench/server.py")
    args = parser.parse_args()
    EXTRA.extend(args.server_arg)
    pin(DRIVER_CPU)
    rates, seconds = (RATES[:4], 2.0) if args.quick else (RATES, STEP_SECONDS)
    out: dict[str, Any] = {}
    for name in ("minsheng", "plain"):
        if args.only in (None, name):
            out[name] = asyncio.run(measure(name, rates, seconds))
    if args.only in (None, "pg"):
        out["postgresql"] = on_postgresql(PG_RATES[:5] if args.quick else PG_RATES, seconds)
    if "minsheng" in out and "plain" in out:
        plain = out["plain"]["capacity_per_s"]
        out["capacity_ratio"] = round(out["minsheng"]["capacity_per_s"] / plain, 2) if plain else None
        at400 = [s for s in out["minsheng"]["steps"] if s["rate"] == 400]
        out["minsheng_p99_at_400_s"] = at400[0]["p99_s"] if at400 else None
    save_section("handled", out)
    pg = {f"pg_{k}": v["capacity_per_s"] for k, v in out.get("postgresql", {}).items() if isinstance(v, dict)}
    print(json.dumps({k: v for k, v in out.items() if k not in ("minsheng", "plain", "postgresql")}
                     | {n: out[n]["capacity_per_s"] for n in ("minsheng", "plain") if n in out} | pg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
