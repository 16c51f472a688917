"""A small in-process rate limit: at most N requests a minute per client address.

Enough for the token endpoint of a personal site (one process serves it); it needs no
table and forgets everything on restart, which only gives an attacker a fresh minute.
"""

from __future__ import annotations

import math
import time
from collections import deque

__all__ = ["RateLimiter"]

WINDOW = 60.0
# Addresses remembered at most; the oldest are forgotten first.
MAX_ADDRESSES = 10_000


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def hit(self, address: str, now: float | None = None) -> int:
        """Count a request; 0 if it may go ahead, else the seconds until one may."""
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(address, None) or deque()
        while hits and hits[0] <= now - WINDOW:
            hits.popleft()
        self._hits[address] = hits  # most recent last
        if len(hits) >= self.per_minute:
            return max(1, math.ceil(hits[0] + WINDOW - now))
        hits.append(now)
        if len(self._hits) > MAX_ADDRESSES:
            del self._hits[next(iter(self._hits))]
        return 0
