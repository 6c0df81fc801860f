"""What a handler gets: the store (inside one transaction), the time, settings and the matcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from bot.config import Settings
from bot.intents import Matcher
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
