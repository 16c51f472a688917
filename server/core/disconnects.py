"""A client that goes away mid-request ends the request quietly: an ASGI middleware.

When a client closes its connection before it has sent the whole body (a load generator
stopped, a phone lost its network in the middle of an upload), the view's read of the body
(`Request.body`, `Request.form`, `Request.stream`) raises Starlette's `ClientDisconnect`.
Uncaught, uvicorn logs it as "Exception in ASGI application" with a traceback, as if Hearth
had a bug. This middleware, inside Starlette's error middleware, ends such a request
without an answer (there is no one to answer) and logs one line at debug level.

Nothing is half-stored by it: views read the whole body before they write anything, and a
`ClientDisconnect` raised inside a transaction rolls it back on its way out.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["QuietDisconnectMiddleware"]

log = logging.getLogger(__name__)


class QuietDisconnectMiddleware:
    """Turns a `ClientDisconnect` out of the app into the quiet end of the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            log.debug("client went away during %s %s", scope["method"], scope["path"])
