"""The one shape every channel turns its wire format into."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    channel: str            # "oa" | "wecom" | "sim"
    role: str               # "resident" (Official Account side) | "staff" (WeCom side)
    sender: str             # openid or WeCom userid
    kind: str               # "text" | "event" | "image" | "voice" | "location" | ...
    text: str = ""
    event: str = ""         # subscribe, unsubscribe, click, ... (lower case)
    key: str = ""           # idempotency key: MsgId, or sender + CreateTime + event
    lat: float | None = None
    lng: float | None = None
    cut: int = 0            # characters cut off a text longer than [limits] max_text_chars
