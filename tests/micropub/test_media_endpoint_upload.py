"""The media endpoint's uploads: each image type stored and served with its exact type,
the type taken from the bytes, and malformed requests answered with JSON errors.

Spec: https://www.w3.org/TR/micropub/#media-endpoint
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from PIL import features

from hearth.server.core.models import Media
from hearth.server.core.settings import Settings
from tests.asgi_client import app_client
from tests.micropub.media_helpers import ENDPOINT, bearer, token, upload
from tests.server.core.media.media_data.factory import (
    animated_gif,
    big_animated_gif,
    encode,
    jpeg,
    noise,
    opened,
    png,
    webp,
)


async def test_jpeg_upload_is_created_and_served(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A JPEG gets 201 with an absolute Location that serves it as image/jpeg."""
    response = await upload(client, jpeg(), secret=await token(), filename="a.jpg")
    assert 201 == response.status_code
    location = response.headers["location"]
    assert location.startswith(settings.url + "media/")
    served = await client.get(location)
    assert 200 == served.status_code
    assert "image/jpeg" == served.headers["content-type"]
    assert (40, 20) == opened(served.content).size


async def test_created_answer_names_the_url_in_json(client: httpx.AsyncClient) -> None:
    """The 201 body is a JSON object whose url is the Location."""
    response = await upload(client, jpeg(), secret=await token())
    assert {"url": response.headers["location"]} == response.json()


@pytest.mark.parametrize(
    ("make", "content_type"),
    [(png, "image/png"), (webp, "image/webp"), (animated_gif, "image/gif")],
)
async def test_other_image_types_are_served_with_their_type(
    client: httpx.AsyncClient, make: object, content_type: str
) -> None:
    """PNG, WebP and GIF uploads are served with their exact Content-Type."""
    assert callable(make)
    response = await upload(client, make(), secret=await token())
    assert 201 == response.status_code
    served = await client.get(response.headers["location"])
    assert content_type == served.headers["content-type"]


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
async def test_avif_is_served_as_avif(client: httpx.AsyncClient) -> None:
    """An AVIF upload is accepted and served as image/avif."""
    data = encode(noise((16, 16)), "AVIF", quality=90)
    response = await upload(client, data, secret=await token())
    served = await client.get(response.headers["location"])
    assert "image/avif" == served.headers["content-type"]


async def test_big_animated_gif_is_kept_byte_for_byte(client: httpx.AsyncClient) -> None:
    """A 2.3 MB animated GIF is stored as sent: still animated, every frame there."""
    data = big_animated_gif()
    assert len(data) >= 2_300_000
    response = await upload(client, data, secret=await token(), content_type="image/gif")
    assert 201 == response.status_code
    served = await client.get(response.headers["location"])
    assert data == served.content
    assert opened(served.content).is_animated
    assert opened(data).n_frames == opened(served.content).n_frames


async def test_type_comes_from_the_bytes_not_the_client(client: httpx.AsyncClient) -> None:
    """A PNG sent as x.jpg with Content-Type image/jpeg is served as image/png."""
    response = await upload(
        client, png(), secret=await token(), filename="x.jpg", content_type="image/jpeg"
    )
    served = await client.get(response.headers["location"])
    assert "image/png" == served.headers["content-type"]


async def test_text_claiming_to_be_jpeg_is_refused(client: httpx.AsyncClient) -> None:
    """Plain text sent as image/jpeg is 400 invalid_request, and nothing is stored."""
    response = await upload(
        client, b"hello, world\n" * 50, secret=await token(), content_type="image/jpeg"
    )
    assert 400 == response.status_code
    assert "invalid_request" == response.json()["error"]
    assert "unsupported media type" in response.json()["error_description"]
    assert 0 == await Media.all().count()


async def test_svg_is_refused(client: httpx.AsyncClient) -> None:
    """SVG (which can carry script) is refused with 400, naming SVG."""
    svg = (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>'
    )
    response = await upload(client, svg, secret=await token(), content_type="image/svg+xml")
    assert 400 == response.status_code
    assert "SVG" in response.json()["error_description"]


@pytest.mark.parametrize(
    "data",
    [
        b"<!doctype html><html><body>hi</body></html>",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        b"%PDF-1.7\n",
        b"\xff\xd8\xff\xe0 this is no JPEG at all",
    ],
    ids=["html", "broken-heic", "pdf", "fake-jpeg-magic"],
)
async def test_unsupported_or_broken_files_are_refused(
    client: httpx.AsyncClient, data: bytes
) -> None:
    """HTML, a HEIC header without a picture, PDF and a file with only JPEG magic bytes are
    each 400 invalid_request."""
    response = await upload(client, data, secret=await token(), content_type="image/jpeg")
    assert 400 == response.status_code
    assert "invalid_request" == response.json()["error"]


async def test_empty_file_is_refused(client: httpx.AsyncClient) -> None:
    """A file part with no bytes is 400."""
    response = await upload(client, b"", secret=await token())
    assert 400 == response.status_code
    assert "empty" in response.json()["error_description"]


