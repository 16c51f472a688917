"""An httpcore network backend on asyncio's own streams.

httpcore (https://www.encode.io/httpcore/network-backends/) reaches the network through AnyIO
by default, which wraps every read and write in cancel scopes and looks the running library
up through sniffio each time: on a worker verifying webmentions that machinery cost more CPU
than the HTTP itself (issue #14). Hearth only runs on asyncio, so its connections use
asyncio's streams directly; httpcore's exceptions are raised as its AnyIO backend raises
them (a timeout as `ConnectTimeout`, `ReadTimeout`, `WriteTimeout`; any other failure as
`ConnectError`, `ReadError`, `WriteError`), which httpx maps to its own.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

import httpcore

__all__ = ["AsyncioBackend", "AsyncioStream"]

_READ_ERRORS = (OSError, EOFError, ssl.SSLError)
# httpcore's `get_extra_info` names, as asyncio's transports call them.
_TRANSPORT_INFO = {"ssl_object": "ssl_object", "client_addr": "sockname",
                   "server_addr": "peername", "socket": "socket"}  # fmt: skip


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP connection (TLS after `start_tls`) as httpcore reads and writes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except _READ_ERRORS as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except _READ_ERRORS as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()
        # Not waited for: a peer that never answers the TLS close must not hold the caller.

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.close()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except _READ_ERRORS as exc:
            self._writer.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Idle, anything received means the server closed (or sent what no request
            # asked for): the pool drops the connection rather than reuse it.
            return self._reader.at_eof() or self._writer.is_closing()
        name = _TRANSPORT_INFO.get(info)
        return self._writer.get_extra_info(name) if name else None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """TCP connections on asyncio streams (no Unix sockets: Hearth fetches only URLs)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Any = None,  # (level, option, value) triples for setsockopt
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock: socket.socket | None = writer.get_extra_info("socket")
        if sock is not None:
            for option in socket_options or ():
                sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Any = None,  # (level, option, value) triples for setsockopt
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Hearth fetches over TCP only")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
