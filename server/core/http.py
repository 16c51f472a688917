"""Hearth's outbound HTTP: one shared client, guarded against reaching private addresses.

Everything Hearth fetches from the network (webmention discovery, sending and verification,
author photos, copies of remote media, silo APIs, WebSub pings) goes through the client made
by `create_http_client`. Most of those URLs come from strangers, so the client

* sends every request, including every redirect hop, through `GuardedTransport`, which
  refuses non-http(s) schemes and hosts that are, or resolve to, loopback, private,
  link-local, multicast or otherwise non-public addresses, unless the address lies in
  `Settings.allowed_private_networks`;
* applies the timeouts, redirect limit and User-Agent from `Settings`;
* remembers `Settings.http_max_bytes`, which `fetch` enforces while reading a body.

Use `fetch(client, "GET", url)` rather than `client.get(url)` for anything whose size the
remote side controls: a plain `client.get` reads the whole body with no limit.

The connection itself goes to the address the guard checked, never to a second DNS answer:
plain http by addressing the request to that IP, https through `PinnedBackend` (the network
backend of the default transport), which connects to the checked address while the URL, the
SNI name, the certificate check and the connection pool's key all stay the hostname.

`check_url` says why a URL cannot be fetched at all (malformed, not http(s), a host that is no
IP address nor DNS name); the guard refuses such requests with `MalformedURLError`.

Tests pass `transport=httpx.MockTransport(...)`; the guard still wraps it. Made-up hostnames
then need a fake `resolver`, or `allowed_private_networks=ALL_NETWORKS`, which turns the
address check (and so the DNS lookup) off entirely.
"""

from __future__ import annotations

import asyncio
import contextvars
import http.cookiejar
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

from hearth.server.core.asyncio_streams import AsyncioBackend
from hearth.server.core.settings import IPNetwork, Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Turns a hostname into the IP addresses (as strings) a connection to it could reach.
Resolver = Callable[[str], Awaitable[Sequence[str]]]

# Well-known NAT64 prefix (RFC 6052): on a NAT64 network these reach the embedded IPv4
# address, so 64:ff9b::a00:1 is really 10.0.0.1.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


# Query parameters that carry secrets (OAuth and IndieAuth codes, tokens, client secrets).
# `state` too: it binds an OAuth flow to one browser, so whoever reads it could finish the
# flow in another. Also when percent-encoded inside another parameter (the sign-in page's
# `next=/indieauth/authorize%3F...%26state%3D...`).
SECRET_PARAMS = re.compile(
    r"((?:(?<=[?&;\s\"'])|(?<=%26)|(?<=%3F)|^)"
    r"(?:access_token|refresh_token|client_secret|code|code_verifier|token|state"
    r"|(?:hub\.)?verify_token)(?:=|%3D))(?:(?!%26)[^&\s\"'])+",
    re.IGNORECASE,
)


def redact_secrets(text: str) -> str:
    """`text` with the value of every secret-carrying query parameter replaced."""
    return SECRET_PARAMS.sub(r"\1[redacted]", text)


class _RedactSecrets(logging.Filter):
    """httpx logs each request's full URL at INFO, and uvicorn's access log each request's
    path and query: secrets in a query must reach neither log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            # Redact inside the arguments: uvicorn's access formatter reads them one by one
            # (client, method, path, version, status), so they must stay a tuple.
            record.args = tuple(
                redact_secrets(str(arg)) if isinstance(arg, str | httpx.URL) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = redact_secrets(record.msg)
        return True


# Loggers that write URLs: outbound requests, and the server's access log (a visitor's
# IndieAuth callback or Instagram's OAuth callback carries a code and a state).
REDACTED_LOGGERS = ("httpx", "uvicorn.access")


def install_log_redaction() -> None:
    """Idempotent: one filter on each logger that writes URLs, however often it is called."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactSecrets) for f in logger.filters):
            logger.addFilter(_RedactSecrets())


class BlockedAddressError(httpx.RequestError):
    """The request's host is, or resolves to, an address Hearth may not connect to."""


