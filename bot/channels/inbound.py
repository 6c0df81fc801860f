"""Turning parsed callback fields (Official Account or WeCom) into a Message."""

from __future__ import annotations

import math

from bot.messages import Message


def coordinate(value: str | None) -> float | None:
    """A coordinate: a finite number, else None (nan and inf are no place)."""
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def cut_text(text: str, limit: int) -> tuple[str, int]:
    """The text kept (at most `limit` characters) and how many were cut: no resident writes more, and
    everything after intake works on bounded text."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def to_message(data: dict[str, str], channel: str, role: str, max_chars: int = 2000) -> Message | None:
    """None when the callback names no sender (nothing to answer)."""
    sender = (data.get("FromUserName") or "").strip()
    if not sender:
        return None
    kind = (data.get("MsgType") or "unknown").strip().lower()
    event = (data.get("Event") or "").strip().lower() if kind == "event" else ""
    text = data.get("Content") or ""
    if kind == "voice" and data.get("Recognition"):
        kind, text = "text", data["Recognition"]
    msg_id = (data.get("MsgId") or data.get("MsgID") or "").strip()
    key = f"{channel}:{msg_id}" if msg_id else f"{channel}:{sender}:{data.get('CreateTime', '')}:{kind}:{event}"
    lat = coordinate(data.get("Location_X") or data.get("Latitude"))
    lng = coordinate(data.get("Location_Y") or data.get("Longitude"))
    if lat is None or lng is None or abs(lat) > 90 or abs(lng) > 180:
        lat = lng = None
    text, cut = cut_text(text, max_chars)
    return Message(channel=channel, role=role, sender=sender, kind=kind, text=text, event=event, key=key,
                   lat=lat, lng=lng, cut=cut)
