"""Conversation states, declared per capability (aiogram's StatesGroup is the model):

    class Report(StatesGroup):
        building = State()      # stored as "Report:building"

A resident's state is stored on their row (storage/people.py) as a readable string with its data and
the time it was set; it expires after EXPIRY (an answer days later starts afresh), and any state can
be cancelled ("算了", see catalogue/words.toml [cancel]) or is dropped by an explicit command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlite_utils import Database

from storage import people
from storage.petitions import iso

EXPIRY = timedelta(hours=2)


class State:
    """One step of a conversation; its name is "Group:attribute", set when the group is declared."""

    def __init__(self) -> None:
        self.name = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.name = f"{owner.__name__}:{attr}"

    def __repr__(self) -> str:
        return f"<State {self.name}>"


class StatesGroup:
    """A capability's states; every declared State is registered by its name."""

    registry: ClassVar[dict[str, State]] = {}

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        for value in vars(cls).values():
            if isinstance(value, State):
                StatesGroup.registry[value.name] = value


# states stored before they were declared ({"await": "building"}) still resume
_LEGACY = {"building": "Report:building", "choose": "Report:choose", "which": "MyPetitions:which",
           "reopen_reason": "Rating:reopen_reason"}


@dataclass(frozen=True)
class Current:
    state: State
    data: dict[str, Any]


def current(resident: dict, now: datetime) -> Current | None:
    """The resident's live conversation state, or None (none set, unknown, or expired)."""
    stored = people.conversation(resident)
    name = stored.get("state") or _LEGACY.get(str(stored.get("await", "")), "")
    state = StatesGroup.registry.get(name)
    if state is None:
        return None
    at = stored.get("at")
    if at and now - datetime.fromisoformat(at) > EXPIRY:
        return None
    data = {k: v for k, v in stored.items() if k not in ("state", "await", "at")}
    return Current(state, data)


def enter(db: Database, openid: str, state: State, now: datetime, **data: Any) -> None:
    """Wait for the resident's answer to `state` (what it needs to resume goes in `data`)."""
    people.set_conversation(db, openid, {"state": state.name, "at": iso(now), **data})


def leave(db: Database, openid: str) -> None:
    people.set_conversation(db, openid, None)
