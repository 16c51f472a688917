"""Uploaded images are checked and cleaned through the media endpoint: turned upright,
EXIF/GPS/XMP stripped, bombs and broken files refused with 400.

Spec: https://www.w3.org/TR/micropub/#media-endpoint; Hearth's rules are in issue 3. The
cleaning itself is `hearth.server.core.media.images`, tested in
tests/server/core/media/test_images.py.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace

import httpx
import pytest
from PIL import Image

from hearth.server.core.settings import Settings
from tests.asgi_client import app_client
from tests.micropub.media_helpers import token, upload
from tests.server.core.media.media_data.factory import (
    GPS,
    ORIENTATION,
    animated_gif,
    encode,
    exif,
    jpeg,
    noise,
    opened,
    srgb_profile,
)


async def served(client: httpx.AsyncClient, data: bytes) -> bytes:
    """Upload `data` and return the bytes its Location serves."""
    response = await upload(client, data, secret=await token())
    assert 201 == response.status_code, response.text
    return (await client.get(response.headers["location"])).content


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels, with almost no image data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


async def test_exif_orientation_is_applied(client: httpx.AsyncClient) -> None:
    """A 40x20 JPEG with orientation 6 is served as 20x40, without the orientation tag."""
    image = opened(await served(client, jpeg((40, 20), exif=exif(orientation=6))))
    assert (20, 40) == image.size
    assert ORIENTATION not in image.getexif()


async def test_gps_is_stripped_by_default(client: httpx.AsyncClient) -> None:
    """A JPEG with a GPS position is served with no EXIF at all, so no GPS IFD."""
    data = await served(client, jpeg(exif=exif(gps=True)))
    assert {} == dict(opened(data).getexif().get_ifd(GPS))
    assert b"Exif\0\0" not in data


async def test_stripping_does_not_reencode(client: httpx.AsyncClient) -> None:
    """An upright JPEG loses its EXIF but keeps its exact pixels (no re-encoding)."""
    original = encode(noise((64, 48)), "JPEG", quality=75, exif=exif(gps=True))
    cleaned = opened(await served(client, original))
    assert opened(original).tobytes() == cleaned.tobytes()


async def test_jpeg_without_metadata_is_kept_byte_for_byte(client: httpx.AsyncClient) -> None:
    """A JPEG with nothing to strip is stored exactly as sent."""
    original = jpeg()
    assert original == await served(client, original)


async def test_icc_profile_is_kept(client: httpx.AsyncClient) -> None:
    """Stripping and rotating both keep the colour profile."""
    profile = srgb_profile()
    for tags in (exif(gps=True), exif(orientation=8)):
        data = await served(client, jpeg(exif=tags, icc_profile=profile))
        assert profile == opened(data).info["icc_profile"]


async def test_xmp_and_comments_are_stripped(client: httpx.AsyncClient) -> None:
    """JPEG XMP packets (which can hold GPS too) and comments are removed."""
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>52,22N</exif:GPSLatitude>'
    data = await served(client, jpeg(xmp=xmp + b"</x:xmpmeta>", comment=b"secret place"))
    assert b"GPSLatitude" not in data
    assert b"secret place" not in data


async def test_data_after_the_jpeg_end_is_dropped(client: httpx.AsyncClient) -> None:
    """Bytes after the JPEG's EOI (hidden payloads, extra MPF pictures) are not kept."""
    original = jpeg()
    data = await served(client, original + b"trailing secret")
    assert original == data


async def test_keep_exif_setting_keeps_gps(settings: Settings) -> None:
    """With HEARTH_MEDIA_KEEP_EXIF on, the served JPEG still has its GPS position."""
    kept = replace(settings, media_keep_exif=True)
    async with app_client(kept) as client:
        data = await served(client, jpeg(exif=exif(gps=True)))
    assert "N" == opened(data).getexif().get_ifd(GPS)[1]


async def test_decompression_bomb_is_refused(client: httpx.AsyncClient) -> None:
    """A tiny PNG claiming 100000x100000 pixels is 400 before it is decoded."""
    response = await upload(client, png_claiming(100_000, 100_000), secret=await token())
    assert 400 == response.status_code
    assert "too many pixels" in response.json()["error_description"]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_pixel_limit_follows_max_image_pixels(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image over Image.MAX_IMAGE_PIXELS (lowered here) is refused with 400."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    response = await upload(client, jpeg((20, 10)), secret=await token())
    assert 400 == response.status_code
    assert "invalid_request" == response.json()["error"]


async def test_animation_pixels_are_limited_in_total(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An animation whose frames each fit but together exceed the budget is refused."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 32 * 24)
    response = await upload(client, animated_gif(frames=5), secret=await token())
    assert 400 == response.status_code


async def test_truncated_image_is_refused(client: httpx.AsyncClient) -> None:
    """A JPEG cut off in the middle of its image data is 400."""
    data = encode(noise((64, 64)), "JPEG")
    response = await upload(client, data[: len(data) // 2], secret=await token())
    assert 400 == response.status_code
    assert "not a valid JPEG" in response.json()["error_description"]
