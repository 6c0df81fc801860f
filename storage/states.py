"""The petition state machine (SPEC §4): states, families and allowed transitions, in one table."""

from __future__ import annotations

from language.texts import t

# state code -> family; each state's label is `state.<code>` in catalogue/texts.states.toml
STATES: dict[str, str] = {
    "submitted": "open",
    "assigned": "open",
    "accepted": "open",
    "in_progress": "open",
    "returned": "open",
    "escalated": "open",
    "resolved": "fixed",
    "closed": "closed",
    "merged": "closed",
    "cancelled": "closed",
    "rejected": "closed",
}

# (from, to) pairs; a transfer between workers is assigned -> assigned and so on.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    [
        ("submitted", "assigned"), ("submitted", "returned"), ("submitted", "merged"),
        ("submitted", "cancelled"), ("submitted", "rejected"),
        ("assigned", "assigned"), ("assigned", "accepted"), ("assigned", "resolved"),
        ("assigned", "returned"), ("assigned", "escalated"), ("assigned", "cancelled"),
        ("assigned", "merged"),
        ("accepted", "assigned"), ("accepted", "in_progress"), ("accepted", "resolved"),
        ("accepted", "returned"), ("accepted", "escalated"), ("accepted", "cancelled"),
        ("in_progress", "assigned"), ("in_progress", "resolved"), ("in_progress", "returned"),
        ("in_progress", "escalated"), ("in_progress", "cancelled"),
        ("returned", "assigned"), ("returned", "rejected"), ("returned", "cancelled"),
        ("escalated", "assigned"), ("escalated", "accepted"), ("escalated", "resolved"),
        ("escalated", "rejected"), ("escalated", "cancelled"),
        ("resolved", "closed"), ("resolved", "assigned"),
        # merging a duplicate into another open petition, and undoing it (取消合并)
        ("accepted", "merged"), ("in_progress", "merged"), ("returned", "merged"), ("escalated", "merged"),
        ("merged", "submitted"),
    ]
)


class TransitionError(ValueError):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"{current} -> {target} is not allowed")
        self.current = current
        self.target = target


def label(state: str) -> str:
    """What people read for a state (its code is never shown)."""
    return t(f"state.{state}")


def family(state: str) -> str:
    return STATES[state]


def is_open(state: str) -> bool:
    return family(state) == "open"


def is_final(state: str) -> bool:
    return family(state) == "closed"


def can(current: str, target: str) -> bool:
    return (current, target) in TRANSITIONS


def marks(states: tuple[str, ...]) -> str:
    """A family as an SQL list of literals, for a query's IN (...): codes only, never input."""
    assert all(s in STATES for s in states), states
    return ", ".join(f"'{s}'" for s in states)


def check(current: str, target: str) -> None:
    if not can(current, target):
        raise TransitionError(current, target)


OPEN_STATES = tuple(s for s in STATES if is_open(s))
# open and waiting for staff (triage): not dispatched yet, returned by a worker, escalated to staff
TRIAGE = ("submitted", "returned", "escalated")
# resolved, rated or not: the petitions whose 办结 note may be published
DONE = ("resolved", "closed")
# closed without being handled: not counted in the completion rate's denominator (SPEC §10)
NOT_HANDLED = ("cancelled", "rejected", "merged")
# open and with a worker's clock running (returned petitions wait for staff instead)
RUNNING = ("assigned", "accepted", "in_progress", "escalated")

FAMILIES = {"open": OPEN_STATES, "running": RUNNING, "triage": TRIAGE, "done": DONE, "not_handled": NOT_HANDLED}
