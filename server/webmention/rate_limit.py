"""When verification may fetch a host next (`HostSpacing`); the endpoint's per-minute limits
are the core's `SlidingWindow`. Both forget everything on restart."""

from __future__ import annotations

import time

from hearth.server.core.rate_limits import MAX_KEYS

__all__ = ["HostSpacing"]


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
