"""Measure the intent matcher on a labelled JSON-lines file.

Usage: ``python -m bot.eval [FILE ...] [--errors]``. Without FILE the shared development set
(``<repo>/../shared/dev-set/messages.jsonl``) is used. Each line has ``text``, ``intent``, ``category``,
``alt_intents`` and ``alt_categories``; an alternative answer counts as correct.

Prints intent accuracy, category accuracy (over messages whose gold intent is ``report``), emergency
flags raised, and the confusion pairs (gold -> predicted). ``--calibration`` adds the accuracy per
confidence band (a message is right when its intent is right and, for a gold report, its category too),
the evidence for choosing the confidence below which the bot asks a clarifying question. Always exits 0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pathlib
import sys
from collections import Counter
from dataclasses import dataclass, field

from language.intents import Matcher, default_matcher

REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO / ".." / "shared" / "dev-set" / "messages.jsonl"


@dataclass
class Report:
    path: str
    total: int = 0
    intent_ok: int = 0
    report_total: int = 0
    category_ok: int = 0
    emergencies: int = 0
    intent_confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    category_confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    outcomes: list[tuple[float, bool]] = field(default_factory=list)  # (confidence, right)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_ok / self.total if self.total else 0.0

    @property
    def category_accuracy(self) -> float:
        return self.category_ok / self.report_total if self.report_total else 0.0


def load_rows(path: pathlib.Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def evaluate(rows: list[dict[str, object]], matcher: Matcher, path: str = "") -> Report:
    report = Report(path=path)
    for row in rows:
        text = str(row.get("text", ""))
        gold_intent = str(row["intent"])
        gold_category = row.get("category")
        ok_intents = {gold_intent, *map(str, row.get("alt_intents") or [])}  # type: ignore[arg-type]
        ok_categories = {str(gold_category), *map(str, row.get("alt_categories") or [])}  # type: ignore[arg-type]
        match = matcher.classify(text)
        report.total += 1
        if match.emergency:
            report.emergencies += 1
        intent_right = match.intent in ok_intents
        if intent_right:
            report.intent_ok += 1
        else:
            report.intent_confusions[(gold_intent, match.intent)] += 1
        cat_note = ""
        if gold_intent == "report":
            report.report_total += 1
            if match.intent == "report" and match.category in ok_categories:
                report.category_ok += 1
            else:
                report.category_confusions[(str(gold_category), str(match.category))] += 1
                cat_note = f" category {gold_category} -> {match.category}"
        report.outcomes.append((match.confidence, intent_right and not cat_note))
        if not intent_right or cat_note:
            report.errors.append(
                f"  [{gold_intent}/{gold_category} -> {match.intent}/{match.category} "
                f"{match.confidence:.2f}]{cat_note} {text}"
            )
    return report


BANDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


def calibration(outcomes: list[tuple[float, bool]]) -> list[tuple[float, float, int, int]]:
    """(low, high, right, total) per confidence band."""
    rows = []
    for low, high in itertools.pairwise(BANDS):
        band = [right for conf, right in outcomes if low <= conf < high]
        rows.append((low, min(high, 1.0), sum(band), len(band)))
    return rows


def print_calibration(outcomes: list[tuple[float, bool]]) -> None:
    print("calibration (confidence band: right/total; and if the bot asked below the band's low end):")
    total = len(outcomes)
    for low, high, right, n in calibration(outcomes):
        asked = sum(1 for conf, _ in outcomes if conf < low)
        kept = [r for conf, r in outcomes if conf >= low]
        kept_acc = sum(kept) / len(kept) if kept else 0.0
        acc = f"{right / n:6.1%}" if n else "     -"
        print(
            f"  [{low:.1f}, {high:.1f}) {acc} ({right}/{n})   "
            f"clarify below {low:.1f}: asks {asked / total if total else 0:5.1%}, accuracy of the rest {kept_acc:6.1%}"
        )


def print_report(report: Report, show_errors: bool, show_calibration: bool = False) -> None:
    print(f"== {report.path}")
    print(f"messages: {report.total}")
    print(f"intent accuracy:   {report.intent_accuracy:6.1%}  ({report.intent_ok}/{report.total})")
    print(
        f"category accuracy: {report.category_accuracy:6.1%}  ({report.category_ok}/{report.report_total}"
        " gold reports; wrong intent counts as wrong)"
    )
    print(f"emergency flags:   {report.emergencies}")
    if report.intent_confusions:
        print("intent confusions (gold -> predicted):")
        for (gold, pred), n in report.intent_confusions.most_common():
            print(f"  {gold:8s} -> {pred:8s} {n}")
    if report.category_confusions:
        print("category confusions (gold -> predicted):")
        for (gold, pred), n in report.category_confusions.most_common():
            print(f"  {gold:12s} -> {pred:12s} {n}")
    if show_calibration:
        print_calibration(report.outcomes)
    if show_errors and report.errors:
        print("errors:")
        print("\n".join(report.errors))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=pathlib.Path, help="labelled JSON-lines files")
    parser.add_argument("--errors", action="store_true", help="list every misclassified message")
    parser.add_argument("--calibration", action="store_true", help="accuracy per confidence band")
    args = parser.parse_args(argv)
    files = args.files or [DEFAULT_FILE.resolve()]
    matcher = default_matcher()
    for path in files:
        if not path.exists():
            print(f"{path}: not found", file=sys.stderr)
            continue
        print_report(evaluate(load_rows(path), matcher, str(path)), args.errors, args.calibration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
