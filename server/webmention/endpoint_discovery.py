"""Webmention endpoint discovery: https://www.w3.org/TR/webmention/#sender-discovers-receiver-webmention-endpoint

One GET of the target, redirects followed (never HEAD first: webmention.rocks test 23 serves
each URL once). The endpoint is the first `Link` header value whose `rel` has the token
`webmention`; failing that, for HTML only, the first `<link>` or `<a>` element in document
order with that rel token and an `href` attribute. Relative URLs resolve against the page's
base URL: its `<base href>`, else the final URL after redirects. Nothing else is touched, so
the endpoint's query string survives (test 21) and an empty href names the page (test 15).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin, urlsplit

import html5lib
import httpx

from hearth.server.core.http import retry_after_seconds
from hearth.server.core.link_headers import LinkValue, parse_link_header, rel_tokens

__all__ = [
    "DiscoveryError",
    "LinkValue",
    "discover_endpoint",
    "find_in_html",
    "find_in_link_headers",
    "parse_link_header",
    "rel_tokens",
]

# Discovery reads at most this much of a page; what lies beyond is not looked at (the spec
# suggests 1 MB for receivers; endpoints are nearly always in <head>).
MAX_BYTES = 1024 * 1024
# The whole exchange, redirects included.
TOTAL_TIMEOUT = 30.0
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml")


class DiscoveryError(Exception):
    """The target answered with an error status, so it has no usable endpoint now."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """429 and 5xx may go away: worth retrying later."""
        return self.status == 429 or self.status >= 500


def find_in_link_headers(values: list[str], base_url: str) -> str | None:
    """The first `rel=webmention` link of the `Link` header values, resolved, or None."""
    for value in values:
        for link in parse_link_header(value):
            if "webmention" in link.rels:
                return urljoin(base_url, link.url.strip())
    return None


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


def find_in_html(html: bytes | str, url: str, encoding: str | None = None) -> str | None:
    """The first `<link>`/`<a>` with rel token `webmention` and an href, resolved, or None.

    Parsed as browsers parse (html5lib), so comments, escaped markup, `<title>` and
    `<textarea>` text and SVG `<a>`s are not HTML link elements. `url` is the page's URL;
    the first `<base href>` in the document, wherever it is, replaces it as the base.
    """
    options = {"transport_encoding": encoding} if isinstance(html, bytes) and encoding else {}
    root = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False, **options)
    base: str | None = None
    found: str | None = None
    for element in root.iter():
        if not isinstance(element.tag, str) or "href" not in element.attrib:
            continue  # comments, and elements without href (test 20)
        href = element.attrib["href"].strip(" \t\n\f\r")
        if element.tag == "base" and base is None:
            base = urljoin(url, href)
        elif (
            element.tag in ("a", "link")
            and found is None
            and "webmention" in rel_tokens(element.attrib.get("rel", ""))
        ):
            found = href
    if found is None:
        return None
    return urljoin(base if base is not None and _is_http(base) else url, found)


async def _get(client: httpx.AsyncClient, target: str) -> httpx.Response:
    """GET `target`, following redirects without reading their bodies; the body unread."""
    request = client.build_request("GET", target, headers={"Accept": ACCEPT})
    for _ in range(client.max_redirects + 1):
        response = await client.send(request, stream=True, follow_redirects=False)
        if response.next_request is None:
            return response
        await response.aclose()
        request = response.next_request
    message = f"{target}: more than {client.max_redirects} redirects"
    raise httpx.TooManyRedirects(message, request=request)


async def _read_prefix(response: httpx.Response, max_bytes: int) -> bytes:
    """Up to `max_bytes` of the body (decoded bytes; raw bytes bound a compression trick)."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= max_bytes or response.num_bytes_downloaded >= max_bytes:
            break
    return bytes(data[:max_bytes])


async def discover_endpoint(
    client: httpx.AsyncClient,
    target: str,
    *,
    max_bytes: int = MAX_BYTES,
    total_timeout: float = TOTAL_TIMEOUT,
) -> str | None:
    """The Webmention endpoint `target` advertises, as an absolute URL, or None.

    Raises `DiscoveryError` when the final answer is not 2xx, and `httpx.HTTPError` (the
    guarded client's `BlockedAddressError` among them) when the page cannot be fetched.
    """
    try:
        async with asyncio.timeout(total_timeout):
            response = await _get(client, target)
            try:
                status, final_url = response.status_code, str(response.url)
                if not 200 <= status < 300:
                    message = f"{target} answered {status}"
                    wait = retry_after_seconds(response)
                    raise DiscoveryError(message, status=status, retry_after=wait)
                found = find_in_link_headers(response.headers.get_list("link"), final_url)
                media_type = response.headers.get("content-type", "").split(";")[0]
                if found is not None or media_type.strip().lower() not in HTML_TYPES:
                    return found
                body = await _read_prefix(response, max_bytes)
            finally:
                await response.aclose()
    except TimeoutError as exc:
        raise httpx.TimeoutException(f"{target} took over {total_timeout} s") from exc
    # html5lib is pure Python: parse off the event loop, which also serves the site.
    return await asyncio.to_thread(find_in_html, body, final_url, response.charset_encoding)