async def test_oversized_upload_is_413(settings: Settings) -> None:
    """A file over media_max_bytes is 413 with a JSON error, and nothing is stored."""
    async with app_client(replace(settings, media_max_bytes=1000)) as client:
        response = await upload(client, noise((64, 64)).tobytes() + b"x", secret=await token())
        assert 413 == response.status_code
        assert "invalid_request" == response.json()["error"]
        assert 0 == await Media.all().count()


async def test_oversized_body_without_length_is_413(settings: Settings) -> None:
    """A streamed (chunked) body is cut off at the limit although it declares no length."""
    boundary = "b0undary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'

    async def body() -> object:
        yield head.encode()
        for _ in range(200):
            yield b"\0" * 1024

    async with app_client(replace(settings, media_max_bytes=1000)) as client:
        response = await client.post(
            ENDPOINT,
            content=body(),  # type: ignore[arg-type]
            headers={
                **bearer(await token()),
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        assert "content-length" not in response.request.headers
        assert 413 == response.status_code


async def test_declared_oversized_body_is_refused_unread(settings: Settings) -> None:
    """A Content-Length over the limit is 413 before any of the body is read."""
    sent: list[bytes] = []

    async def body() -> object:
        for _ in range(100):
            sent.append(b"\0" * 1024)
            yield sent[-1]

    async with app_client(replace(settings, media_max_bytes=1000)) as client:
        response = await client.post(
            ENDPOINT,
            content=body(),  # type: ignore[arg-type]
            headers={
                **bearer(await token()),
                "Content-Type": "multipart/form-data; boundary=x",
                "Content-Length": str(100 * 1024),
            },
        )
    assert 413 == response.status_code
    assert [] == sent


async def test_file_exactly_at_the_limit_is_accepted(settings: Settings) -> None:
    """A file of exactly media_max_bytes is not too large."""
    data = jpeg()
    async with app_client(replace(settings, media_max_bytes=len(data))) as client:
        response = await upload(client, data, secret=await token())
        assert 201 == response.status_code


async def test_missing_file_part_is_400(client: httpx.AsyncClient) -> None:
    """Multipart without any file part is 400 invalid_request."""
    response = await client.post(
        ENDPOINT, headers=bearer(await token()), files={"note": (None, "no file here")}
    )
    assert 400 == response.status_code
    assert "invalid_request" == response.json()["error"]


async def test_file_in_another_part_name_is_400(client: httpx.AsyncClient) -> None:
    """A file sent as `photo` instead of `file` is 400, naming the part."""
    files = {"photo": ("a.jpg", jpeg(), "image/jpeg")}
    response = await client.post(ENDPOINT, headers=bearer(await token()), files=files)
    assert 400 == response.status_code
    assert "'photo'" in response.json()["error_description"]


async def test_two_file_parts_are_400(client: httpx.AsyncClient) -> None:
    """More than one file part is 400, and neither file is stored."""
    files = [("file", ("a.jpg", jpeg(), "image/jpeg")), ("file", ("b.png", png(), "image/png"))]
    response = await client.post(ENDPOINT, headers=bearer(await token()), files=files)
    assert 400 == response.status_code
    assert "invalid_request" == response.json()["error"]
    assert 0 == await Media.all().count()


async def test_file_part_without_filename_is_400(client: httpx.AsyncClient) -> None:
    """A `file` part that is a plain field (no filename) is 400."""
    response = await client.post(
        ENDPOINT, headers=bearer(await token()), files={"file": (None, "not a file")}
    )
    assert 400 == response.status_code


async def test_non_multipart_body_is_400(client: httpx.AsyncClient) -> None:
    """A JSON body is 400 asking for multipart/form-data."""
    response = await client.post(ENDPOINT, headers=bearer(await token()), json={"file": "x"})
    assert 400 == response.status_code
    assert "multipart/form-data" in response.json()["error_description"]


async def test_malformed_multipart_is_json_400(client: httpx.AsyncClient) -> None:
    """A multipart Content-Type without a boundary is a JSON 400, not a crash."""
    headers = {**bearer(await token()), "Content-Type": "multipart/form-data"}
    response = await client.post(ENDPOINT, headers=headers, content=b"garbage")
    assert 400 == response.status_code
    assert "invalid_request" == response.json()["error"]


async def test_options_lists_the_methods(client: httpx.AsyncClient) -> None:
    """OPTIONS answers 204 with an Allow header."""
    response = await client.options(ENDPOINT)
    assert 204 == response.status_code
    assert "POST" in response.headers["allow"]


async def test_other_methods_are_json_405(client: httpx.AsyncClient) -> None:
    """PUT is 405 with Allow and a JSON error body."""
    response = await client.put(ENDPOINT, content=b"x")
    assert 405 == response.status_code
    assert "GET" in response.headers["allow"]
    assert "invalid_request" == response.json()["error"]


async def test_trailing_slash_is_answered_not_redirected(client: httpx.AsyncClient) -> None:
    """The endpoint URL with a trailing slash is answered in place, never redirected."""
    response = await upload(client, jpeg(), secret=await token(), url=ENDPOINT + "/")
    assert 201 == response.status_code
