"""Log lines name people by a short hash: openids and userids are personal data."""

from __future__ import annotations

import hashlib


def short(value: str) -> str:
    """A stable 10-character stand-in for an openid, a userid or a message key holding one."""
    return "#" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:10] if value else "-"