class ResponseTooLarge(httpx.RequestError):
    """The response body is larger than the allowed number of bytes."""


class MalformedURLError(httpx.RequestError):
    """The request's URL cannot be fetched: its host is no IP address nor DNS name."""


# A DNS name as resolvers take it: labels of 1 to 63 letters, digits, hyphens (not first or
# last) or underscores (found in real names), 253 characters at most.
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)", re.IGNORECASE)
# Hosts that only digits, dots and hex make up are numeric addresses to some resolvers
# (`0x7f.1`, `2130706433`, `1.2.3`): only the dotted-quad form `ipaddress` accepts is taken.
_NUMERIC = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?", re.IGNORECASE)


def _host_problem(host: str) -> str | None:
    """Why `host` (a URL's ASCII host) is no IP address nor DNS name, or None."""
    if not host:
        return "it has no host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    name = host[:-1] if host.endswith(".") else host
    if _NUMERIC.fullmatch(host) or _NUMERIC.fullmatch(name):
        return f"{host} is not a valid IP address"
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        return f"{host} is not a valid host name"
    return None


def check_url(url: str | httpx.URL) -> str | None:
    """Why `url` cannot be fetched at all (malformed, not http(s), no valid host), or None.

    What httpx refuses (`InvalidURL`, bad IDNA) and what it takes but DNS could not
    (`exa mple.com`, `%00`, a 64-character label, `1.2.3`) both count.
    """
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        if parsed.scheme not in ("http", "https"):
            return "it is not an http(s) URL"
        host = parsed.raw_host.decode("ascii")
        parsed.host  # noqa: B018 - decoding bad IDNA (`xn--abc`) raises here
    except (httpx.InvalidURL, ValueError):  # bad IDNA raises UnicodeError, a ValueError
        return "it is not a valid URL"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return "its port is out of range"
    if "%" in host:  # percent-encoding, or an IPv6 zone id
        return f"{host} is not a valid host"
    if ":" in host:  # IPv6
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            return f"{host} is not a valid IP address"
        return None
    return _host_problem(host)


