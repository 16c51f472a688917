"""The fake's web side: media files from `/cdn/` and the public `/p/{shortcode}/` pages."""

from __future__ import annotations

import asyncio
import hashlib
import io
from typing import TYPE_CHECKING

from PIL import Image
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

if TYPE_CHECKING:
    from hearth.syndication.instagram.fake.fake_state import FakeState

# A minimal MP4: an `ftyp` box and an empty `mdat` box (ISO/IEC 14496-12), enough to sniff.
MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08mdat"


def jpeg_bytes(seed: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real JPEG whose colour depends on `seed`."""
    digest = hashlib.sha256(seed.encode()).digest()
    buffer = io.BytesIO()
    Image.new("RGB", size, (digest[0], digest[1], digest[2])).save(buffer, "JPEG")
    return buffer.getvalue()


async def cdn(fake: FakeState, request: Request) -> Response:
    """The media files: a small JPEG for images and thumbnails, a tiny MP4 for videos."""
    name = request.path_params["name"]
    media_id, _, ext = name.partition(".")
    if fake.media_by_id(media_id) is None or ext not in ("jpg", "mp4"):
        return Response(status_code=404)
    while not fake.downloads_open.is_set():
        # Polled, not awaited in a thread: the server's event loop keeps answering the API.
        fake.download_held.set()
        await asyncio.sleep(0.02)
    if ext == "mp4":
        return Response(MP4_BYTES, media_type="video/mp4")
    return Response(jpeg_bytes(media_id), media_type="image/jpeg")


async def permalink_page(fake: FakeState, request: Request) -> Response:
    """A media's public page: the account name and the caption."""
    shortcode = request.path_params["shortcode"]
    for item in fake.media:
        if item.shortcode == shortcode:
            caption = (item.caption or "").replace("<", "&lt;")
            return HTMLResponse(f"<h1>@{fake.username}</h1><p>{caption}</p>")
    return Response(status_code=404)
