"""Builders for the media endpoint tests: images made with Pillow, tokens, an upload call.

Every picture is generated on the fly (nothing binary is committed); random pixels come
from a seeded generator so sizes are the same on every run.
"""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from PIL import ExifTags, Image, ImageCms

from hearth.server.app import create_app
from hearth.server.core.settings import Settings
from hearth.server.core.tokens import mint_token

ME = "https://example.test/"
ENDPOINT = "/micropub/media"
ORIENTATION = ExifTags.Base.Orientation
GPS = ExifTags.IFD.GPSInfo


async def token(scope: str = "media") -> str:
    """A fresh bearer token with `scope`."""
    secret, _ = await mint_token(me=ME, scope=scope)
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    secret: str | None = None,
    filename: str = "upload.bin",
    content_type: str = "application/octet-stream",
    url: str = ENDPOINT,
    **kwargs: Any,
) -> httpx.Response:
    """POST `data` as the one `file` part, with `secret` (if given) as a Bearer header."""
    headers = bearer(secret) if secret else {}
    files = {"file": (filename, data, content_type)}
    return await client.post(url, files=files, headers=headers, **kwargs)


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app built from `settings` (for tests that need other settings)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.url) as client:
            yield client


def exif(*, orientation: int | None = None, gps: bool = False) -> Image.Exif:
    """EXIF with a camera make, and optionally an orientation and a GPS position."""
    tags = Image.Exif()
    tags[ExifTags.Base.Make] = "Hearth Test Camera"
    if orientation is not None:
        tags[ORIENTATION] = orientation
    if gps:
        position = tags.get_ifd(GPS)
        position[ExifTags.GPS.GPSLatitudeRef] = "N"
        position[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 1.5)
        position[ExifTags.GPS.GPSLongitudeRef] = "E"
        position[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 2.5)
    return tags


def srgb_profile() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return bytes(profile.tobytes())


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    """An image of seeded random pixels: it compresses badly, so sizes are predictable."""
    bands = len(mode) if mode in ("RGB", "RGBA") else 1
    pixels = random.Random(seed).randbytes(size[0] * size[1] * bands)
    return Image.frombytes(mode, size, pixels)


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (40, 20), **options: Any) -> bytes:
    """A small JPEG; `options` go to Pillow's save (exif=, icc_profile=, comment=...)."""
    return encode(Image.new("RGB", size, (200, 40, 40)), "JPEG", **options)


def png(size: tuple[int, int] = (40, 20), **options: Any) -> bytes:
    return encode(Image.new("RGBA", size, (40, 200, 40, 128)), "PNG", **options)


def webp(size: tuple[int, int] = (40, 20), **options: Any) -> bytes:
    return encode(Image.new("RGB", size, (40, 40, 200)), "WEBP", **options)


def animated_gif(frames: int = 3, size: tuple[int, int] = (32, 24)) -> bytes:
    """An animated GIF whose frames are random noise, so none is merged or cropped."""
    images = [noise(size, "L", seed=index).convert("P") for index in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)


def big_animated_gif(min_bytes: int = 2_300_000) -> bytes:
    """An animated GIF of at least `min_bytes` (micropub.rocks 702 uploads 2.3 MB)."""
    size = (320, 240)
    one_frame = len(animated_gif(1, size))
    return animated_gif(min_bytes // one_frame + 1, size)


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))
