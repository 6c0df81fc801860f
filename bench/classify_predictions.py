"""Every prediction of the matcher of this tree, one line per message, for diffing two trees.

    python bench/classify_predictions.py OUT.txt [FILE.jsonl ...]

Without FILE: the shared dev set, tests/data/heldout.jsonl and every /tmp/m3/*.jsonl and
/tmp/m2/*.jsonl. Each line is the text and the whole `Match` (intent, category, confidence,
alternatives, emergency). A speed change to language/intents.py must leave the output byte-identical:
run it in the old tree and in the new one, then `cmp old.txt new.txt`.
"""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

from common import REPO

from language.intents import default_matcher


def main() -> None:
    out = Path(sys.argv[1])
    files = [Path(f) for f in sys.argv[2:]] or [
        REPO.parent / "shared" / "dev-set" / "messages.jsonl", REPO / "tests" / "data" / "heldout.jsonl",
        *map(Path, sorted(glob.glob("/tmp/m3/*.jsonl"))), *map(Path, sorted(glob.glob("/tmp/m2/*.jsonl")))]
    matcher = default_matcher()
    count = 0
    with out.open("w", encoding="utf-8") as fh:
        for path in files:
            if not path.is_file():
                print(f"missing {path}", file=sys.stderr)
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    text = json.loads(line)["text"]
                    fh.write(f"{text!r}\t{matcher.classify(text)!r}\n")
                    count += 1
    print(f"{count} predictions from {len(files)} files -> {out}")


if __name__ == "__main__":
    main()
