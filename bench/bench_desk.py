"""Workbench benchmark (issue 15, point 6): the /admin pages over 1,000,000 petitions, as a worker and as staff.

    python bench/bench_desk.py [--petitions 1000000] [--requests 30] [--quick] [--cases list,detail]
                               [--roles staff,worker] [--src TREE] [--profile prof.txt] [--url postgresql://…]

The store is made once by bench/desk_data.py and cached in bench/.cache/ (≈2 min, ≈1.3 GB); its migrations
are applied once by the tree served; each run serves a fresh copy (the server writes sessions, audit rows).
The real app (bot.app.create_app, like `minsheng serve`, clock jobs and deliveries off so only the pages
are measured) runs in its own process on 127.0.0.1; two accounts get passwords (storage/accounts.py):
`sun.hong` (staff, every grid) and `desk.w03` (worker of grid g3, ≈5% of the petitions). Each logs in over
HTTP (login form, `_csrf`, session cookie) and every page is fetched `--requests` times one after the
other, then by 4 concurrent clients; wall time per request, body read, p50/p95/max. Target: p95 ≤ 300 ms
for every page. `--src` serves another tree (e.g. a scratch merge of the page branches); `--profile`
records the server with py-spy for the whole run (summarise with bench/spy_summary.py).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import quote

import desk_data
from common import CACHE, PY, REPO, pct, save_section

TARGET_MS = 300.0
PASSWORD = "desk-bench-2026"
ACCOUNTS = {"staff": "sun.hong", "worker": "desk.w03"}
WORKER_GRID = "g3"
PHASE_SECONDS = 20.0      # each phase of each page stops after this long, whatever the count
CONCURRENCY = 4
# the list's query parameters as bot/web/desk/orders/query.py reads them (state = open|fixed|closed|all,
# from/to = days, page ≤ 200)
LIST = "/admin/orders"


def page_cases(grid: str, detail: int) -> dict[str, str]:
    return {
        "list": LIST,
        "list_open_grid_overdue": f"{LIST}?state=open&grid={grid}&overdue=1",
        "list_search": f"{LIST}?state=all&q={quote('漏水')}",
        "list_dates_category": f"{LIST}?state=all&from=2025-06-01&to=2025-06-30&category=utilities",
        "list_late_page": f"{LIST}?state=all&page=200",
        # few rows match (closed, rated 不满意, a rare category): the walk reads every entry of its index
        "list_rare_combination": f"{LIST}?state=closed&unsat=1&category=construction",
        "detail_many_events": f"{LIST}/{detail}",
        "numbers": "/admin/numbers",
        "numbers_year": "/admin/numbers?from=2025-12-01&to=2026-11-30",
        "numbers_two_years": "/admin/numbers?from=2024-12-01&to=2026-11-30",
        "map": "/admin/map",
    }


# office pages (staff only; a worker is refused them): those that read the 200,000 residents or the outbox
OFFICE_CASES = {"roster": "/admin/roster", "deliveries": "/admin/deliveries", "announcements": "/admin/announcements"}


# --- the store and the server (children run the served tree's code) ---------------------------------

def store_path(petitions: int) -> Path:
    return CACHE / f"desk-v{desk_data.GEN_VERSION}-{petitions}.db"


def child_env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}


def migrated_path(petitions: int, src: Path) -> Path:
    """The generated store with the served tree's migrations applied, named by their names and contents
    (another tree, or a changed migration, gets its own copy; older ones are removed)."""
    digest = hashlib.sha256()
    for p in sorted((src / "storage" / "migrations").glob("*.sql")):
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    return CACHE / f"desk-v{desk_data.GEN_VERSION}-{petitions}-m{digest.hexdigest()[:10]}.db"


def ensure_store(petitions: int, src: Path) -> dict[str, Any]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path, ready = store_path(petitions), migrated_path(petitions, src)
    info: dict[str, Any] = {"path": str(ready.relative_to(REPO)), "petitions": petitions}
    if not path.is_file():
        tmp = path.with_suffix(".tmp")
        info["generated_s"] = desk_data.generate(tmp, petitions)["seconds"]
        Path(f"{tmp}.json").rename(f"{path}.json")
        tmp.rename(path)
    if not ready.is_file():
        others = sorted(CACHE.glob(f"{path.stem}-m*.db"), key=lambda p: p.stat().st_mtime)
        for stale in others[:-1]:   # keep one other tree's copy (e.g. main and a scratch merge)
            for p in (stale, Path(f"{stale}-wal"), Path(f"{stale}-shm")):
                p.unlink(missing_ok=True)
        shutil.copyfile(path, ready.with_suffix(".tmp"))
        t0 = time.perf_counter()   # the served tree's migrations, once (what a deployment would see)
        subprocess.run([PY, __file__, "--child", "migrate", "--db", str(ready.with_suffix(".tmp")), "--src",
                        str(src)], check=True, env=child_env(src), timeout=1800)
        info["open_and_migrate_s"] = round(time.perf_counter() - t0, 2)
        ready.with_suffix(".tmp").rename(ready)
    info["size_mb"] = round(ready.stat().st_size / 2**20, 1)
    info["generated"] = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    return info


def child_migrate(db_path: str) -> None:
    from storage.db import open_db

    open_db(db_path).conn.close()


def child_serve(db_path: str, url: str = "") -> None:
    """The served process: passwords for the two accounts, then the app on 127.0.0.1 (port printed);
    on the PostgreSQL store at `url` when given."""
    from datetime import datetime

    from aiohttp import web
    from common import serve_until_signal

    from bot.app import create_app, tune_gc
    from bot.config import load_settings
    from bot.web.desk.auth import hash_password
    from storage import accounts
    from storage.db import open_db

    db = open_db(url or db_path)
    for userid in ACCOUNTS.values():
        accounts.set_password(db, userid, hash_password(PASSWORD), datetime.now(UTC))
    if db.conn.in_transaction:
        db.conn.commit()
    db.conn.close()
    settings = load_settings(None, overrides={"storage": {"path": db_path, "url": url},
                                              "simulator": {"enabled": False}}, environ={})
    app = create_app(settings, deliver=False, schedule=False)
    tune_gc()
    asyncio.run(serve_until_signal(web.AppRunner(app, access_log=None), 0))


def start_server(db: Path, src: Path, url: str = "") -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([PY, __file__, "--child", "serve", "--db", str(db), "--src", str(src), "--url", url],
                            stdout=subprocess.PIPE, text=True, env=child_env(src))
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc, int(line.split()[1])


def detail_ids(db: Path, generated: dict[str, Any]) -> dict[str, int]:
    """The petition with the most events, of all (staff) and of the worker's grid."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    long_ones = [r[0] for r in conn.execute(
        "SELECT id FROM petitions WHERE grid = ? AND id % ? = 0", (WORKER_GRID, desk_data.LONG_EVERY))]
    counts = [(conn.execute("SELECT count(*) FROM events WHERE petition = ?", (pid,)).fetchone()[0], pid)
              for pid in long_ones]
    conn.close()
    worker = max(counts) if counts else (0, 1)
    return {"staff": generated["busiest"][0][0], "staff_events": generated["busiest"][0][1],
            "worker": worker[1], "worker_events": worker[0]}


