"""hearth.server.core.http: the private-address guard, limits and the shared client's setup."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth.server.core.http import (
    BlockedAddressError,
    HearthClient,
    MalformedURLError,
    Resolver,
    ResponseTooLarge,
    create_http_client,
    fetch,
)
from hearth.server.core.settings import ALL_NETWORKS, IPNetwork, Settings

Handler = Callable[[httpx.Request], httpx.Response]


def make_settings(tmp_path: Path, allowed: Sequence[IPNetwork] = (), **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path,
        allowed_private_networks=tuple(allowed),
        url="https://example.test/",
        **extra,
    )


def fake_resolver(table: dict[str, list[str]]) -> Resolver:
    """A resolver answering from `table`; unknown names fail like a real DNS miss."""

    async def resolve(host: str) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


class Recorder:
    """A MockTransport handler that records requests and answers via `respond`."""

    def __init__(self, respond: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.respond = respond or (lambda request: httpx.Response(200, text="ok"))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)


def mock_client(
    tmp_path: Path,
    handler: Recorder,
    allowed: Sequence[IPNetwork] = (),
    dns: dict[str, list[str]] | None = None,
    **extra: Any,
) -> HearthClient:
    return create_http_client(
        make_settings(tmp_path, allowed, **extra),
        transport=httpx.MockTransport(handler),
        resolver=fake_resolver(dns or {"public.example": ["93.184.216.34"]}),
    )


@asynccontextmanager
async def loopback_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A minimal HTTP/1.1 server on 127.0.0.1 that echoes back the request head."""
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        heads.append(head)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(head)
            + head
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/", heads


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://[::1]/", "https://127.0.0.2:8443/"])
async def test_loopback_literals_are_blocked(tmp_path: Path, url: str) -> None:
    """Loopback IP literals are refused before anything is sent."""
    handler = Recorder()
    async with mock_client(tmp_path, handler) as client:
        with pytest.raises(BlockedAddressError, match="not a public address"):
            await client.get(url)
    assert handler.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata, link-local
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "[fc00::1]",
        "[fe80::1]",
        "[fec0::1]",  # site-local
        "[ff02::1]",  # multicast
        "[::]",
        "[::7f00:1]",  # IPv4-compatible 127.0.0.1
        "[::ffff:10.0.0.1]",  # IPv4-mapped
        "[::ffff:127.0.0.1]",
        "[64:ff9b::a00:1]",  # NAT64 form of 10.0.0.1
        "[2002:a00:1::1]",  # 6to4 form of 10.0.0.1
    ],
)
async def test_private_literals_are_blocked(tmp_path: Path, host: str) -> None:
    """Private, link-local, multicast, reserved and disguised IPv4 literals are refused."""
    handler = Recorder()
    async with mock_client(tmp_path, handler) as client:
        with pytest.raises(BlockedAddressError):
            await client.get(f"http://{host}/")
    assert handler.requests == []


