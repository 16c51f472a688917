"""In-process rate limits: at most N events a minute per key (a client address, a host).

Enough for one process of a personal site: no table, and a restart forgets everything,
which gives a sender at most one fresh minute. Features keep one `SlidingWindow` per app.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

__all__ = ["MAX_KEYS", "WINDOW", "SlidingWindow", "app_window"]

WINDOW = 60.0
# Keys remembered at most; the least recently counted are forgotten first.
MAX_KEYS = 10_000


class SlidingWindow:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def wait(self, key: str, now: float | None = None) -> int:
        """Seconds until `key` may have one more event (0: now), counting nothing."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        while hits and hits[0] <= now - WINDOW:
            hits.popleft()
        if hits is None or len(hits) < self.per_minute:
            return 0
        return max(1, math.ceil(hits[0] + WINDOW - now))

    def hit(self, key: str, now: float | None = None) -> None:
        """Count one event for `key`."""
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(key, None) or deque()
        self._hits[key] = hits  # most recent last
        hits.append(now)
        if len(self._hits) > MAX_KEYS:
            del self._hits[next(iter(self._hits))]

    def take(self, key: str, now: float | None = None) -> int:
        """Count an event for `key` if it may have one: 0, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        wait = self.wait(key, now)
        if not wait:
            self.hit(key, now)
        return wait


def app_window(state: Any, name: str, per_minute: int) -> SlidingWindow:
    """The app's window called `name` (kept on `state`, made on first use)."""
    window: SlidingWindow | None = getattr(state, name, None)
    if window is None:
        window = SlidingWindow(per_minute)
        setattr(state, name, window)
    return window
