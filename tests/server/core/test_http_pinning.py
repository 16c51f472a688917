"""hearth.server.core.http: https connects to the checked address, malformed URLs are refused.

The DNS-rebinding attack: a name answers a public address when the guard checks it and a
private one when the connection is made. The https tests run a real TLS server on loopback
with a certificate made here for a made-up name (trusted through the test's SSL context),
allow 127.0.0.0/8, and give the guard a fake resolver; the system resolver, which httpcore
would ask, knows no `.invalid` name, so only a connection pinned to the checked address can
succeed. A recording network backend shows where the connection went.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hearth.server.core.http import (
    GuardedTransport,
    MalformedURLError,
    check_url,
    fetch,
    pinned_transport,
)

NAME = "rebind.invalid"
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
MALFORMED = [
    "http://0177.0.0.1/",
    "http://[::1",
    "http://exa mple.com/",
    "http://%00/",
    "http://" + "a" * 64 + ".example/",
    "http://" + ".".join(["a" * 63] * 4) + "/",
    "http://256.256.256.256/",
    "http://0x7f.1/",
    "http://2130706433/",
    "http://xn--abc.example/",
    "http://[fe80::1%25eth0]/",
    "http://example.com:99999/",
]


def certificate(name: str, tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A self-signed certificate for `name`: its file, its key's file, and its PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, pem


@dataclass
class TLSServer:
    port: int
    heads: list[bytes] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


@asynccontextmanager
async def tls_server(cert_file: Path, key_file: Path) -> AsyncIterator[TLSServer]:
    """An HTTPS/1.1 server on 127.0.0.1 that records SNI names and request heads."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    found = TLSServer(port=0)

    def on_sni(sock: Any, server_name: str | None, ctx: Any) -> None:
        found.sni.append(server_name)

    context.sni_callback = on_sni

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        found.heads.append(head)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """The real backend, remembering where each TCP connection went."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await self.inner.connect_tcp(host, port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class ChangingResolver:
    """Answers `first` to the guard's first lookup and `later` after (a rebinding name)."""

    def __init__(self, first: str, later: str) -> None:
        self.answers = [first]
        self.later = later
        self.calls = 0

    async def __call__(self, host: str) -> Sequence[str]:
        self.calls += 1
        return [self.answers.pop(0) if self.answers else self.later]


def client_for(
    pem: bytes, backend: RecordingBackend, resolver: Any, allowed: Any = LOOPBACK
) -> httpx.AsyncClient:
    trust = ssl.create_default_context(cadata=pem.decode())
    transport = pinned_transport(trust, network_backend=backend)
    return httpx.AsyncClient(transport=GuardedTransport(transport, allowed, resolver=resolver))


async def test_https_connects_to_the_checked_address_with_the_name_for_tls(
    tmp_path: Path,
) -> None:
    """The name's answer changes after the check: the connection still goes to the checked
    address, and TLS is done for the name (SNI, certificate and Host all say the name)."""
    cert_file, key_file, pem = certificate(NAME, tmp_path)
    backend = RecordingBackend()
    resolver = ChangingResolver("127.0.0.1", "10.0.0.1")
    async with (
        tls_server(cert_file, key_file) as server,
        client_for(pem, backend, resolver) as client,
    ):
        response = await client.get(f"https://{NAME}:{server.port}/pinned")
    assert (200, "ok") == (response.status_code, response.text)
    assert [("127.0.0.1", server.port)] == backend.connected
    assert [NAME] == server.sni
    assert f"Host: {NAME}:{server.port}\r\n".encode() in server.heads[0]
    assert str(response.url) == f"https://{NAME}:{server.port}/pinned"


async def test_https_certificate_is_still_checked_against_the_name(tmp_path: Path) -> None:
    """Pinning the address does not weaken TLS: a certificate for another name is refused
    and no request is sent."""
    cert_file, key_file, pem = certificate("someone-else.invalid", tmp_path)
    backend = RecordingBackend()
    resolver = ChangingResolver("127.0.0.1", "127.0.0.1")
    async with (
        tls_server(cert_file, key_file) as server,
        client_for(pem, backend, resolver) as client,
    ):
        with pytest.raises(httpx.ConnectError):
            await client.get(f"https://{NAME}:{server.port}/")
    assert [] == server.heads
    assert [("127.0.0.1", server.port)] == backend.connected


async def test_each_https_request_is_checked_and_pinned_again(tmp_path: Path) -> None:
    """The second request is checked anew: a name that now answers a private address is
    refused before any connection, even though a pooled one may exist."""
    cert_file, key_file, pem = certificate(NAME, tmp_path)
    backend = RecordingBackend()
    resolver = ChangingResolver("127.0.0.1", "10.0.0.1")
    async with (
        tls_server(cert_file, key_file) as server,
        client_for(pem, backend, resolver) as client,
    ):
        first = await client.get(f"https://{NAME}:{server.port}/1")
        with pytest.raises(httpx.RequestError):
            await client.get(f"https://{NAME}:{server.port}/2")
    assert 200 == first.status_code
    assert [("127.0.0.1", server.port)] == backend.connected
    assert 2 == resolver.calls


@pytest.mark.parametrize("url", MALFORMED)
def test_check_url_names_every_malformed_url(url: str) -> None:
    """Whatever httpx refuses, and hosts it takes that are no IP address nor DNS name."""
    assert check_url(url) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://alice.example/replies/1",
        "http://93.184.216.34/x",
        "http://[2001:db8::1]:8080/x",
        "https://bücher.example/",
        "https://under_score.example./",
    ],
)
def test_check_url_takes_ordinary_urls(url: str) -> None:
    assert check_url(url) is None


@pytest.mark.parametrize("url", [u for u in MALFORMED if check_url(u) != "it is not a valid URL"])
async def test_guard_refuses_malformed_hosts_without_a_lookup(url: str) -> None:
    """A URL httpx parses but DNS could not take is a clean `MalformedURLError` (an
    `httpx.RequestError`), before any lookup or connection."""
    looked_up: list[str] = []

    async def resolve(host: str) -> Sequence[str]:
        looked_up.append(host)
        return ["93.184.216.34"]

    transport = GuardedTransport(
        httpx.MockTransport(lambda request: httpx.Response(200)), resolver=resolve
    )
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(MalformedURLError):
            await fetch(client, "GET", url)
    assert [] == looked_up
