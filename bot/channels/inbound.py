"""Turning parsed callback fields (Official Account or WeCom) into a Message."""

from __future__ import annotations

from bot.messages import Message


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def to_message(data: dict[str, str], channel: str, role: str) -> Message | None:
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
    lat = _float(data.get("Location_X") or data.get("Latitude"))
    lng = _float(data.get("Location_Y") or data.get("Longitude"))
    return Message(channel=channel, role=role, sender=sender, kind=kind, text=text, event=event, key=key,
                   lat=lat, lng=lng)