@pytest.mark.parametrize(
    ("host", "error"),
    [("localhost", BlockedAddressError), ("2130706433", MalformedURLError)],
)
async def test_names_resolved_by_the_system_are_checked(
    tmp_path: Path, host: str, error: type[Exception]
) -> None:
    """Without an injected resolver the system's is used: localhost is blocked; 127.0.0.1
    as an int, which some resolvers take, is refused as no valid address before any lookup."""
    handler = Recorder()
    settings = make_settings(tmp_path)
    async with create_http_client(settings, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(error):
            await client.get(f"http://{host}/")
    assert handler.requests == []


async def test_hostname_resolving_to_private_address_is_blocked(tmp_path: Path) -> None:
    """A made-up hostname whose resolver answer is private is refused."""
    handler = Recorder()
    dns = {"intranet.example": ["192.168.0.10"]}
    async with mock_client(tmp_path, handler, dns=dns) as client:
        with pytest.raises(BlockedAddressError, match="192.168.0.10"):
            await client.get("https://intranet.example/")
    assert handler.requests == []


async def test_hostname_with_any_private_address_is_blocked(tmp_path: Path) -> None:
    """One private address among public ones is enough to refuse the host."""
    handler = Recorder()
    dns = {"mixed.example": ["93.184.216.34", "10.1.2.3"]}
    async with mock_client(tmp_path, handler, dns=dns) as client:
        with pytest.raises(BlockedAddressError, match="10.1.2.3"):
            await client.get("https://mixed.example/")
    assert handler.requests == []


async def test_public_hostname_is_fetched(tmp_path: Path) -> None:
    """A hostname resolving to a public address goes through; https keeps its hostname."""
    handler = Recorder()
    async with mock_client(tmp_path, handler) as client:
        response = await client.get("https://public.example/page")
    assert response.status_code == 200
    assert [str(request.url) for request in handler.requests] == ["https://public.example/page"]


async def test_plain_http_connects_to_the_checked_address(tmp_path: Path) -> None:
    """Plain http is sent to the address that was checked, with the original Host header."""
    handler = Recorder()
    async with mock_client(tmp_path, handler) as client:
        response = await client.get("http://public.example/page")
    (sent,) = handler.requests
    assert sent.url == httpx.URL("http://93.184.216.34/page")
    assert sent.headers["Host"] == "public.example"
    assert response.url == httpx.URL("http://public.example/page")


async def test_unresolvable_hostname_is_a_connect_error(tmp_path: Path) -> None:
    """A resolver failure surfaces as httpx.ConnectError."""
    handler = Recorder()
    async with mock_client(tmp_path, handler) as client:
        with pytest.raises(httpx.ConnectError, match="Could not resolve nowhere.example"):
            await client.get("https://nowhere.example/")


async def test_redirect_to_private_address_is_blocked(tmp_path: Path) -> None:
    """A public host redirecting to http://10.0.0.1/ is stopped at that hop."""
    handler = Recorder(
        lambda request: httpx.Response(302, headers={"Location": "http://10.0.0.1/"})
    )
    async with mock_client(tmp_path, handler) as client:
        with pytest.raises(BlockedAddressError, match="10.0.0.1"):
            await client.get("https://public.example/start")
    assert [request.url.host for request in handler.requests] == ["public.example"]


async def test_redirect_to_non_http_scheme_is_refused(tmp_path: Path) -> None:
    """A redirect to file:// is refused rather than handed to the transport below."""
    handler = Recorder(lambda request: httpx.Response(302, headers={"Location": "file:///etc/x"}))
    async with mock_client(tmp_path, handler) as client:
        with pytest.raises(httpx.UnsupportedProtocol):
            await client.get("https://public.example/start")
    assert len(handler.requests) == 1


@pytest.mark.parametrize("url", ["ftp://public.example/file", "file:///etc/passwd"])
async def test_non_http_scheme_is_refused(tmp_path: Path, url: str) -> None:
    """Only http and https URLs are fetched."""
    handler = Recorder()
    async with mock_client(tmp_path, handler, ALL_NETWORKS) as client:
        with pytest.raises(httpx.UnsupportedProtocol, match="only http and https"):
            await client.get(url)
    assert handler.requests == []


async def test_allowed_private_network_is_reachable(tmp_path: Path) -> None:
    """An address inside allowed_private_networks may be fetched, also by hostname."""
    handler = Recorder()
    allowed = [ipaddress.ip_network("10.0.0.0/8")]
    dns = {"nas.example": ["10.9.8.7"]}
    async with mock_client(tmp_path, handler, allowed, dns=dns) as client:
        assert (await client.get("http://10.0.0.1/")).status_code == 200
        assert (await client.get("http://nas.example/")).status_code == 200
    assert len(handler.requests) == 2


async def test_other_private_networks_stay_blocked(tmp_path: Path) -> None:
    """Allowing one private network does not open the others."""
    handler = Recorder()
    allowed = [ipaddress.ip_network("10.0.0.0/8")]
    async with mock_client(tmp_path, handler, allowed) as client:
        with pytest.raises(BlockedAddressError):
            await client.get("http://192.168.1.1/")
        with pytest.raises(BlockedAddressError):
            await client.get("http://127.0.0.1/")


async def test_all_networks_skips_the_lookup(tmp_path: Path) -> None:
    """With ALL_NETWORKS, made-up hostnames reach the transport untouched and unresolved."""
    handler = Recorder()
    async with mock_client(tmp_path, handler, ALL_NETWORKS, dns={}) as client:
        response = await client.get("http://made-up.example/x")
    assert response.status_code == 200
    assert str(handler.requests[0].url) == "http://made-up.example/x"


async def test_real_loopback_request_with_all_networks(tmp_path: Path) -> None:
    """ALL_NETWORKS allows loopback, and a real request to a local server works."""
    client = create_http_client(make_settings(tmp_path, ALL_NETWORKS))
    async with loopback_server() as (url, heads), client:
        response = await fetch(client, "GET", url + "hello")
    assert response.status_code == 200
    assert response.text.startswith("GET /hello HTTP/1.1\r\n")
    assert len(heads) == 1


async def test_real_loopback_request_blocked_by_default(tmp_path: Path) -> None:
    """With no allowed networks the real transport never connects to loopback."""
    client = create_http_client(make_settings(tmp_path))
    async with loopback_server() as (url, heads), client:
        with pytest.raises(BlockedAddressError):
            await client.get(url)
    assert heads == []


async def test_real_request_connects_to_checked_address(tmp_path: Path) -> None:
    """Over the real transport, a hostname is connected to at the address that was checked."""
    allowed = [ipaddress.ip_network("127.0.0.0/8")]
    resolver = fake_resolver({"hearth-test.invalid": ["127.0.0.1"]})
    async with loopback_server() as (url, heads):
        port = httpx.URL(url).port
        settings = make_settings(tmp_path, allowed)
        async with create_http_client(settings, resolver=resolver) as client:
            response = await client.get(f"http://hearth-test.invalid:{port}/pinned")
    assert response.status_code == 200
    assert f"Host: hearth-test.invalid:{port}\r\n".encode() in heads[0]


async def test_user_agent_names_the_site(tmp_path: Path) -> None:
    """Every request carries Hearth's User-Agent with the site URL."""
    handler = Recorder()
    async with mock_client(tmp_path, handler) as client:
        await client.get("https://public.example/")
    assert handler.requests[0].headers["User-Agent"] == "Hearth/0.1 (+https://example.test/)"


async def test_redirect_limit_is_enforced(tmp_path: Path) -> None:
    """Endless redirects stop with TooManyRedirects after http_max_redirects hops."""
    handler = Recorder(lambda request: httpx.Response(302, headers={"Location": "/again"}))
    async with mock_client(tmp_path, handler, http_max_redirects=3) as client:
        with pytest.raises(httpx.TooManyRedirects):
            await client.get("https://public.example/")
    assert len(handler.requests) == 4


async def test_redirects_up_to_the_limit_are_followed(tmp_path: Path) -> None:
    """A chain of exactly http_max_redirects redirects is followed to the end."""

    def respond(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.params.get("hop", "0"))
        if hop < 3:
            return httpx.Response(302, headers={"Location": f"/?hop={hop + 1}"})
        return httpx.Response(200, text="arrived")

    async with mock_client(tmp_path, Recorder(respond), http_max_redirects=3) as client:
        response = await client.get("https://public.example/")
    assert response.text == "arrived"
    assert len(response.history) == 3


async def test_timeouts_come_from_settings(tmp_path: Path) -> None:
    """Connect, read, write and pool timeouts all use http_timeout; redirects are on."""
    async with mock_client(tmp_path, Recorder(), http_timeout=2.5) as client:
        assert client.timeout == httpx.Timeout(2.5)
        assert client.timeout.connect == 2.5
        assert client.timeout.read == 2.5
        assert client.follow_redirects is True
        assert client.max_redirects == 5
        assert client.trust_env is False


async def test_fetch_returns_a_readable_response(tmp_path: Path) -> None:
    """fetch reads the body, so .content and .text are available afterwards."""
    handler = Recorder(lambda request: httpx.Response(200, text="héllo"))
    async with mock_client(tmp_path, handler) as client:
        response = await fetch(client, "GET", "https://public.example/")
    assert response.is_closed
    assert response.content == "héllo".encode()
    assert response.text == "héllo"


async def test_fetch_refuses_streamed_body_over_the_limit(tmp_path: Path) -> None:
    """A body without Content-Length is cut off once more than max bytes have arrived."""
    sent_chunks = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent_chunks
        for _ in range(10_000):
            sent_chunks += 1
            yield b"x" * 1000

    handler = Recorder(lambda request: httpx.Response(200, content=endless()))
    async with mock_client(tmp_path, handler, http_max_bytes=10_000) as client:
        with pytest.raises(ResponseTooLarge, match="more than the 10000 bytes"):
            await fetch(client, "GET", "https://public.example/")
    assert sent_chunks <= 12


async def test_fetch_refuses_declared_content_length_over_the_limit(tmp_path: Path) -> None:
    """A Content-Length above the limit is refused without reading the body."""

    async def body() -> AsyncIterator[bytes]:
        raise AssertionError("the body should not be read")
        yield b""  # pragma: no cover

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": "20000"}, content=body())

    async with mock_client(tmp_path, Recorder(respond), http_max_bytes=10_000) as client:
        with pytest.raises(ResponseTooLarge, match="20000 bytes"):
            await fetch(client, "GET", "https://public.example/")


async def test_fetch_counts_decompressed_bytes(tmp_path: Path) -> None:
    """A small gzip body that inflates past the limit is refused."""
    bomb = gzip.compress(b"\0" * 1_000_000)
    assert len(bomb) < 10_000

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=bomb)

    async with mock_client(tmp_path, Recorder(respond), http_max_bytes=10_000) as client:
        with pytest.raises(ResponseTooLarge):
            await fetch(client, "GET", "https://public.example/")


