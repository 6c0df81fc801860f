"""What a handler gets: the store (inside one transaction), the time, settings and the matcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from bot.config import Settings
from language.intents import Matcher
from storage import outbox


def reachable(openid: str) -> bool:
    """Households filed for on a door-knocking visit (visit:N) have no chat to write to."""
    return not openid.startswith("visit:")


@dataclass
class Ctx:
    db: Database
    now: datetime
    settings: Settings
    matcher: Matcher
    replies: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        """An immediate answer to the sender."""
        self.replies.append(text)

    def to_resident(self, openid: str, text: str, ref: str | None = None) -> None:
        if reachable(openid):
            outbox.enqueue(self.db, "resident", openid, text, self.now, ref)

    def to_staff(self, userid: str, text: str, ref: str | None = None) -> None:
        outbox.enqueue(self.db, "staff", userid, text, self.now, ref)

    def to_group(self, building: str, text: str, ref: str | None = None) -> None:
        outbox.enqueue(self.db, "group", building, text, self.now, ref)

    def to_fanout(self, building: str, text: str, ref: str | None = None) -> None:
        outbox.enqueue(self.db, "fanout", building, text, self.now, ref)

    def to_buildings(self, buildings: list[dict], text: str, ref: str | None = None) -> int:
        """A notice for each building's group chat, once per chat (buildings may share a robot or
        an app chat); a building without a group gets the fan-out to its residents. Returns the count."""
        shared: set[str] = set()
        sent = 0
        for b in buildings:
            group = b["grp"] or ""
            if group.startswith(("robot:", "appchat:")):
                if group in shared:
                    continue
                shared.add(group)
            if group:
                self.to_group(b["id"], text, ref)
            else:
                self.to_fanout(b["id"], text, ref)
            sent += 1
        return sent
