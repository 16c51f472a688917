"""Finding a visitor's IndieAuth server: https://indieauth.spec.indieweb.org/#discovery-by-clients

The profile URL is fetched, redirects followed one by one (at most `MAX_REDIRECTS`), each
URL of the chain recorded: a permanent redirect (301, 308) before any temporary one moves the
profile URL, a temporary one (302, 303, 307) only where discovery looks. The server is named
by the first `rel=indieauth-metadata` of the `Link` headers, else of the HTML `<link>`
elements, resolved against the final URL; its metadata document (RFC 8414) gives the
`issuer` and the endpoints. A profile without one falls back to the legacy
`rel=authorization_endpoint` (headers, then HTML), which has no issuer.

Every fetch goes through the app's guarded client with size and time limits; whatever goes
wrong is a `DiscoveryFailed` whose message can be shown to the visitor as it is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import html5lib
import httpx
import orjson

from hearth.server.core.http import BlockedAddressError, ResponseTooLarge, fetch
from hearth.server.core.link_headers import parse_link_header, rel_tokens

__all__ = [
    "FETCH_ERRORS",
    "AuthServer",
    "DiscoveryFailed",
    "discover",
    "fetch_failure",
    "html_rels",
    "http_url",
    "link_rels",
]

MAX_REDIRECTS = 5
MAX_PAGE_BYTES = 1024 * 1024
MAX_METADATA_BYTES = 64 * 1024
TOTAL_TIMEOUT = 15.0
METADATA = "indieauth-metadata"
AUTHORIZATION = "authorization_endpoint"
_WANTED = (METADATA, AUTHORIZATION)
_PERMANENT = frozenset({301, 308})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
# What a request to a URL from someone else's answer may raise (a URL httpx cannot parse
# is an `InvalidURL`, which is no `HTTPError`).
FETCH_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


class DiscoveryFailed(Exception):
    """Discovery could not name a server; the message is meant for the visitor.

    `status` is 400 when the profile itself is at fault, 502 when a server could not be
    reached or answered nonsense.
    """

    def __init__(self, message: str, *, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class AuthServer:
    """What discovery found for a profile URL."""

    # The profile URL once permanent redirects are applied (sent as `me`).
    profile_url: str
    # Every URL of the redirect chain, the entered one first.
    seen_urls: tuple[str, ...]
    authorization_endpoint: str
    # None when the profile names only a legacy authorization endpoint.
    issuer: str | None = None
    token_endpoint: str | None = None


def fetch_failure(url: str, error: Exception) -> DiscoveryFailed:
    """A plain-words failure for a request to `url` that did not get an answer."""
    host = _host(url)
    if isinstance(error, BlockedAddressError):
        return DiscoveryFailed(
            f"{host} is not on a public network address, so Hearth won't go there."
        )
    if isinstance(error, ResponseTooLarge):
        return DiscoveryFailed(f"{host} sent an answer far too large to be what was asked for.")
    if isinstance(error, httpx.RemoteProtocolError | httpx.DecodingError):
        return DiscoveryFailed(f"{host} gave an answer that could not be understood.")
    if isinstance(error, httpx.TimeoutException):
        return DiscoveryFailed(f"{host} took too long to answer.")
    return DiscoveryFailed(f"Could not reach {host}: it may be down, or the address is wrong.")


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


def http_url(value: object) -> str | None:
    """`value` when it is an absolute http(s) URL (of sane length), else None."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    try:
        parts = urlsplit(value)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return None
    return value if usable else None


def _resolve(base_url: str, reference: str) -> str | None:
    """`reference` resolved against `base_url`, or None when it is no URL at all."""
    try:
        return urljoin(base_url, reference.strip(" \t\n\f\r"))
    except ValueError:
        return None


def link_rels(link_headers: list[str], base_url: str) -> dict[str, str]:
    """The first link of each wanted rel in the `Link` header values, resolved."""
    found: dict[str, str] = {}
    for value in link_headers:
        for link in parse_link_header(value):
            for rel in link.rels:
                resolved = _resolve(base_url, link.url)
                if rel in _WANTED and rel not in found and resolved is not None:
                    found[rel] = resolved
    return found


