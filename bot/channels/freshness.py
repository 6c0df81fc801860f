"""Callback freshness: a signature is only good for a few minutes, and a nonce only once.

WeChat signs `token, timestamp, nonce` (and the AES envelope); the signature never expires by itself,
so a request captured once could be replayed forever. Here a callback is refused when its timestamp is
more than `WINDOW` seconds off the clock, or when its nonce was seen within the window with another
request. The very same request again (same query, same body) is WeChat's own retry after an answer it
did not get: it passes, and the message's id in the ledger makes it harmless (answered, never handled
twice). Nonces are kept in memory, bounded; the oldest go first.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

from bot.clock import Clock

log = logging.getLogger("minsheng.freshness")
WINDOW = 300                 # seconds a signed timestamp may be off the clock, either way
MAX_NONCES = 200_000         # remembered at most; past that the oldest are forgotten first


def digest(query: str, body: bytes) -> bytes:
    """What makes two requests the same request."""
    return hashlib.blake2b(query.encode() + b"\0" + body, digest_size=16).digest()


class Freshness:
    def __init__(self, clock: Clock, window: float = WINDOW, capacity: int = MAX_NONCES) -> None:
        self.clock = clock
        self.window = window
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()
        self._full_logged = False

    def refusal(self, channel: str, timestamp: str, nonce: str, request_digest: bytes) -> str | None:
        """None when the callback is fresh (and remembers its nonce), else why it is refused."""
        now = self.clock.now().timestamp()
        try:
            stamp = int(timestamp)
        except ValueError:
            return "timestamp missing or not a number"
        if abs(now - stamp) > self.window:
            return (f"timestamp {int(stamp - now)} s ahead of the clock" if stamp > now
                    else f"timestamp {int(now - stamp)} s behind the clock")
        if not nonce or len(nonce) > 64:
            return "nonce missing or too long"
        self._forget(now)
        key = (channel, nonce)
        earlier = self._seen.get(key)
        if earlier is not None:
            return None if earlier[1] == request_digest else "nonce already used by another request"
        if len(self._seen) >= self.capacity:
            self._seen.popitem(last=False)
            if not self._full_logged:
                log.warning("more than %d callbacks within %d s: the oldest nonces are forgotten",
                            self.capacity, self.window)
                self._full_logged = True
        # kept until no timestamp it could carry is fresh any more (stamps may run `window` ahead)
        self._seen[key] = (now + 2 * self.window, request_digest)
        return None

    def _forget(self, now: float) -> None:
        while self._seen:
            until, _ = next(iter(self._seen.values()))
            if until >= now:
                return
            self._seen.popitem(last=False)
