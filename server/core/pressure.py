"""Whether this process is busy answering requests: what `hearth serve`'s own job worker
asks before it takes on more work (`job_worker.Worker(gives_way=...)`).

A personal site on a small machine now and then gets a flood: a link aggregator's front
page, a burst of webmentions. The work those requests queue (verifications, webmentions
to send, pings) can wait seconds; the readers cannot. So the middleware notes when each
request arrives, and the worker gives way while requests keep arriving (one came within
`BUSY_WINDOW`). A single visitor slows the worker for a fraction of a second at most.
"""

from __future__ import annotations

import math
import time

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BUSY_WINDOW", "Pressure", "PressureMiddleware"]

# A request within this many seconds means more are likely coming.
BUSY_WINDOW = 0.25


class Pressure:
    """When this process last began answering a request."""

    def __init__(self, window: float = BUSY_WINDOW) -> None:
        self.window = window
        self.last_request = -math.inf

    def busy(self) -> bool:
        return time.monotonic() - self.last_request < self.window


class PressureMiddleware:
    """Notes each HTTP request's arrival on the app's `Pressure`."""

    def __init__(self, app: ASGIApp, pressure: Pressure) -> None:
        self.app = app
        self.pressure = pressure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.pressure.last_request = time.monotonic()
        await self.app(scope, receive, send)
