"""A client that goes away in the middle of its request, against a real `hearth serve`.

Issue #13: no "Exception in ASGI application" traceback in the log, and nothing
half-stored. Each request declares a longer body than it sends, then closes the socket.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.serving import Served, hearth_cli, hearth_serve
from tests.stores import served_rows

# `hearth serve` opens the database itself: the PostgreSQL pass runs this too.
pytestmark = pytest.mark.store

JPEG_START = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 4000


def _cut(served: Served, path: str, headers: dict[str, str], sent: bytes, declared: int) -> None:
    """POST `path` declaring `declared` bytes of body, send only `sent`, then hang up."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(head.encode() + sent)
        time.sleep(0.2)  # the server is reading the body when the client leaves


def _multipart(boundary: str, name: str, filename: str | None, content_type: str) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (
        f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def _count(served: Served, table: str) -> int:
    rows = served_rows(served.env, f"SELECT COUNT(*) FROM {table}")  # noqa: S608
    return int(str(rows[0][0]))


def test_requests_cut_mid_body_end_quietly_and_store_nothing(tmp_path: Path) -> None:
    """A form create, a multipart create with a photo, a media upload and a webmention, each
    cut mid-body: the server logs no traceback, stores no post, media row or file, and then
    serves the next create normally."""
    with hearth_serve(tmp_path) as served:
        token = hearth_cli(served.env, "token", "create").strip().splitlines()[-1]
        bearer = {"Authorization": f"Bearer {token}"}
        form = {**bearer, "Content-Type": "application/x-www-form-urlencoded"}
        _cut(served, "/micropub", form, b"h=entry&content=half+a+no", declared=1000)
        multipart = {**bearer, "Content-Type": "multipart/form-data; boundary=XX"}
        photo = _multipart("XX", "photo", "a.jpg", "image/jpeg") + JPEG_START
        body = b'--XX\r\nContent-Disposition: form-data; name="h"\r\n\r\nentry\r\n' + photo
        _cut(served, "/micropub", multipart, body, declared=200_000)
        upload = _multipart("XX", "file", "b.jpg", "image/jpeg") + JPEG_START
        _cut(served, "/micropub/media", multipart, upload, declared=200_000)
        mention = {"Content-Type": "application/x-www-form-urlencoded"}
        _cut(served, "/webmention", mention, b"source=https://a.example/&tar", declared=500)

        time.sleep(0.5)
        output = served.output()
        assert "Exception in ASGI application" not in output
        assert "Traceback" not in output
        assert (_count(served, "posts"), _count(served, "media")) == (0, 0)
        assert _count(served, "responses") == 0
        media_dir = tmp_path / "media"
        assert not media_dir.exists() or not [p for p in media_dir.rglob("*") if p.is_file()]

        after = httpx.post(served.base + "micropub", data={"h": "entry", "content": "whole"},
                           headers=bearer)  # fmt: skip
        assert after.status_code == 201
        assert _count(served, "posts") == 1
    # Leaving `hearth_serve` checked that the server stopped cleanly, without a traceback.
