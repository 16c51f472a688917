"""Fetching a link's context: the target page, through the guarded client, read with mf2.

Spec: https://indieweb.org/reply-context. The page is fetched with
`hearth.server.core.http.fetch` (public addresses only unless allowed, redirects followed
up to the client's limit), at most `MAX_BYTES` within `TIMEOUT` seconds, and read by
`reading.read_context`. `fetch_context` is what the editor's preview and the stored-context
job call: any failure is None. `load_context` says whether a failure may pass (for retries).
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from hearth.server.contexts.reading import LinkContext, read_context
from hearth.server.core.http import BlockedAddressError, ResponseTooLarge, fetch

MAX_BYTES = 1024 * 1024
TIMEOUT = 10.0
ACCEPT = "text/html, application/xhtml+xml, application/mf2+json;q=0.9, application/json;q=0.8"
_PERMANENT = (
    BlockedAddressError,
    ResponseTooLarge,
    httpx.TooManyRedirects,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
)
log = logging.getLogger(__name__)


class Unavailable(Exception):
    """No context could be read; `transient` when trying again later may give one."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


async def load_context(client: httpx.AsyncClient, url: str) -> LinkContext:
    """The context of `url`, or `Unavailable` saying why and whether to try again."""
    try:
        response = await fetch(
            client,
            "GET",
            url,
            headers={"Accept": ACCEPT},
            max_bytes=MAX_BYTES,
            total_timeout=TIMEOUT,
        )
    except _PERMANENT as exc:
        raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
    except (httpx.HTTPError, ValueError) as exc:  # timeouts, refused connections, bad URLs
        raise Unavailable(f"{type(exc).__name__}: {exc}", transient=True) from exc
    status = response.status_code
    if not 200 <= status < 300:
        transient = status in (408, 429) or status >= 500
        raise Unavailable(f"the page answered HTTP {status}", transient=transient)
    content_type = response.headers.get("Content-Type") or "text/html"
    try:
        found = await asyncio.to_thread(
            read_context,
            response.content,
            content_type,
            str(response.url),
            response.charset_encoding,
            url,
        )
    except Exception as exc:  # a parser choking on a stranger's page is no context
        log.warning("could not read the context of %s: %s", url, type(exc).__name__)
        raise Unavailable(f"unreadable page: {type(exc).__name__}") from exc
    if found is None:
        raise Unavailable(f"nothing to show in a {content_type.split(';')[0]} page")
    return found


async def fetch_context(client: httpx.AsyncClient, url: str) -> LinkContext | None:
    """The context of `url` (name, author, snippet, published), or None if none can be read.

    `client` should be the guarded client (`hearth.server.core.http.create_http_client`,
    the app's `state.http`): the URL comes from whoever writes a post.
    """
    try:
        return await load_context(client, url)
    except Unavailable:
        return None