def _target(address: IPAddress) -> IPAddress:
    """The IPv4 address behind IPv4-mapped and NAT64 IPv6 forms, else `address` itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address


def _is_public(address: IPAddress) -> bool:
    """Whether `address` is routable on the public internet, looking through IPv6 wrappers."""
    address = _target(address)
    # 6to4 (2002::/16) addresses carry an IPv4 address too; judge that as well.
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None and not _is_public(address.sixtofour):
            return False
        # Deprecated fec0::/10 site-local space counts as global to `ipaddress`.
        if address.is_site_local:
            return False
    # `is_global` covers loopback, private, link-local, CGNAT, documentation and
    # unspecified ranges, but calls multicast and some reserved space (such as
    # IPv4-compatible ::a.b.c.d) global.
    return address.is_global and not address.is_multicast and not address.is_reserved


def is_allowed_address(address: IPAddress, allowed_networks: Sequence[IPNetwork]) -> bool:
    """Whether outbound HTTP may connect to `address`: it is public or explicitly allowed."""
    target = _target(address)
    if any(address in network or target in network for network in allowed_networks):
        return True
    return _is_public(address)


def _allows_everything(networks: Sequence[IPNetwork]) -> bool:
    return {4, 6} <= {network.version for network in networks if network.prefixlen == 0}


async def resolve_host(host: str) -> list[str]:
    """Every address the system resolver gives for `host` (what httpcore would connect to)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport, refusing requests to non-http(s) URLs and non-public addresses.

    httpx sends each redirect hop through the transport, so every hop is checked.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        allowed_networks: Sequence[IPNetwork] = (),
        *,
        resolver: Resolver | None = None,
    ) -> None:
        self._inner = inner
        self._allowed = tuple(allowed_networks)
        self._resolve = resolver or resolve_host
        # With every address allowed there is nothing to check, and no reason to do a DNS
        # lookup the connection will repeat anyway.
        self._check_addresses = not _allows_everything(self._allowed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Refusing {request.url}: only http and https URLs may be fetched",
                request=request,
            )
        problem = check_url(request.url)
        if problem is not None:
            raise MalformedURLError(f"Refusing {request.url}: {problem}", request=request)
        if not self._check_addresses:
            return await self._inner.handle_async_request(request)
        address = await self._checked_address(request)
        # DNS rebinding: the name could resolve to a different, private address when the
        # connection is made, so the connection goes to the address just checked (the
        # first one; the others are not tried). Plain http: the request is addressed to
        # it, keeping the Host header. https: the URL keeps the name (the SNI name, the
        # certificate check and the pool's key stay the hostname, so no TLS connection is
        # reused for another name on the same IP) and `PinnedBackend` connects to the
        # address. Another inner transport (a test's MockTransport) makes no connection.
        if request.url.scheme == "http":
            return await self._inner.handle_async_request(_with_host(request, address))
        pin = _PIN.set((request.url.raw_host.decode("ascii").lower(), str(address)))
        try:
            return await self._inner.handle_async_request(request)
        finally:
            _PIN.reset(pin)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _checked_address(self, request: httpx.Request) -> IPAddress:
        """The address to connect to, once every address of the host has been checked."""
        host = request.url.host
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = [ipaddress.ip_address(found) for found in await self._lookup(request)]
        if not addresses:
            raise httpx.ConnectError(f"{host} has no addresses", request=request)
        # Every address must pass: the connection could end up at any of them.
        for address in addresses:
            if not is_allowed_address(address, self._allowed):
                raise BlockedAddressError(
                    f"Refusing {request.url}: {address} is not a public address (allow its"
                    " network with HEARTH_ALLOW_PRIVATE_NETWORKS if it should be reachable)",
                    request=request,
                )
        return addresses[0]

    async def _lookup(self, request: httpx.Request) -> Sequence[str]:
        # The ASCII (IDNA) form is what DNS knows; `url.host` may be Unicode.
        host = request.url.raw_host.decode("ascii")
        # A stalled resolver would otherwise hang outside every httpx timeout.
        timeouts = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                return await self._resolve(host)
        except TimeoutError as exc:  # before OSError: TimeoutError is one of those
            raise httpx.ConnectTimeout(f"Timed out resolving {host}", request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(f"Could not resolve {host}: {exc}", request=request) from exc


# The (hostname, checked address) of the https request being sent in this task: httpcore
# opens a pool's new connection in the task that sends the request, inside the guard's call.
_PIN: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "hearth_http_pin", default=None
)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting to the address the guard checked for the host.

    Only the TCP connection changes: httpcore still starts TLS with the hostname as SNI and
    verifies the certificate against it. A host without a pin (the guard off) is resolved
    as usual.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        pin = _PIN.get()
        if pin is not None and pin[0] == host.lower():
            host = pin[1]
        return await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_transport(
    ssl_context: ssl.SSLContext | None = None,
    *,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport (no retries), its connections made by `PinnedBackend`.

    httpx takes no network backend, so its connection pool is replaced by one built with the
    same defaults. `ssl_context` replaces the system's trust (tests trust their own CA).
    """
    context = ssl_context or httpx.create_ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=context, retries=0)
    transport._pool = httpcore.AsyncConnectionPool(  # httpx's DEFAULT_LIMITS
        ssl_context=context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        retries=0,
        network_backend=PinnedBackend(network_backend),
    )
    return transport


def _with_host(request: httpx.Request, address: IPAddress) -> httpx.Request:
    """A copy of `request` sent to `address`; its Host header still names the original host."""
    if str(address) == request.url.host:
        return request
    return httpx.Request(
        request.method,
        request.url.copy_with(host=str(address)),
        headers=request.headers,
        stream=request.stream,
        extensions=request.extensions,
    )


class HearthClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` that also carries the body size limit `fetch` applies."""

    def __init__(self, *, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_bytes = max_bytes


def create_http_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
) -> HearthClient:
    """The client for all of Hearth's outbound HTTP, configured from `settings`.

    `transport` replaces the network (tests pass `httpx.MockTransport`) and `resolver`
    replaces DNS; the private-address guard wraps either way.
    """
    inner = pinned_transport() if transport is None else transport
    install_log_redaction()
    return HearthClient(
        max_bytes=settings.http_max_bytes,
        transport=GuardedTransport(inner, settings.allowed_private_networks, resolver=resolver),
        timeout=httpx.Timeout(settings.http_timeout),
        follow_redirects=True,
        max_redirects=settings.http_max_redirects,
        headers={"User-Agent": f"Hearth/0.1 (+{settings.url})"},
        # Proxy settings from the environment would route requests around the guard
        # (and resolve names where we cannot check them).
        trust_env=False,
        # One client talks to every site on the web: no site's cookies may follow us to the
        # next request (a jar whose policy accepts no domain stores nothing).
        cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
    )


async def error_excerpt(response: httpx.Response, limit: int = 500) -> str:
    """The start of an error answer's body as one line, for job errors; "" for a success.

    Reads at most about `limit` bytes of a streamed response, however long the body is.
    """
    if 200 <= response.status_code < 300:
        return ""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return " ".join(data[:limit].decode("utf-8", "replace").split())


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), if usable."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