# --- measuring -----------------------------------------------------------------------------------------

async def login(session: Any, base: str, userid: str) -> bool:
    async with session.get(f"{base}/admin/login") as r:
        html = await r.text()
    m = re.search(r'name="_csrf"[^>]*value="([^"]+)"', html) or re.search(r'value="([^"]+)"[^>]*name="_csrf"', html)
    if not m:
        return False
    async with session.post(f"{base}/admin/login", allow_redirects=False,
                            data={"userid": userid, "password": PASSWORD, "_csrf": m.group(1)}) as r:
        await r.read()
        if r.status not in (302, 303):
            return False
    async with session.get(f"{base}/admin/me", allow_redirects=False) as r:   # the session holds
        await r.read()
        return r.status == 200


async def fetch(session: Any, url: str) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    async with session.get(url, allow_redirects=False) as r:
        body = await r.read()
    return time.perf_counter() - t0, r.status, len(body)


def stats(samples: list[tuple[float, int, int]]) -> dict[str, Any]:
    times = [s[0] for s in samples]
    return {"n": len(times), "p50_ms": round(pct(times, 50) * 1000, 1), "p95_ms": round(pct(times, 95) * 1000, 1),
            "max_ms": round(max(times, default=0) * 1000, 1)}


async def measure(session: Any, url: str, requests: int) -> dict[str, Any]:
    first = await fetch(session, url)   # warm-up (and the status of the page)
    seq: list[tuple[float, int, int]] = []
    stop = time.perf_counter() + PHASE_SECONDS
    while len(seq) < requests and time.perf_counter() < stop:
        seq.append(await fetch(session, url))
    conc: list[tuple[float, int, int]] = []
    stop, started = time.perf_counter() + PHASE_SECONDS, [0]

    async def client() -> None:
        while started[0] < requests and time.perf_counter() < stop:
            started[0] += 1
            conc.append(await fetch(session, url))

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    status = Counter(s[1] for s in [first, *seq, *conc]).most_common(1)[0][0]
    return {"url": url, "status": status, "bytes": first[2], "first_ms": round(first[0] * 1000, 1),
            "sequential": stats(seq), f"concurrent_{CONCURRENCY}": stats(conc)}


