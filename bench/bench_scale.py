"""Scale benchmark: stats summary and a 100,000-row XLSX ledger export over 1,000,000 petitions.

The store is generated once with executemany (seeded, ~10 s) and cached in bench/.cache/ (git-ignored);
opening it applies any new migration (e.g. indexes) once. Each measurement runs in a fresh child
process so its peak RSS (ru_maxrss) is its own.

    python bench/bench_scale.py [--petitions 1000000] [--export-rows 100000]
    python bench/bench_scale.py --check   # the SQL stats equal the reference (row-by-row) ones
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from common import CACHE, PY, peak_rss_mb, save_section

GEN_VERSION = 2
GRIDS, WORKERS_PER_GRID, BUILDINGS = 20, 3, 1000
STATES = (("closed", 55), ("resolved", 10), ("in_progress", 5), ("accepted", 5), ("assigned", 8),
          ("submitted", 2), ("escalated", 1), ("returned", 1), ("cancelled", 6), ("rejected", 3),
          ("merged", 4))
CATEGORIES = ("lighting", "road", "sanitation", "greening", "parking", "charging", "noise", "elevator",
              "housing", "facilities", "safety", "dispute", "construction", "elderly", "property",
              "utilities", "other")
TEXTS = ("门口路灯不亮了", "楼道灯坏了晚上很黑", "楼下垃圾好几天没人清运", "门口路面塌了一个坑", "充电桩坏了充不上电",
         "楼道里堆满了杂物", "单元门禁坏了关不上", "下水道堵了污水漫出来", "楼顶漏水家里墙面发霉", "自来水发黄不能喝")
START = datetime.fromisoformat("2024-12-01T08:00:00+08:00")


def iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def store_path(petitions: int) -> Path:
    return CACHE / f"scale-v{GEN_VERSION}-{petitions}.db"


def generate(path: Path, petitions: int, seed: int = 2026) -> float:
    """Create the store at `path`: an org of 20 grids / 60 workers / 1,000 buildings, and `petitions`."""
    from storage.db import open_db

    t0 = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    db = open_db(tmp)
    conn = db.conn
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    # secondary indexes are dropped during the load and rebuilt once at the end (much faster)
    indexes = [r for r in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'petitions' AND sql IS NOT NULL")]
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    cols = {r[1] for r in conn.execute("PRAGMA table_info(petitions)")}
    has_clock = "sign_deadline" in cols
    rnd = random.Random(seed)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO communities (id, name) VALUES ('c1', '基准社区')")
    workers = []
    for g in range(GRIDS):
        conn.execute("INSERT INTO grids (id, community, name, head) VALUES (?, 'c1', ?, ?)",
                     (f"g{g:02d}", f"第{g + 1}网格", f"w{g:02d}0"))
        for w in range(WORKERS_PER_GRID):
            uid = f"w{g:02d}{w}"
            workers.append((g, uid))
            conn.execute("INSERT INTO staff (userid, name, role, community) VALUES (?, ?, ?, 'c1')",
                         (uid, f"网格员{g}-{w}", "head" if w == 0 else "worker"))
            conn.execute("INSERT INTO grid_workers (grid, userid) VALUES (?, ?)", (f"g{g:02d}", uid))
    conn.executemany("INSERT INTO buildings (id, community, grid, name) VALUES (?, 'c1', ?, ?)",
                     [(f"b{b:04d}", f"g{b % GRIDS:02d}", f"{b + 1}号楼") for b in range(BUILDINGS)])
    state_names = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    span = 730 * 86400 / petitions  # two years, evenly spread, so created_at is unique and increasing
    extra = ", clock_started_at, sign_deadline, resolve_deadline" if has_clock else ""
    sql = ("INSERT INTO petitions (resident, building, grid, worker, category, text, state, urgent, private,"
           " reopen_count, urge_count, created_at, updated_at, dispatched_at, accepted_at, resolved_at,"
           " closed_at, resolution, rating" + extra + ") VALUES (" + ",".join("?" * (19 + (3 if has_clock else 0)))
           + ")")
    batch: list[tuple] = []
    for i in range(petitions):
        created = START + timedelta(seconds=int(i * span))
        b = rnd.randrange(BUILDINGS)
        grid = f"g{b % GRIDS:02d}"
        state = rnd.choices(state_names, weights)[0]
        worker = None if state in ("submitted", "returned") else f"w{b % GRIDS:02d}{rnd.randrange(WORKERS_PER_GRID)}"
        dispatched = created + timedelta(seconds=rnd.randrange(60, 1800)) if worker else None
        accepted = dispatched + timedelta(seconds=rnd.randrange(300, 4 * 3600)) if dispatched and state in (
            "accepted", "in_progress", "resolved", "closed", "escalated") else None
        resolved = accepted + timedelta(seconds=rnd.randrange(3600, 5 * 86400)) if accepted and state in (
            "resolved", "closed") else None
        closed = resolved + timedelta(hours=rnd.randrange(1, 72)) if resolved and state == "closed" else None
        rating = rnd.choice(("satisfied", "satisfied", "basic", "unsatisfied", None)) if closed else None
        row = [f"oRes{rnd.randrange(200_000):07d}", f"b{b:04d}", grid, worker, rnd.choice(CATEGORIES),
               f"{b + 1}号楼{rnd.choice(TEXTS)}", state, int(rnd.random() < 0.03), 0,
               int(rnd.random() < 0.05), rnd.randrange(3), iso(created), iso(closed or resolved or created),
               iso(dispatched) if dispatched else None, iso(accepted) if accepted else None,
               iso(resolved) if resolved else None, iso(closed) if closed else None,
               "已处理" if resolved else None, rating]
        if has_clock:
            keep = dispatched is not None and i % 2 == 0  # half predate stored deadlines (legacy limits)
            row += [iso(dispatched) if keep else None,
                    iso(dispatched + timedelta(hours=2)) if keep else None,  # type: ignore[operator]
                    iso(dispatched + timedelta(days=3)) if keep else None]  # type: ignore[operator]
        batch.append(tuple(row))
        if len(batch) >= 50_000:
            conn.executemany(sql, batch)
            batch.clear()
    if batch:
        conn.executemany(sql, batch)
    for _, create in indexes:
        conn.execute(create)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(path)
    return time.perf_counter() - t0


def ensure_store(petitions: int) -> dict[str, Any]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = store_path(petitions)
    info: dict[str, Any] = {"path": str(path.relative_to(CACHE.parent.parent)), "petitions": petitions}
    if not path.is_file():
        info["generated_s"] = round(generate(path, petitions), 1)
    from storage.db import open_db

    t0 = time.perf_counter()
    db = open_db(path)  # applies new migrations (indexes) once; the time is what a deployment would see
    info["open_and_migrate_s"] = round(time.perf_counter() - t0, 2)
    info["size_mb"] = round(path.stat().st_size / 2**20, 1)
    db.conn.close()
    return info


def measure(what: str, petitions: int, export_rows: int, out: str) -> dict[str, Any]:
    """Runs in the child process: one measurement, with its own peak RSS."""
    from storage.db import open_db

    db = open_db(store_path(petitions))
    base_rss = peak_rss_mb()
    t0 = time.perf_counter()
    result: dict[str, Any] = {}
    if what == "stats":
        from storage import stats

        numbers = stats.summary(db, now=datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
        result = {"received": numbers["community"]["received"], "overdue": numbers["overdue_count"],
                  "overdue_listed": len(numbers["overdue"])}
    elif what == "stats_month":
        from storage import stats

        numbers = stats.summary(db, since=datetime.fromisoformat("2026-10-01T00:00:00+08:00"),
                                until=datetime.fromisoformat("2026-11-01T00:00:00+08:00"),
                                now=datetime.fromisoformat("2026-12-01T09:00:00+08:00"))
        result = {"received": numbers["community"]["received"]}
    elif what == "export":
        from storage import ledger

        since = db.conn.execute("SELECT created_at FROM petitions ORDER BY id DESC LIMIT 1 OFFSET ?",
                                (export_rows - 1,)).fetchone()[0]
        t0 = time.perf_counter()
        if "since" in ledger.export.__code__.co_varnames:
            ledger.export(db, "xlsx", out, since=datetime.fromisoformat(since))
            result = {"rows": export_rows, "since": since}
        else:  # the ledger before it could filter: every row (bounded by the caller's --export-rows)
            ledger.export(db, "xlsx", out)
            result = {"rows": "all"}
        result["file_mb"] = round(Path(out).stat().st_size / 2**20, 1)
    result["seconds"] = round(time.perf_counter() - t0, 3)
    result["peak_rss_mb"] = peak_rss_mb()
    result["rss_after_open_mb"] = base_rss
    return result


def child(what: str, petitions: int, export_rows: int, timeout: float) -> dict[str, Any]:
    out = str(CACHE / "ledger-bench.xlsx")
    cmd = [PY, __file__, "--child", what, "--petitions", str(petitions), "--export-rows", str(export_rows),
           "--out", out]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "error": f"over {timeout:.0f} s (stopped)"}
    finally:
        Path(out).unlink(missing_ok=True)
    if proc.returncode != 0:
        return {"seconds": None, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check(petitions: int = 20_000) -> dict[str, Any]:
    """The product's stats equal the reference row-by-row implementation on a generated store."""
    import reference_stats

    from storage import stats
    from storage.db import open_db

    path = CACHE / f"check-v{GEN_VERSION}-{petitions}.db"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        generate(path, petitions, seed=7)
    db = open_db(path)
    now = datetime.fromisoformat("2026-12-01T09:00:00+08:00")
    cases = [(None, None), (datetime.fromisoformat("2025-03-01T00:00:00+08:00"),
                            datetime.fromisoformat("2025-09-01T00:00:00+00:00"))]
    same, counts = True, []
    for a, b in cases:
        reference = reference_stats.summary(db, a, b, now)
        ours = stats.summary(db, a, b, now)
        # equal numbers (per-group overdue counts included); the reference's whole overdue list is as
        # long as overdue_count, begins with the listed ones, and equals overdue_list
        same = same and ours == reference_stats.as_summarised(reference, stats.OVERDUE_SHOWN) \
            and stats.overdue_list(db, b, now) == reference["overdue"]
        counts.append(ours["overdue_count"])
    db.conn.close()
    return {"petitions": petitions, "same_as_reference": same, "overdue_counts": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--child", default="")
    parser.add_argument("--out", default="")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.petitions, args.export_rows, args.out)))
        return
    if args.check:
        print(json.dumps(check()))
        return
    store = ensure_store(args.petitions)
    results = {"store": store, "check": check()}
    for what in ("stats", "stats_month", "export"):
        results[what] = child(what, args.petitions, args.export_rows, args.timeout)
    rss = max((r.get("peak_rss_mb") or 0) for k, r in results.items() if k in ("stats", "stats_month", "export"))
    results["targets"] = {
        "stats_le_300ms": (results["stats"].get("seconds") or 1e9) <= 0.3,
        "export_100k_le_15s": (results["export"].get("seconds") or 1e9) <= 15 and
        results["export"].get("rows") == args.export_rows,
        "peak_rss_le_300mb": 0 < rss <= 300,
        "stats_same_as_reference": results["check"]["same_as_reference"],
    }
    save_section("scale", results)
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    sys.exit(main())
