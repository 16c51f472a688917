"""Whether this process is busy answering requests: what `hearth serve`'s own job worker
asks before it takes on more work (`job_worker.Worker(gives_way=...)`).

A personal site on a small machine now and then gets a flood: a link aggregator's front
page, a burst of webmentions. The work those requests queue (verifications, webmentions
to send, pings) can wait seconds; the readers cannot. So the middleware counts the
requests that arrive, and the worker gives way while they arrive faster than a visitor or
two would make them: `BUSY_REQUESTS` or more within about `BUSY_WINDOW` (counted in the
current window and the one before it). A site's ordinary traffic never slows its worker.
"""

from __future__ import annotations

from time import monotonic

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BUSY_REQUESTS", "BUSY_WINDOW", "Pressure", "PressureMiddleware"]

# Requests within about a window that mean a flood (a few dozen a second) rather than visitors.
BUSY_REQUESTS = 8
BUSY_WINDOW = 0.25


class Pressure:
    """How many requests this process began answering lately."""

    def __init__(self, window: float = BUSY_WINDOW, requests: int = BUSY_REQUESTS) -> None:
        self.window = window
        self.requests = requests
        self._window_index = 0
        self._in_window = 0
        self._in_last_window = 0

    def arrived(self) -> None:
        """Count one request (called by the middleware for each)."""
        index = self._index()
        if index != self._window_index:
            # The window before this one counts only if it is the one just ended.
            self._in_last_window = self._in_window if index == self._window_index + 1 else 0
            self._in_window, self._window_index = 0, index
        self._in_window += 1

    def busy(self) -> bool:
        index = self._index()
        if index == self._window_index:
            recent = self._in_window + self._in_last_window
        elif index == self._window_index + 1:
            recent = self._in_window
        else:
            recent = 0
        return recent >= self.requests

    def _index(self) -> int:
        return int(monotonic() / self.window) if self.window > 0 else 0


class PressureMiddleware:
    """Counts each HTTP request's arrival on the app's `Pressure`."""

    def __init__(self, app: ASGIApp, pressure: Pressure) -> None:
        self.app = app
        self.pressure = pressure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.pressure.arrived()
        await self.app(scope, receive, send)
