"""Hearth's httpcore backend on asyncio streams, against real servers on loopback: keep-alive
connections the server dropped are not reused, and failures reach callers as httpx's
errors."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from hearth.server.core.http import create_http_client, fetch
from hearth.server.core.settings import Settings

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/"


def _client(tmp_path: Path, timeout: float = 5.0) -> httpx.AsyncClient:
    settings = Settings(
        url="https://example.test/",
        data_dir=tmp_path,
        allowed_private_networks=(ipaddress.ip_network("127.0.0.1/32"),),
        http_timeout=timeout,
    )
    return create_http_client(settings)


async def test_a_keepalive_connection_the_server_closed_is_not_reused(tmp_path: Path) -> None:
    """The server answers one request per connection and hangs up (no `Connection: close`):
    the next request goes on a new connection, not onto the dead one."""
    connections = 0

    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE)
        await writer.drain()
        writer.close()

    async with _server(one_answer) as url, _client(tmp_path) as client:
        for _ in range(3):
            response = await fetch(client, "GET", url)
            assert response.text == "ok"
            await asyncio.sleep(0.05)  # the hang-up arrives while the connection is idle
    assert connections == 3


async def test_a_kept_connection_is_reused(tmp_path: Path) -> None:
    connections = 0

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(RESPONSE)
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()

    async with _server(keep_alive) as url, _client(tmp_path) as client:
        for _ in range(3):
            assert (await fetch(client, "GET", url)).text == "ok"
    assert connections == 1


async def test_a_silent_server_is_a_read_timeout(tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    async with _server(silent) as url, _client(tmp_path, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await fetch(client, "GET", url)


async def test_a_server_hanging_up_mid_answer_is_an_error_not_a_short_body(
    tmp_path: Path,
) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
        await writer.drain()
        writer.close()

    async with _server(cut) as url, _client(tmp_path) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await fetch(client, "GET", url)


async def test_a_closed_port_is_a_connect_error(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with _client(tmp_path) as client:
        with pytest.raises(httpx.ConnectError):
            await fetch(client, "GET", f"http://127.0.0.1:{port}/")
