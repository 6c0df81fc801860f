"""Log lines name people by a short hash: openids and userids are personal data."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

_KEY = b""


def configure(secret: str) -> None:
    """Key the hashes with a secret of this deployment: a userid such as li.na cannot be found again
    from its hash by trying names (the demo has no secret and needs none)."""
    global _KEY
    _KEY = hashlib.sha256(secret.encode("utf-8")).digest() if secret else b""


def short(value: str) -> str:
    """A stable 10-character stand-in for an openid, a userid or a message key holding one."""
    if not value:
        return "-"
    return "#" + hmac.new(_KEY, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:10]


class Limited:
    """Log lines of one kind (`key`): at most `burst` per `every` seconds, then one line saying how many
    more were left out. A flood of refused requests cannot fill the disk the store lives on."""

    def __init__(self, every: float = 10.0, burst: int = 20) -> None:
        self.every, self.burst = every, burst
        self._windows: dict[str, tuple[float, int]] = {}   # key -> (window start, lines in it)

    def reset(self) -> None:
        """Forget what was counted (tests start each with a clean slate)."""
        self._windows.clear()

    def log(self, logger: logging.Logger, level: int, key: str, msg: str, *args: object) -> None:
        if not logger.isEnabledFor(level):
            return
        now = time.monotonic()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= self.every:
            if count > self.burst:
                logger.log(level, "%s: %d more like it in %.0f s not logged", key, count - self.burst, now - start)
            start, count = now, 0
        count += 1
        if len(self._windows) > 10_000:
            self._windows.clear()
        self._windows[key] = (start, count)
        if count <= self.burst:
            logger.log(level, msg, *args)


LIMITED = Limited()
