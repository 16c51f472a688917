"""micropub.rocks server tests 700-702, sent as the tester sends them.

The tester: https://github.com/aaronpk/micropub.rocks/blob/eeac57ad4b38e6a6cc0a31d6a4fe2bca2794f791/views/partials/media-endpoint-test.php
and `ServerTests::media_check` in app/ServerTests.php.

Step 1 (`q=config` advertising the media endpoint) belongs to the Micropub endpoint; here the
advertised URL itself is checked against the tester's pattern. Step 2 is a multipart POST
with one part `file` (sunset.jpg 128 KB / micropub-rocks.png 112 KB / w3c-socialwg.gif
2.3 MB, part types from the extension, Bearer header): exactly 201 and a Location. Step 3
is an unauthenticated GET of Location, following redirects: 200 and a Content-Type
string-equal to the image type.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from hearth.micropub.media_endpoint import media_endpoint_url
from hearth.server.core.settings import Settings
from tests.micropub.media_helpers import token, upload
from tests.server.core.media.media_data.factory import big_animated_gif, encode, noise


def sunset_jpg() -> bytes:
    return encode(noise((330, 330)), "JPEG", quality=95)  # about 128 KB


def micropub_rocks_png() -> bytes:
    return encode(noise((190, 190)), "PNG")  # about 110 KB


CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "700": ("sunset.jpg", sunset_jpg, "image/jpeg"),
    "701": ("micropub-rocks.png", micropub_rocks_png, "image/png"),
    "702": ("w3c-socialwg.gif", big_animated_gif, "image/gif"),
}


def test_media_endpoint_url_has_a_path(settings: Settings) -> None:
    """The advertised media endpoint is absolute with a path (micropub.rocks issue #78)."""
    assert re.match(r"^https?://[^/]+/[^ ]*$", media_endpoint_url(settings))
    assert media_endpoint_url(settings).endswith("/micropub/media")


@pytest.mark.parametrize("test", sorted(CASES))
async def test_upload_then_fetch_unauthenticated(
    client: httpx.AsyncClient, settings: Settings, test: str
) -> None:
    """Upload gives exactly 201 + Location; an anonymous GET serves the exact image type."""
    filename, make, content_type = CASES[test]
    data = make()
    response = await upload(
        client,
        data,
        secret=await token("create update delete undelete media"),
        filename=filename,
        content_type=content_type,
        url=media_endpoint_url(settings),
    )
    assert 201 == response.status_code
    location = response.headers["location"]
    assert location.startswith(settings.url)
    fetched = await client.get(location, follow_redirects=True)
    assert 200 == fetched.status_code
    assert content_type == fetched.headers["content-type"]
