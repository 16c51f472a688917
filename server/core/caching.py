"""Conditional GET: ETag and Last-Modified, answered with 304 when nothing changed.

Spec: https://www.rfc-editor.org/rfc/rfc9110#section-13

The ETag is a hash of the rendered body, so it changes exactly when what a reader would
see changes (a new post, an edited h-card, a new page layout after an upgrade).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _not_modified_since(request: Request, last_modified: datetime | None) -> bool:
    header = request.headers.get("if-modified-since")
    if not header or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


def conditional(
    request: Request, response: Response, last_modified: datetime | None = None
) -> Response:
    """Add validators to a complete response, or turn it into a 304 if the client is current."""
    etag = _etag(bytes(response.body))
    response.headers["ETag"] = etag
    if last_modified is not None:
        response.headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), True)
    if_none_match = request.headers.get("if-none-match")
    # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
    if if_none_match is not None:
        fresh = etag in [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        fresh = fresh or if_none_match.strip() == "*"
    else:
        fresh = _not_modified_since(request, last_modified)
    if not fresh:
        return response
    kept = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(status_code=304, headers=kept)
