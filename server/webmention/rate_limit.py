"""In-process limits of the webmention endpoint and of verification's fetches.

`SlidingWindow`: at most N events a minute per key (the idea of IndieAuth's limiter, kept
here because features do not import each other for this). `HostSpacing`: when a host may be
fetched next. Both forget everything on restart, which costs at most one extra minute.
"""

from __future__ import annotations

import math
import time
from collections import deque

__all__ = ["HostSpacing", "SlidingWindow"]

WINDOW = 60.0
# Keys remembered at most; the least recently seen are forgotten first.
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


class HostSpacing:
    """At most one fetch of a host every `interval` seconds: each fetch books a slot."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def book(self, host: str, interval: float, *, limit: float, now: float | None = None) -> float:
        """Book the host's next slot if it is at most `limit` seconds away and return how
        long to wait for it; else book nothing and return the (longer) wait."""
        now = time.monotonic() if now is None else now
        slot = max(now, self._next.get(host, now))
        wait = slot - now
        if wait > limit:
            return wait
        self._next.pop(host, None)
        self._next[host] = slot + interval
        if len(self._next) > MAX_KEYS:
            del self._next[next(iter(self._next))]
        return wait
