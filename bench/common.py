"""Helpers shared by the benchmarks: paths, percentiles, CPU pinning, peak RSS, results.json."""

from __future__ import annotations

import json
import os
import pathlib
import resource
import statistics
import sys
from collections.abc import Sequence
from typing import Any

REPO = pathlib.Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results.json"
PY = sys.executable

# Official Account credentials used by the callback benchmark (never real ones).
OA_APP_ID = "wxbench000000000001"
OA_TOKEN = "benchtoken2026"
OA_AES_KEY = "Bench0OAkey0123456789abcdefghijklmnopqrstuv"  # 43 characters
OA_ORIGINAL_ID = "gh_minshengbench"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def pin(cpu: int) -> bool:
    """Pin this process to one CPU (when the machine has it); True when pinned."""
    if not hasattr(os, "sched_setaffinity") or cpu >= (os.cpu_count() or 1):
        return False
    os.sched_setaffinity(0, {cpu})
    return True


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100, nearest rank) of `values`; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_ms(values: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max of latencies given in seconds, in milliseconds."""
    if not values:
        return {"p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "mean_ms": 0.0}
    return {"p50_ms": round(pct(values, 50) * 1000, 3), "p90_ms": round(pct(values, 90) * 1000, 3),
            "p99_ms": round(pct(values, 99) * 1000, 3), "max_ms": round(max(values) * 1000, 3),
            "mean_ms": round(statistics.fmean(values) * 1000, 3)}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    VmHWM of /proc/self/status belongs to this program alone; ru_maxrss (the fallback) also counts the
    parent's RSS at fork time on Linux, because exec keeps the highest RSS seen by the task.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load_results() -> dict[str, Any]:
    if RESULTS.is_file():
        try:
            return json.loads(RESULTS.read_text(encoding="utf-8"))
        except ValueError:
            return {}
    return {}


def save_section(name: str, data: dict[str, Any]) -> None:
    """Write one section of bench/results.json, keeping the others."""
    results = load_results()
    results[name] = data
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


async def serve_until_signal(runner: Any, port: int, backlog: int = 128) -> None:
    """Start an aiohttp AppRunner on 127.0.0.1:`port`, print "READY <bound port>" for the parent, and
    run until SIGTERM or SIGINT."""
    import asyncio
    import signal

    from aiohttp import web

    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=backlog).start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()
