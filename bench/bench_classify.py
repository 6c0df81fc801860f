"""Benchmark ``Matcher.classify``: throughput and median latency per message.

Run: ``.venv/bin/python bench/bench_classify.py [--n 1000] [--file tests/data/heldout.jsonl]``.
The held-out messages are repeated until ``n`` messages; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from language.intents import Matcher


def load_texts(path: pathlib.Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def run(n: int, path: pathlib.Path) -> dict[str, float | int | str]:
    t0 = time.perf_counter()
    matcher = Matcher.load()
    load_s = time.perf_counter() - t0
    texts = load_texts(path)
    messages = (texts * (n // len(texts) + 1))[:n]
    matcher.classify("预热 warm-up 路灯坏了")
    latencies: list[float] = []
    start = time.perf_counter()
    for text in messages:
        t = time.perf_counter()
        matcher.classify(text)
        latencies.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    return {
        "bench": "classify",
        "messages": n,
        "total_s": round(total, 4),
        "per_second": round(n / total, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 4),
        "p95_ms": round(sorted(latencies)[int(0.95 * (n - 1))] * 1000, 4),
        "max_ms": round(max(latencies) * 1000, 4),
        "load_ms": round(load_s * 1000, 1),
        "model": matcher.model_counts() is not None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--file", type=pathlib.Path, default=REPO / "tests" / "data" / "heldout.jsonl")
    args = parser.parse_args()
    print(json.dumps(run(args.n, args.file)))


if __name__ == "__main__":
    main()
