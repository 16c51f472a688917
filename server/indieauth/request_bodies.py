"""Reading the small form bodies the token endpoints take, with a size limit.

Token, introspection and revocation requests are `application/x-www-form-urlencoded`
(RFC 6749 §4.1.3, RFC 7662 §2.1, RFC 7009 §2.1); a JSON object is read too, for clients
that send one. Anything over `MAX_BODY` is refused before it is all read.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.requests import Request

__all__ = ["MAX_BODY", "BodyError", "read_fields"]

MAX_BODY = 16 * 1024


class BodyError(Exception):
    """A body Hearth will not read: too large, or not a form."""


async def read_fields(request: Request) -> dict[str, str]:
    """The body's fields (the first value of each), or `BodyError`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyError(f"The request body is larger than {MAX_BODY} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyError(f"The request body is larger than {MAX_BODY} bytes.")
        chunks.append(chunk)
    body = b"".join(chunks)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise BodyError("The JSON body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise BodyError("The JSON body must be an object.")
        return {k: v for k, v in data.items() if isinstance(v, str)}
    if body and content_type not in ("application/x-www-form-urlencoded", ""):
        raise BodyError("Send the parameters as application/x-www-form-urlencoded.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise BodyError("The body is not UTF-8.") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields
