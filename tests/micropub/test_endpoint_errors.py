"""Micropub errors: every refusal is a JSON error with the spec's status (Micropub §3.8).

And a refused request changes nothing: no post, no media row, no file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from hearth.app import create_app
from hearth.server.core.models import Media, Post
from hearth.server.core.settings import Settings
from tests.conftest import BASE_URL
from tests.micropub.endpoint_helpers import (
    ENDPOINT,
    bearer,
    create,
    error_of,
    image_bytes,
    post_form,
    post_json,
)

# Small enough to exceed in a test, large enough for a real image.
SMALL_UPLOAD_LIMIT = 4000


@pytest.fixture(name="small_client")
async def small_client_fixture(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A site that accepts uploads of at most SMALL_UPLOAD_LIMIT bytes."""
    app = create_app(dataclasses.replace(settings, media_max_bytes=SMALL_UPLOAD_LIMIT))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def _nothing_stored(settings: Settings) -> bool:
    files = list(settings.media_dir.iterdir()) if settings.media_dir.exists() else []
    return 0 == await Post.all().count() == await Media.all().count() == len(files)


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    """A JSON body that does not parse is 400 invalid_request, as JSON."""
    response = await client.post(
        ENDPOINT,
        content=b'{"type": ["h-entry"',
        headers={**await bearer(), "Content-Type": "application/json"},
    )
    assert 400 == response.status_code
    assert "invalid_request" == error_of(response)
    assert response.json()["error_description"]


async def test_missing_content_type_is_400(client: httpx.AsyncClient) -> None:
    """A POST without Content-Type is 400 invalid_request."""
    response = await client.post(ENDPOINT, content=b"h=entry&content=x", headers=await bearer())
    assert 400 == response.status_code
    assert "invalid_request" == error_of(response)


async def test_wrong_content_type_is_400(client: httpx.AsyncClient) -> None:
    """A POST with a type Micropub does not use is 400 invalid_request."""
    headers = {**await bearer(), "Content-Type": "text/plain"}
    response = await client.post(ENDPOINT, content=b"content=x", headers=headers)
    assert "invalid_request" == error_of(response)


async def test_content_type_parameters_are_fine(client: httpx.AsyncClient) -> None:
    """`application/json; charset=utf-8` is JSON (the spec's own examples send it)."""
    headers = {**await bearer(), "Content-Type": "Application/JSON; charset=utf-8"}
    body = b'{"type": ["h-entry"], "properties": {"content": ["x"]}}'
    assert 201 == (await client.post(ENDPOINT, content=body, headers=headers)).status_code


async def test_unknown_action_is_400(client: httpx.AsyncClient) -> None:
    """An action other than update, delete and undelete is 400."""
    response = await post_json(client, {"action": "publish", "url": BASE_URL}, await bearer())
    assert "invalid_request" == error_of(response)


async def test_unsupported_type_is_400(client: httpx.AsyncClient) -> None:
    """A post type Hearth cannot create (h-card) is 400, nothing stored."""
    response = await post_form(client, "h=card&name=Someone", await bearer())
    assert "invalid_request" == error_of(response)
    assert 0 == await Post.all().count()


async def test_non_array_value_is_400(client: httpx.AsyncClient) -> None:
    """A JSON property value that is not an array is 400 (§3.3.2)."""
    doc = {"type": ["h-entry"], "properties": {"content": "not an array"}}
    assert "invalid_request" == error_of(await post_json(client, doc, await bearer()))


async def test_bad_published_is_400(client: httpx.AsyncClient) -> None:
    """A published value that is not a date-time is 400, nothing stored."""
    response = await post_form(client, "content=x&published=last+tuesday", await bearer())
    assert "invalid_request" == error_of(response)
    assert 0 == await Post.all().count()


async def test_foreign_url_is_400(client: httpx.AsyncClient) -> None:
    """Acting on another site's URL is 400 with a description naming this site."""
    response = await post_form(
        client, "action=delete&url=https://other.example/2020/01/post", await bearer()
    )
    assert "invalid_request" == error_of(response)
    assert BASE_URL in response.json()["error_description"]


async def test_relative_url_is_400(client: httpx.AsyncClient) -> None:
    """A relative url is 400: posts are named by their absolute URL."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    path = url.removeprefix(BASE_URL)
    response = await post_form(client, f"action=delete&url=/{path}", headers)
    assert "invalid_request" == error_of(response)


async def test_oversize_json_is_413(client: httpx.AsyncClient) -> None:
    """A JSON body over 1 MiB is 413 with a JSON error, nothing stored."""
    doc = {"type": ["h-entry"], "properties": {"content": ["x" * (1024 * 1024)]}}
    response = await post_json(client, doc, await bearer())
    assert 413 == response.status_code
    assert "invalid_request" == error_of(response)
    assert 0 == await Post.all().count()


async def test_oversize_streamed_body_is_413(client: httpx.AsyncClient) -> None:
    """A body without Content-Length is cut off at the limit too."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b"content="
        for _ in range(20):
            yield b"x" * 65536

    headers = {**await bearer(), "Content-Type": "application/x-www-form-urlencoded"}
    response = await client.post(ENDPOINT, content=chunks(), headers=headers)
    assert 413 == response.status_code
    assert "invalid_request" == error_of(response)


async def test_oversize_text_part_is_413(client: httpx.AsyncClient) -> None:
    """A multipart text part over 1 MiB is 413."""
    files = {"photo": ("a.jpg", image_bytes(), "image/jpeg")}
    data = {"content": "x" * (1024 * 1024 + 1)}
    response = await client.post(ENDPOINT, data=data, files=files, headers=await bearer())
    assert 413 == response.status_code
    assert "invalid_request" == error_of(response)


async def test_too_many_files_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    """More than 20 files in one request is 413, nothing stored."""
    files = [("photo[]", (f"{n}.jpg", image_bytes(), "image/jpeg")) for n in range(21)]
    response = await client.post(
        ENDPOINT, data={"content": "x"}, files=files, headers=await bearer()
    )
    assert 413 == response.status_code
    assert await _nothing_stored(settings)


async def test_oversize_upload_is_413(small_client: httpx.AsyncClient, settings: Settings) -> None:
    """A file over the media size limit is 413, and the smaller file before it is removed."""
    files = [
        ("photo[]", ("small.jpg", image_bytes(), "image/jpeg")),
        ("photo[]", ("big.png", image_bytes("PNG", (400, 400)) + b"\0" * 5000, "image/png")),
    ]
    response = await small_client.post(
        ENDPOINT, data={"content": "x"}, files=files, headers=await bearer()
    )
    assert 413 == response.status_code
    assert "invalid_request" == error_of(response)
    assert await _nothing_stored(settings)


async def test_multipart_without_boundary_is_400(client: httpx.AsyncClient) -> None:
    """A multipart Content-Type without a boundary is 400."""
    headers = {**await bearer(), "Content-Type": "multipart/form-data"}
    response = await client.post(ENDPOINT, content=b"whatever", headers=headers)
    assert 400 == response.status_code
    assert "invalid_request" == error_of(response)


async def test_file_in_unknown_part_is_400(client: httpx.AsyncClient, settings: Settings) -> None:
    """A file in a part that takes no file is 400, and nothing is stored."""
    files = {"document": ("a.jpg", image_bytes(), "image/jpeg")}
    response = await client.post(
        ENDPOINT, data={"content": "x"}, files=files, headers=await bearer()
    )
    assert "invalid_request" == error_of(response)
    assert await _nothing_stored(settings)


async def test_file_that_is_no_media_is_400(client: httpx.AsyncClient, settings: Settings) -> None:
    """An uploaded file that is not an image, video or audio is 400, nothing stored."""
    files = {"photo": ("notes.txt", b"just some text", "text/plain")}
    response = await client.post(
        ENDPOINT, data={"content": "x"}, files=files, headers=await bearer()
    )
    assert "invalid_request" == error_of(response)
    assert await _nothing_stored(settings)


async def test_file_of_the_wrong_kind_is_400(client: httpx.AsyncClient, settings: Settings) -> None:
    """A picture sent as `video` is 400, and nothing is stored (checked by its bytes)."""
    files = {"video": ("clip.mp4", image_bytes(), "video/mp4")}
    response = await client.post(
        ENDPOINT, data={"content": "x"}, files=files, headers=await bearer()
    )
    assert "invalid_request" == error_of(response)
    assert await _nothing_stored(settings)


async def test_non_utf8_form_is_400(client: httpx.AsyncClient) -> None:
    """A form body that is not UTF-8 is 400."""
    assert 400 == (await post_form(client, b"content=caf\xe9", await bearer())).status_code


async def test_options_answers_allow(client: httpx.AsyncClient) -> None:
    """OPTIONS answers 204 with the methods, no token needed."""
    response = await client.options(ENDPOINT)
    assert 204 == response.status_code
    assert {"GET", "HEAD", "OPTIONS", "POST"} == set(response.headers["allow"].split(", "))


async def test_other_methods_are_405_json(client: httpx.AsyncClient) -> None:
    """PUT is 405 with Allow and a JSON error, not Starlette's plain text."""
    response = await client.put(ENDPOINT, content=b"{}", headers=await bearer())
    assert 405 == response.status_code
    assert "POST" in response.headers["allow"]
    assert "invalid_request" == error_of(response)


async def test_trailing_slash_is_not_redirected(client: httpx.AsyncClient) -> None:
    """`/micropub/` is answered, never redirected (micropub.rocks follows no redirects)."""
    response = await client.post(
        ENDPOINT + "/",
        content=b"h=entry&content=x",
        headers={**await bearer(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 201 == response.status_code


BAD_JSON_BODIES = [
    b"[]",
    b'"entry"',
    b"null",
    b"{}",
    b'{"type": "h-entry", "properties": {"content": ["x"]}}',
    b'{"type": ["h-entry"], "properties": []}',
    b'{"type": ["h-entry", "h-cite"], "properties": {"content": ["x"]}}',
    b'{"action": 5}',
    b'{"action": "delete", "url": 5}',
    b'{"action": "update", "url": "https://example.test/2020/01/x", "add": {"a": ["b"]}}',
    b'{"type": ["h-entry"], "properties": {"published": [5]}}',
    b'{"type": ["h-entry"], "properties": {"published": ["1960-01-01T00:00:00Z"]}}',
    b'{"type": ["h-entry"], "properties": {"published": ["0001-01-01T00:00:00+14:00"]}}',
    b'{"type": ["h-entry"], "properties": {"checkin": [{"type": "h-card"}]}}',
    b'{"type": ["h-entry"], "properties": {"mp-slug": [1]}}',
    b'{"type": ["h-entry"], "properties": {"post-status": ["maybe"]}}',
    b'{"type": ["h-entry"], "properties": {}}',
    b"[" * 5000 + b"]" * 5000,
    b"\xff\xfe{}",
]


@pytest.mark.parametrize("body", BAD_JSON_BODIES, ids=range(len(BAD_JSON_BODIES)))
async def test_bad_json_is_a_json_400(client: httpx.AsyncClient, body: bytes) -> None:
    """Each malformed or wrong-shaped JSON request is a 400 JSON error, never a 500."""
    headers = {**await bearer(), "Content-Type": "application/json"}
    response = await client.post(ENDPOINT, content=body, headers=headers)
    assert 400 == response.status_code
    assert "invalid_request" == error_of(response)
    assert 0 == await Post.all().count()


BAD_FORM_BODIES = [
    "h=card&content=x",
    "h=entry&h=event&content=x",
    "content[0]=x",
    "location[latitude]=1",
    "photo[alt]=no+photo",
    "action=frobnicate&url=x",
    "action=delete&url=not+a+url",
    "action=undelete&url=https://example.test/s/",
    "content=x&mp-slug=a&mp-slug=b",
    "content=x&visibility=secret",
    "h=entry",
    "&&&=",
]


@pytest.mark.parametrize("body", BAD_FORM_BODIES)
async def test_bad_form_is_a_json_400(client: httpx.AsyncClient, body: str) -> None:
    """Each malformed form request is a 400 JSON error, never a 500."""
    response = await post_form(client, body, await bearer())
    assert 400 == response.status_code
    assert "invalid_request" == error_of(response)
    assert 0 == await Post.all().count()


ODD_BUT_VALID = [
    {"content": [None]},
    {"content": [{"properties": "x"}]},
    {"content": [{"html": 5}]},
    {"content": [["nested", "list"]]},
    {"name": [{"value": 3}], "content": [True]},
    {"photo": [{"alt": "no value"}], "content": ["x"]},
    {"in-reply-to": [{"type": ["h-cite"], "properties": {}}]},
    {"category": [{"type": ["h-card"], "properties": {"name": ["Bob"]}}, 7]},
    {"content": ["x"], "published": ["2017-05-31T12:03:36-0700"]},
    {"content": ["\u202eright to left\u202c and \u0000 nul"]},
]


@pytest.mark.parametrize("properties", ODD_BUT_VALID, ids=range(len(ODD_BUT_VALID)))
async def test_odd_values_never_500(
    client: httpx.AsyncClient, properties: dict[str, list[object]]
) -> None:
    """Odd but well-formed values are stored, and the post and its source still answer."""
    headers = await bearer()
    doc = {"type": ["h-entry"], "properties": properties}
    response = await post_json(client, doc, headers)
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert "invalid_request" == error_of(response)
        return
    location = response.headers["location"]
    assert 200 == (await client.get(location)).status_code
    source = await client.get(ENDPOINT, params={"q": "source", "url": location}, headers=headers)
    assert 200 == source.status_code
    assert 200 == (await client.get("/")).status_code
    assert 200 == (await client.get("/feed.json")).status_code
