"""CORS for the Micropub and media endpoints, so clients that run in a browser can use them.

Fetch standard: https://fetch.spec.whatwg.org/#http-cors-protocol. Micropub clients such as
browser-based editors call the endpoints from their own origin with a Bearer token
(https://www.w3.org/TR/micropub/#authentication-0). Without CORS headers the browser hides the
answer from them, errors included.

Any origin may call: the endpoints authenticate by token only, never by cookie, so answering
`Access-Control-Allow-Origin: *` (which browsers refuse to combine with credentials) gives a
page on another site nothing it could not do with the token itself. A preflight (OPTIONS with
`Access-Control-Request-Method`) is answered here; a plain OPTIONS still reaches the endpoint,
which answers it with `Allow`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]

# Location names the new post or file; Link carries the shortlink; WWW-Authenticate the reason.
EXPOSE_HEADERS = "Location, Link, WWW-Authenticate"
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key",
    "Access-Control-Max-Age": "86400",
}


def allow_browser_clients(endpoint: Endpoint) -> Endpoint:
    """Wrap a bearer-token endpoint so every answer carries the CORS headers."""

    @functools.wraps(endpoint)
    async def with_cors(request: Request) -> Response:
        is_preflight = request.method == "OPTIONS" and (
            "access-control-request-method" in request.headers
        )
        if is_preflight:
            response = Response(status_code=204, headers=PREFLIGHT_HEADERS)
        else:
            response = await endpoint(request)
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    return with_cors
