"""MP4, MOV, 3GP and M4A uploads lose their recording location through the media endpoint.

Spec: https://www.w3.org/TR/micropub/#media-endpoint; the stripping itself is
`hearth.server.core.media.video_location`, tested in
tests/server/core/media/test_video_location.py with the same movies.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from hearth.server.core.settings import Settings
from tests.asgi_client import app_client
from tests.micropub.media_helpers import ENDPOINT, bearer, token, upload
from tests.server.core.media.media_data.movies import ISO6709, MOOV_TYPE_AT, movie, neutralised

BRANDS = {
    b"qt  ": "video/quicktime",
    b"isom": "video/mp4",
    b"3gp6": "video/3gpp",
    b"M4A ": "audio/mp4",
}


@pytest.mark.parametrize("brand", sorted(BRANDS), ids=lambda brand: BRANDS[brand])
async def test_upload_is_served_without_location(client: httpx.AsyncClient, brand: bytes) -> None:
    """Through the media endpoint, each ISO BMFF type is stored with its location stripped."""
    data = movie(brand=brand)
    response = await upload(client, data, secret=await token(), filename="walk.mov")
    assert 201 == response.status_code, response.text
    served = await client.get(response.headers["location"])
    assert BRANDS[brand] == served.headers["content-type"]
    assert movie(neutralised, brand=brand) == served.content
    assert ISO6709 not in served.content


async def test_keep_exif_setting_keeps_video_location(settings: Settings) -> None:
    """With HEARTH_MEDIA_KEEP_EXIF on, the MOV is served byte for byte as sent."""
    data = movie()
    async with app_client(replace(settings, media_keep_exif=True)) as client:
        response = await upload(client, data, secret=await token(), filename="walk.mov")
        assert 201 == response.status_code, response.text
        served = await client.get(response.headers["location"])
    assert data == served.content


async def test_broken_upload_is_refused_and_not_stored(client: httpx.AsyncClient) -> None:
    """A MOV whose moov is cut off is 400 and nothing lands in the media store."""
    secret = await token()
    response = await upload(client, movie()[: MOOV_TYPE_AT + 200], secret=secret)
    assert 400 == response.status_code
    assert "location cannot be removed" in response.json()["error_description"]
    last = await client.get(ENDPOINT, params={"q": "last"}, headers=bearer(secret))
    assert {} == last.json()