def html_rels(html: bytes, base_url: str, encoding: str | None) -> dict[str, str]:
    """The first `<link>` of each wanted rel in the page (parsed as browsers do), resolved."""
    options = {"transport_encoding": encoding} if encoding else {}
    root = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False, **options)
    found: dict[str, str] = {}
    for element in root.iter("link"):
        href = element.attrib.get("href")
        if href is None:
            continue
        for rel in rel_tokens(element.attrib.get("rel", "")):
            resolved = _resolve(base_url, href)
            if rel in _WANTED and rel not in found and resolved is not None:
                found[rel] = resolved
    return found


async def _profile_page(
    client: httpx.AsyncClient, url: str
) -> tuple[httpx.Response, str, list[str]]:
    """The profile's final answer, the profile URL after permanent redirects, the chain."""
    seen, profile, current, temporary = [url], url, url, False
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = await fetch(
                client, "GET", current, headers={"Accept": _ACCEPT_HTML},
                max_bytes=MAX_PAGE_BYTES, total_timeout=TOTAL_TIMEOUT, follow_redirects=False,
            )  # fmt: skip
        except FETCH_ERRORS as error:
            raise fetch_failure(current, error) from None
        location = response.headers.get("location")
        if not (response.is_redirect and location):
            return response, profile, seen
        current = http_url(_resolve(current, location)) or ""
        if not current:
            raise DiscoveryFailed(f"{url} redirects to something that is not a web address.")
        temporary = temporary or response.status_code not in _PERMANENT
        profile = profile if temporary else current
        if current not in seen:
            seen.append(current)
    raise DiscoveryFailed(f"{url} redirects more than {MAX_REDIRECTS} times.")


async def discover(client: httpx.AsyncClient, url: str) -> AuthServer:
    """The IndieAuth server the profile at `url` names, or `DiscoveryFailed`."""
    response, profile, seen = await _profile_page(client, url)
    if not response.is_success:
        status = 400 if response.is_client_error else 502
        message = f"{url} answered with an error (HTTP {response.status_code})."
        raise DiscoveryFailed(message, status=status)
    final = str(response.url)
    found = link_rels(response.headers.get_list("link"), final)
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if METADATA not in found and media_type in _HTML_TYPES:
        in_html = await asyncio.to_thread(
            html_rels, response.content, final, response.charset_encoding
        )
        # The page's metadata link beats a legacy header link; a header beats the page.
        found = {**in_html, **found}
    if METADATA in found:
        return await _from_metadata(client, found[METADATA], profile, seen)
    endpoint = http_url(found.get(AUTHORIZATION))
    if endpoint is None:
        raise DiscoveryFailed(
            f"{url} does not name an IndieAuth server (no indieauth-metadata or"
            " authorization_endpoint link), so it cannot be used to sign in.",
            status=400,
        )
    return AuthServer(profile, tuple(seen), endpoint)


async def _from_metadata(
    client: httpx.AsyncClient, metadata_url: str, profile: str, seen: list[str]
) -> AuthServer:
    """Read the server's metadata document (https://indieauth.spec.indieweb.org/#indieauth-server-metadata)."""
    if http_url(metadata_url) is None:
        raise DiscoveryFailed(f"{profile} names IndieAuth metadata that is not a web address.")
    try:
        response = await fetch(
            client, "GET", metadata_url, headers={"Accept": "application/json"},
            max_bytes=MAX_METADATA_BYTES, total_timeout=TOTAL_TIMEOUT,
        )  # fmt: skip
    except FETCH_ERRORS as error:
        raise fetch_failure(metadata_url, error) from None
    host = _host(metadata_url)
    if not response.is_success:
        raise DiscoveryFailed(
            f"{host} answered HTTP {response.status_code} for its IndieAuth metadata."
        )
    try:
        document = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise DiscoveryFailed(f"{host} sent IndieAuth metadata that is not a JSON object.")
    issuer = http_url(document.get("issuer"))
    endpoint = http_url(document.get("authorization_endpoint"))
    if issuer is None or endpoint is None:
        raise DiscoveryFailed(f"{host}'s IndieAuth metadata lacks an issuer or endpoint.")
    issuer_parts = urlsplit(issuer)
    if issuer_parts.query or issuer_parts.fragment or not metadata_url.startswith(issuer):
        raise DiscoveryFailed(f"{host}'s IndieAuth metadata names an issuer it may not use.")
    token = http_url(document.get("token_endpoint"))
    return AuthServer(profile, tuple(seen), endpoint, issuer=issuer, token_endpoint=token)
