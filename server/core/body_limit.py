"""Request body limits, checked before a view reads a byte: an ASGI middleware.

Every request body is bounded by the limit of its route family, longest path prefix first
(`BodyLimit`, which the features declare: Micropub's and the media endpoint's uploads, the
editor's). Everything else, the sign-in form and every other urlencoded form among them,
gets `DEFAULT_MAX_BYTES`. A declared `Content-Length` over the limit is answered 413 at once,
without reading the body; a body without one (chunked) is counted while the view reads it,
and the view's read fails once the count passes the limit (413 unless the view answered).

A family whose endpoint checks its own limit (`own_check`, Micropub's: its errors are JSON)
gets `OWN_CHECK_MARGIN` more here, so the endpoint answers first in its own terms and this
stays the backstop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BYTES", "BodyLimit", "BodyLimitMiddleware", "BodyTooLarge"]

DEFAULT_MAX_BYTES = 64 * 1024
OWN_CHECK_MARGIN = 64 * 1024


@dataclass(frozen=True)
class BodyLimit:
    """The largest body accepted at `prefix` and the paths under it (`/micropub` holds
    `/micropub/` and `/micropub/media`, unless a longer prefix has its own)."""

    prefix: str
    # Any body: JSON, urlencoded, or anything else.
    max_bytes: int
    # multipart/form-data bodies (uploads), when they may be larger.
    multipart_bytes: int | None = None
    # The endpoint enforces the same limits itself and answers in its own terms.
    own_check: bool = False

    def matches(self, path: str) -> bool:
        base = self.prefix.rstrip("/")
        return path == base or path.startswith(base + "/")

    def limit_for(self, content_type: str) -> int:
        media_type = content_type.split(";")[0].strip().lower()
        limit = self.max_bytes
        if media_type == "multipart/form-data" and self.multipart_bytes is not None:
            limit = max(limit, self.multipart_bytes)
        return limit + (OWN_CHECK_MARGIN if self.own_check else 0)


class BodyTooLarge(Exception):
    """Raised from `receive` when a body without a declared length passes its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    """Refuses (413) request bodies over their route family's limit; see the module."""

    def __init__(
        self, app: ASGIApp, limits: Sequence[BodyLimit] = (), default: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda limit: len(limit.prefix.rstrip("/")), reverse=True)
        self.default = default

    def limit_for(self, path: str, content_type: str) -> int:
        for limit in self.limits:
            if limit.matches(path):
                return limit.limit_for(content_type)
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        limit = self.limit_for(scope.get("path", ""), content_type)
        declared = headers.get(b"content-length", b"").strip()
        if declared and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = f"The request body is larger than this address accepts ({limit} bytes).\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
