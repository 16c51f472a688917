"""copy_remote_photo: a photo given by URL copied into the media store, checked like an upload.

Spec: https://www.w3.org/TR/micropub/#uploading-files (a server MAY download a file given by
URL) and https://www.w3.org/TR/micropub/#security-considerations (§6.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from hearth.micropub.errors import InvalidRequest, RequestTooLarge
from hearth.micropub.media_endpoint import copy_remote_photo
from hearth.server.core.http import BlockedAddressError, HearthClient, create_http_client
from hearth.server.core.media_files import media_url
from hearth.server.core.models import Media
from hearth.server.core.settings import Settings
from tests.micropub.media_data.factory import GPS, exif, jpeg, opened

PHOTO_URL = "https://photos.example/2026/sunset.jpg"
DNS = {"photos.example": ["93.184.216.34"], "intranet.example": ["10.0.0.7"]}


def http_client(
    settings: Settings, respond: Callable[[httpx.Request], httpx.Response]
) -> HearthClient:
    """The real guarded client, over a mock network and a fake DNS."""

    async def resolve(host: str) -> list[str]:
        if host not in DNS:
            raise OSError(f"unknown host {host}")
        return DNS[host]

    return create_http_client(settings, transport=httpx.MockTransport(respond), resolver=resolve)


def serving(
    body: bytes, status: int = 200, content_type: str = "image/jpeg"
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(
        status, content=body, headers={"Content-Type": content_type}
    )


async def test_remote_photo_is_copied_and_cleaned(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """The fetched JPEG is stored without its GPS, named after the URL, and served."""
    async with http_client(settings, serving(jpeg(exif=exif(gps=True)))) as http:
        media = await copy_remote_photo(settings, http, PHOTO_URL)
    assert "image/jpeg" == media.content_type
    assert "sunset.jpg" == media.original_name
    served = await client.get(media_url(settings, media))
    assert {} == dict(opened(served.content).getexif().get_ifd(GPS))


async def test_remote_non_image_is_invalid(settings: Settings, client: httpx.AsyncClient) -> None:
    """An HTML page at the URL (whatever its Content-Type says) raises InvalidRequest."""
    async with http_client(settings, serving(b"<html>nope</html>")) as http:
        with pytest.raises(InvalidRequest):
            await copy_remote_photo(settings, http, PHOTO_URL)
    assert 0 == await Media.all().count()


async def test_remote_file_over_the_limit_is_too_large(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """A body over media_max_bytes raises RequestTooLarge (413) and stores nothing."""
    small = replace(settings, media_max_bytes=100)
    async with http_client(small, serving(jpeg() + b"\0" * 1000)) as http:
        with pytest.raises(RequestTooLarge):
            await copy_remote_photo(small, http, PHOTO_URL)
    assert 0 == await Media.all().count()


async def test_remote_error_status_is_raised(settings: Settings, client: httpx.AsyncClient) -> None:
    """A 404 raises httpx.HTTPStatusError, so the job can tell it from a bad file."""
    async with http_client(settings, serving(b"gone", status=404)) as http:
        with pytest.raises(httpx.HTTPStatusError):
            await copy_remote_photo(settings, http, PHOTO_URL)


async def test_private_addresses_are_not_fetched(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """A URL on a private network is refused by the guarded client, never fetched."""
    requests: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=jpeg())

    async with http_client(settings, respond) as http:
        with pytest.raises(BlockedAddressError):
            await copy_remote_photo(settings, http, "http://intranet.example/cam.jpg")
    assert [] == requests