async def run_role(port: int, role: str, detail: int, names: list[str], requests: int) -> dict[str, Any]:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    jar = aiohttp.CookieJar(unsafe=True)   # cookies for an IP address
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=60)) as session:
        if not await login(session, base, ACCOUNTS[role]):
            return {"error": "login failed"}
        out: dict[str, Any] = {"userid": ACCOUNTS[role]}
        cases = {**page_cases(WORKER_GRID, detail), **(OFFICE_CASES if role == "staff" else {})}
        for name, path in cases.items():
            if not names or name in names:
                out[name] = await measure(session, base + path, requests)
                print(f"  {role:6s} {name:24s} {summary_line(out[name])}", file=sys.stderr, flush=True)
        return out


def summary_line(r: dict[str, Any]) -> str:
    c = r[f"concurrent_{CONCURRENCY}"]
    return (f"{r['status']} {r['bytes']:>8} B  seq p50 {r['sequential']['p50_ms']:>7} p95 {r['sequential']['p95_ms']:>7}"
            f" max {r['sequential']['max_ms']:>7}  c{CONCURRENCY} p95 {c['p95_ms']:>7} max {c['max_ms']:>7} ms")


def judge(pages: dict[str, Any]) -> dict[str, Any]:
    """Pages over the target (p95, either phase) and pages that did not answer 200."""
    over, missing, worst = [], [], (0.0, "")
    for role, cases in pages.items():
        for name, r in cases.items():
            if not isinstance(r, dict):
                continue
            if r.get("status") != 200:
                missing.append(f"{role}:{name} answered {r.get('status')}")
                continue
            for phase in ("sequential", f"concurrent_{CONCURRENCY}"):
                p95 = r[phase]["p95_ms"]
                worst = max(worst, (p95, f"{role}:{name} ({phase})"))
                if p95 > TARGET_MS:
                    over.append(f"{role}:{name} {phase} p95 {p95} ms")
    return {"pages_p95_le_300ms": not over and not missing, "over": over, "not_200": missing,
            "worst_p95_ms": worst[0], "worst_page": worst[1]}


def to_postgresql(store: Path, url: str) -> dict[str, Any]:
    """The PostgreSQL database at `url` holding the store (`minsheng db copy`, once: a database that
    holds petitions already is served as it is)."""
    import psycopg

    from storage.db import migrate_target

    migrate_target(url)
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT count(*) FROM petitions").fetchone()[0]:
            return {"copied": False}
    t0 = time.perf_counter()
    subprocess.run([PY, "-m", "bot", "db", "copy", "--from", f"sqlite:///{store}", "--to", url], check=True,
                   cwd=REPO, timeout=3600, stdout=subprocess.DEVNULL)
    return {"copied": True, "copy_s": round(time.perf_counter() - t0, 1)}


def spy(pid: int, out: str) -> subprocess.Popen:
    spy_bin = Path(PY).with_name("py-spy")
    return subprocess.Popen([str(spy_bin), "record", "-p", str(pid), "-r", "200", "--threads", "-f", "raw",
                             "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(args: argparse.Namespace) -> dict[str, Any]:
    src = Path(args.src).resolve()
    store = ensure_store(args.petitions, src)
    copy = CACHE / "desk-run.db"
    for p in (Path(f"{copy}-wal"), Path(f"{copy}-shm")):   # a stale journal would be replayed on the copy
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    shutil.copyfile(migrated_path(args.petitions, src), copy)
    store["copy_s"] = round(time.perf_counter() - t0, 1)
    details = detail_ids(copy, store["generated"])
    if args.url:
        store["postgresql"] = to_postgresql(copy, args.url)
    proc, port = start_server(copy, src, args.url)
    profiler = spy(proc.pid, args.profile) if args.profile else None
    pages: dict[str, Any] = {}
    try:
        for role in args.roles.split(","):
            pages[role] = asyncio.run(run_role(port, role, details[role], [c for c in args.cases.split(",") if c],
                                               args.requests))
    finally:
        if profiler:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        proc.terminate()
        proc.wait(timeout=30)
        for p in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
            p.unlink(missing_ok=True)
        shutil.rmtree(f"{copy}.intake", ignore_errors=True)   # the intake journal's directory
    return {"store": store, "src": str(src), "requests": args.requests, "details": details, "pages": pages,
            "targets": judge(pages)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="10 requests per page and phase")
    parser.add_argument("--cases", default="", help="comma-separated page names (default: all)")
    parser.add_argument("--roles", default="worker,staff")
    parser.add_argument("--src", default=str(REPO), help="the tree to serve (default: this one)")
    parser.add_argument("--profile", default="", help="py-spy raw profile of the server, whole run")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results.json")
    parser.add_argument("--child", default="")
    parser.add_argument("--db", default="")
    parser.add_argument("--url", default="", help="serve a PostgreSQL copy of the store (made once by db copy)")
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(Path(args.src).resolve()))   # the served tree's product code first
        if args.child == "serve":
            child_serve(args.db, args.url)
        else:
            child_migrate(args.db)
        return
    if args.quick:
        args.requests = 10
    results = run(args)
    if not args.no_save:
        save_section("desk", results)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
