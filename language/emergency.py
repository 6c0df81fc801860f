"""Emergencies in a message (电梯困人, 燃气泄漏, 起火, someone hurt): rule-based, never left to the model.
A rule's keyword or combo is an emergency unless a guard word stands just before it (negation,
hypothesis, an animal), just after it, or anywhere before it for past-time markers. A rule with `needs`
fires only when each needed group has a word in the text (an entrapment names the lift). A weak
trigger (a symptom ordinary problems share: a lift that 卡住, smoke, 漏气) also needs a confirming word
near it (someone inside) when the rule lists any, and no veto word in the text (a barbecue, a tyre).
A message about a drill, a training or a notice is no live emergency unless a live word says so, and a
question after the trigger ("…怎么办") guards it unless the event has happened ("着火了怎么办！")."""

from __future__ import annotations

from collections.abc import Iterable

from language.rules import Emergency
from language.scan import Found, all_present


def combo_hit(text: str, groups: Iterable[tuple[str, ...]]) -> bool:
    """Every group has a word in the text."""
    return all(any(word in text for word in group) for group in groups)


def detect(text: str, rules: Iterable[Emergency], guard_window: int, after_window: int) -> Emergency | None:
    """The first emergency rule that fires on `text` (normalised and compact)."""
    for rule in rules:
        if not _context(text, rule) or not _live_frame(text, rule):
            continue
        positions: list[int] = []
        for word in rule.keywords:
            pos = text.find(word)
            while pos >= 0:
                positions.append(pos)
                pos = text.find(word, pos + 1)
        for groups in rule.combos:
            if combo_hit(text, groups):
                # the event is the last group ("电梯 … 困"): guards are looked for around it
                positions.extend(text.find(w) for w in groups[-1] if w in text)
        if _unguarded(text, rule, positions, guard_window, after_window) or _weak_fires(
                text, rule, guard_window, after_window):
            return rule
    return None


def _context(text: str, rule: Emergency) -> bool:
    """Every group the rule needs has a word in the text."""
    return combo_hit(text, rule.needs)


def _live_frame(text: str, rule: Emergency) -> bool:
    """The message is not about a drill, a training or a notice, or a live word says someone is in
    danger now all the same."""
    return any(word in text for word in rule.live) or not any(word in text for word in rule.not_live)


def _weak_fires(text: str, rule: Emergency, guard_window: int, after_window: int) -> bool:
    """A weak trigger of the rule, confirmed near it and not vetoed anywhere, without a guard."""
    if not rule.weak or any(veto in text for veto in rule.vetoes):
        return False
    spans = [(pos, pos + len(word)) for word in rule.weak if word
             for pos in _positions(text, word)]
    if rule.confirms:
        spans = [(start, end) for start, end in spans if _confirmed(text, rule, start, end)]
    return _unguarded(text, rule, (start for start, _ in spans), guard_window, after_window)


def _positions(text: str, word: str) -> list[int]:
    found, pos = [], text.find(word)
    while pos >= 0:
        found.append(pos)
        pos = text.find(word, pos + 1)
    return found


def _confirmed(text: str, rule: Emergency, start: int, end: int) -> bool:
    near = text[max(0, start - rule.confirm_window) : end + rule.confirm_window]
    return any(word in near for word in rule.confirms)


def triggers(rule: Emergency) -> frozenset[str] | None:
    """Words one of which a text needs for `rule` to fire: its keywords, and a word of each combo
    (None: a combo without groups fires on any text)."""
    if any(not groups for groups in rule.combos):
        return None
    return frozenset(rule.keywords).union(*(min(groups, key=len) for groups in rule.combos))


def detect_found(text: str, rules: Iterable[tuple[Emergency, frozenset[str], frozenset[str] | None]],
                 found: Found, guard_window: int, after_window: int) -> Emergency | None:
    """``detect`` from the scan of `text`: every rule comes with the set of its keywords and its
    ``triggers``, and `found` has every keyword and combo word of the rules."""
    present = found.present
    for rule, keywords, needs in rules:
        if not _context(text, rule) or not _live_frame(text, rule):
            continue
        if needs is not None and present.isdisjoint(needs):
            if _weak_fires(text, rule, guard_window, after_window):
                return rule
            continue
        positions = [start for start, _ in found.spans(keywords)]
        if "" in keywords:  # text.find("") finds every position
            positions.extend(range(len(text) + 1))
        for groups in rule.combos:
            if all_present(groups, found):
                positions.extend(text.find(w) for w in groups[-1] if w in text)
        if _unguarded(text, rule, positions, guard_window, after_window) or _weak_fires(
                text, rule, guard_window, after_window):
            return rule
    return None


def _unguarded(text: str, rule: Emergency, positions: Iterable[int], guard_window: int,
               after_window: int) -> bool:
    """One of `positions` (of the rule's event) has no guard word around it."""
    for pos in positions:
        before = text[max(0, pos - guard_window) : pos]
        after = text[pos : pos + after_window]
        if any(guard in before for guard in rule.guards):
            continue
        if _after_guarded(text, rule, pos, after):
            continue
        if any(guard in text[:pos] for guard in rule.context_guards):
            continue
        return True
    return False


def _after_guarded(text: str, rule: Emergency, pos: int, after: str) -> bool:
    """A guard word follows the trigger at `pos`: a hypothetical or past marker, or a question that is
    not asked by someone in danger."""
    hits = [guard for guard in rule.after_guards if guard in after]
    if not hits:
        return False
    if any(guard not in rule.asks for guard in hits):
        return True
    return not _asked_in_danger(text, rule, pos, after)


def _asked_in_danger(text: str, rule: Emergency, pos: int, after: str) -> bool:
    """A question after the trigger asked by someone in danger: the text has a live word, or the event
    is said to have happened ("着火了怎么办") with no guard anywhere before it ("如果哪天…")."""
    if any(word in text for word in rule.live):
        return True
    cut = min(after.find(ask) for ask in rule.asks if ask in after)
    if not any(word in after[1:cut] for word in rule.happened):
        return False
    return not any(guard in text[:pos] for guard in (*rule.guards, *rule.context_guards))
