"""Summarise a py-spy "raw" (collapsed stacks) profile: inclusive share of the hottest frames per thread.

    py-spy record -p PID -d 10 -r 200 --threads -f raw -o prof.txt
    python bench/spy_summary.py prof.txt [--top 25] [--match router.py]
"""

from __future__ import annotations

import argparse
import collections
import re
import sys

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m.group('func')} ({path})"


def summarise(path: str, top: int, match: str) -> str:
    threads: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    totals: collections.Counter[str] = collections.Counter()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            thread = frames[0] if frames[0].startswith(("thread", "process")) else "main"
            if thread.startswith("process"):
                thread = frames[1] if len(frames) > 1 else thread
            n = int(count)
            totals[thread] += n
            for name in {short(f) for f in frames[1:]}:
                if not match or match in name:
                    threads[thread][name] += n
    out = []
    for thread, counter in sorted(threads.items(), key=lambda kv: -totals[kv[0]]):
        out.append(f"== {thread}: {totals[thread]} samples")
        for name, n in counter.most_common(top):
            out.append(f"  {100 * n / totals[thread]:5.1f}%  {name}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="")
    args = parser.parse_args()
    print(summarise(args.path, args.top, args.match))


if __name__ == "__main__":
    sys.exit(main())
