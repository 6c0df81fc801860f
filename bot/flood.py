"""Per-sender flood control: a resident's messages past [limits] sender_messages within
sender_window_seconds are kept (storage/held.py, shown to staff) but not handled one by one; the first
held message of a burst is answered once, the rest silently. Counted on the store thread, by the
injected clock; memory is bounded by forgetting senders idle for a whole window."""

from __future__ import annotations

from collections import deque

PRUNE_AT = 10_000   # senders remembered before idle ones are forgotten


class FloodGate:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: dict[str, deque[float]] = {}
        self._told: dict[str, float] = {}   # sender -> when the held-back notice went out

    def admit(self, sender: str, now: float) -> str:
        """"pass" (handle it), "notice" (hold it and say so) or "hold" (hold it silently)."""
        times = self._times.get(sender)
        if times is None:
            if len(self._times) >= PRUNE_AT:
                self._prune(now)
            times = self._times[sender] = deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            return "pass"
        told = self._told.get(sender)
        if told is not None and told > now - self.window:
            return "hold"
        self._told[sender] = now
        return "notice"

    def _prune(self, now: float) -> None:
        idle = [s for s, times in self._times.items() if not times or times[-1] <= now - self.window]
        for sender in idle:
            del self._times[sender]
            self._told.pop(sender, None)
