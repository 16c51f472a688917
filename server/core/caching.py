"""Conditional GET: ETag and Last-Modified, answered with 304 when nothing changed.

Spec: https://www.rfc-editor.org/rfc/rfc9110#section-13

The ETag is a hash of the rendered body, so it changes exactly when what a reader would
see changes (a new post, an edited h-card, a new page layout after an upgrade).

A page may also offer itself to the shared page cache (`shared_as`, or `share`): the complete
response, with its validators, is kept for the page cache's middleware
(`hearth.server.core.page_cache`), which decides whether to store it (an anonymous GET, no
cookie set, nothing private) and answers later requests, conditional ones with `is_fresh`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["OFFER_KEY", "Offer", "conditional", "is_fresh", "share"]

# Where a page leaves its offer, in the ASGI scope the middleware shares with it.
OFFER_KEY = "hearth.page_cache.offer"


@dataclass(frozen=True)
class Offer:
    """A complete response a page allows the shared cache to keep, and what it shows:
    `scope` is its generation scope (`hearth.server.core.page_generations`)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    scope: int
    etag: str | None
    last_modified: datetime | None


def share(
    request: Request,
    response: Response,
    scope: int,
    *,
    etag: str | None = None,
    last_modified: datetime | None = None,
) -> None:
    """Offer `response` (complete, headers final) to the shared page cache, for the pages
    that depend on generation `scope` only (and on the site's)."""
    offer = Offer(
        response.status_code,
        list(response.raw_headers),
        bytes(response.body),
        scope,
        etag,
        last_modified,
    )
    request.scope[OFFER_KEY] = offer


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _not_modified_since(header: str | None, last_modified: datetime | None) -> bool:
    if not header or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def is_fresh(
    etag: str,
    last_modified: datetime | None,
    if_none_match: str | None,
    if_modified_since: str | None,
) -> bool:
    """Whether the client's copy (its If-None-Match / If-Modified-Since) is current."""
    # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return etag in tags or if_none_match.strip() == "*"
    return _not_modified_since(if_modified_since, last_modified)


def conditional(
    request: Request,
    response: Response,
    last_modified: datetime | None = None,
    *,
    shared_as: int | None = None,
) -> Response:
    """Add validators to a complete response, or turn it into a 304 if the client is current.

    With `shared_as` (a generation scope), the complete response is offered to the shared
    page cache first (`share`)."""
    etag = _etag(bytes(response.body))
    response.headers["ETag"] = etag
    if last_modified is not None:
        response.headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), True)
    if shared_as is not None:
        share(request, response, shared_as, etag=etag, last_modified=last_modified)
    headers = request.headers
    if not is_fresh(
        etag, last_modified, headers.get("if-none-match"), headers.get("if-modified-since")
    ):
        return response
    kept = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(status_code=304, headers=kept)