async def fetch(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL | str,
    *,
    max_bytes: int | None = None,
    total_timeout: float | None = None,
    follow_redirects: bool | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request and read its body, refusing bodies larger than `max_bytes`.

    `max_bytes` defaults to the client's limit (`Settings.http_max_bytes`). Both the bytes
    received and the decompressed body count, so a small gzip bomb is refused too; a
    Content-Length over the limit is refused before reading. `total_timeout` (seconds)
    bounds the whole exchange, redirects included, where httpx's own timeouts only bound
    each network operation. Other keyword arguments go to `client.build_request`.

    Raises `ResponseTooLarge`, `httpx.TimeoutException` or any other `httpx.HTTPError`;
    HTTP error statuses are returned, not raised. The returned response is fully read.
    """
    if max_bytes is None:
        max_bytes = (
            client.max_bytes if isinstance(client, HearthClient) else Settings.http_max_bytes
        )
    request = client.build_request(method, url, **kwargs)
    redirects = client.follow_redirects if follow_redirects is None else follow_redirects
    try:
        async with asyncio.timeout(total_timeout):
            response = await _send_following(client, request, redirects)
            try:
                await _read_limited(response, max_bytes)
            finally:
                await response.aclose()
    except TimeoutError as exc:
        raise httpx.TimeoutException(
            f"{method} {url} took longer than {total_timeout} seconds", request=request
        ) from exc
    return response


async def _send_following(
    client: httpx.AsyncClient, request: httpx.Request, follow: bool
) -> httpx.Response:
    """Send `request`, following redirects ourselves: httpx would read each redirect's
    whole body before following it, and a hostile server could make that body huge."""
    history: list[httpx.Response] = []
    while True:
        response = await client.send(request, stream=True, follow_redirects=False)
        if not (follow and response.is_redirect and response.next_request is not None):
            response.history = history
            return response
        await response.aclose()  # the redirect's body is never read
        history.append(response)
        if len(history) > client.max_redirects:
            raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
        request = response.next_request


async def _read_limited(response: httpx.Response, max_bytes: int) -> None:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(
            f"{response.url} sends {declared} bytes, more than the {max_bytes} allowed",
            request=response.request,
        )
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        # `size` counts decompressed bytes; `num_bytes_downloaded` the raw ones, which
        # matter when a body decompresses to little or nothing.
        if max(size, response.num_bytes_downloaded) > max_bytes:
            raise ResponseTooLarge(
                f"{response.url} sends more than the {max_bytes} bytes allowed",
                request=response.request,
            )
        chunks.append(chunk)
    # What `Response.aread()` stores, so .content, .text and .json() work as usual.
    response._content = b"".join(chunks)