async def test_fetch_max_bytes_argument_overrides_the_client(tmp_path: Path) -> None:
    """An explicit max_bytes replaces the client's limit for that call."""
    handler = Recorder(lambda request: httpx.Response(200, content=b"x" * 500))
    async with mock_client(tmp_path, handler) as client:
        with pytest.raises(ResponseTooLarge):
            await fetch(client, "GET", "https://public.example/", max_bytes=100)
        response = await fetch(client, "GET", "https://public.example/", max_bytes=500)
    assert len(response.content) == 500


async def test_fetch_total_timeout(tmp_path: Path) -> None:
    """total_timeout bounds the whole exchange and raises httpx.TimeoutException."""

    async def slow() -> AsyncIterator[bytes]:
        yield b"start"
        await asyncio.sleep(10)
        yield b"never"

    handler = Recorder(lambda request: httpx.Response(200, content=slow()))
    async with mock_client(tmp_path, handler) as client:
        with pytest.raises(httpx.TimeoutException, match="longer than 0.05 seconds"):
            await fetch(client, "GET", "https://public.example/", total_timeout=0.05)


async def test_stalled_dns_lookup_times_out(tmp_path: Path) -> None:
    """A resolver that never answers is bounded by the connect timeout."""

    async def stalled(host: str) -> list[str]:
        await asyncio.sleep(10)
        return []

    settings = make_settings(tmp_path, http_timeout=0.05)
    transport = httpx.MockTransport(Recorder())
    async with create_http_client(settings, transport=transport, resolver=stalled) as client:
        with pytest.raises(httpx.ConnectTimeout, match="resolving slow.example"):
            await client.get("https://slow.example/")


