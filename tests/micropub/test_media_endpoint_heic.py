"""HEIC uploads (iPhone photos) are stored and served as upright JPEGs without metadata.

Spec: https://www.w3.org/TR/micropub/#media-endpoint; the conversion itself is
`hearth.server.core.media.heic`, tested through `ingest_bytes` in
tests/server/core/media/test_ingest.py.
"""

from __future__ import annotations

import dataclasses
import io

import httpx
from PIL import Image

from hearth.server.core.settings import Settings
from tests.asgi_client import app_client
from tests.micropub.media_helpers import token, upload
from tests.server.core.media.media_data.factory import heic

GPS_IFD = 0x8825
ORIENTATION = 0x0112


async def fetched(client: httpx.AsyncClient, location: str) -> httpx.Response:
    response = await client.get(location)
    assert 200 == response.status_code
    return response


async def test_heic_is_served_as_jpeg(client: httpx.AsyncClient) -> None:
    """A HEIC upload gets 201 and its URL serves a JPEG of the same picture size."""
    response = await upload(client, heic(), secret=await token(), filename="IMG_0001.HEIC")
    assert 201 == response.status_code
    served = await fetched(client, response.headers["location"])
    assert "image/jpeg" == served.headers["content-type"]
    assert (40, 20) == Image.open(io.BytesIO(served.content)).size


async def test_heic_location_is_stripped(client: httpx.AsyncClient) -> None:
    """The GPS position and camera EXIF of the phone's file are not published."""
    response = await upload(client, heic(), secret=await token())
    served = await fetched(client, response.headers["location"])
    exif = Image.open(io.BytesIO(served.content)).getexif()
    assert ({}, None) == (exif.get_ifd(GPS_IFD), exif.get(0x010F))


async def test_rotated_heic_comes_out_upright(client: httpx.AsyncClient) -> None:
    """A photo taken holding the phone upright is stored upright (orientation 6 applied)."""
    response = await upload(client, heic((40, 20), orientation=6), secret=await token())
    served = await fetched(client, response.headers["location"])
    image = Image.open(io.BytesIO(served.content))
    assert ((20, 40), None) == (image.size, image.getexif().get(ORIENTATION))


async def test_keep_exif_keeps_heic_metadata(settings: Settings) -> None:
    """With HEARTH_MEDIA_KEEP_EXIF the owner's choice holds for HEIC too (GPS kept)."""
    keeping = dataclasses.replace(settings, media_keep_exif=True)
    async with app_client(keeping) as client:
        response = await upload(client, heic(), secret=await token())
        served = await fetched(client, response.headers["location"])
    exif = Image.open(io.BytesIO(served.content)).getexif()
    assert "N" == exif.get_ifd(GPS_IFD).get(1)


async def test_truncated_heic_is_refused(client: httpx.AsyncClient) -> None:
    """A HEIC cut short is 400 invalid_request naming HEIC, and nothing is stored."""
    data = heic()
    response = await upload(client, data[: len(data) // 2], secret=await token())
    assert (400, "invalid_request") == (response.status_code, response.json()["error"])
    assert "HEIC" in response.json()["error_description"]
