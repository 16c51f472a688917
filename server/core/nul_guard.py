"""Requests naming a NUL character (`%00`) in their path or query are refused up front.

Spec: https://www.rfc-editor.org/rfc/rfc3986#section-2.1 (percent-encoding may spell any
octet, NUL included, though no name Hearth serves contains one).

No post path, short code, tag, token or URL Hearth stores has a NUL in it, and PostgreSQL
cannot even compare text with one (SQLite can): a lookup with `%00` in it would be a 500 there
instead of the 404 a reader expects. So such a path is a 404 and such a query a 400, the same
on both stores, before any route or query runs.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "\x00" in scope["path"]:
                await PlainTextResponse("Not found", status_code=404)(scope, receive, send)
                return
            query: bytes = scope.get("query_string", b"")
            if b"%00" in query or b"\x00" in query:
                await PlainTextResponse(
                    "Bad request: the query holds a NUL character", status_code=400
                )(scope, receive, send)
                return
        await self.app(scope, receive, send)