async def test_client_keeps_no_cookies(tmp_path: Path) -> None:
    """A Set-Cookie from one site is never sent back by the shared client."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "track=me; Path=/"})

    settings = Settings(data_dir=tmp_path, allowed_private_networks=ALL_NETWORKS)
    async with create_http_client(settings, transport=httpx.MockTransport(handler)) as client:
        await client.get("https://a.example/")
        await client.get("https://a.example/")
    assert [None, None] == seen


async def test_fetch_never_reads_a_redirect_body(tmp_path: Path) -> None:
    """A redirect's body is not read (it could be endless); the target's body is."""

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/start":
            return httpx.Response(302, headers={"Location": "/end"}, stream=Endless())
        return httpx.Response(200, text="arrived")

    settings = Settings(data_dir=tmp_path, allowed_private_networks=ALL_NETWORKS)
    async with create_http_client(settings, transport=httpx.MockTransport(handler)) as client:
        response = await fetch(client, "GET", "https://a.example/start", total_timeout=5)
    assert "arrived" == response.text
    assert [302] == [r.status_code for r in response.history]


async def test_request_logs_never_show_secret_parameters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx's request log line keeps the URL but not the token or code in its query."""
    settings = Settings(data_dir=tmp_path, allowed_private_networks=ALL_NETWORKS)
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with caplog.at_level("INFO", logger="httpx"):
        async with create_http_client(settings, transport=transport) as client:
            await client.get("https://a.example/x?access_token=SECRET1&code=SECRET2&page=2")
    logged = caplog.text
    assert "a.example/x" in logged and "page=2" in logged
    assert "SECRET1" not in logged and "SECRET2" not in logged
