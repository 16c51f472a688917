"""Request body limits (issue 13, hole 3): bodies over their route family's limit are refused
with 413 before a view reads them; Micropub, media and editor uploads keep their own limits."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from starlette.applications import Starlette

from hearth.server.core.body_limit import (
    DEFAULT_MAX_BYTES,
    OWN_CHECK_MARGIN,
    BodyLimit,
    BodyLimitMiddleware,
)
from hearth.server.core.models import Media, Post
from hearth.server.core.settings import Settings
from tests.micropub.endpoint_helpers import bearer, post_json
from tests.micropub.media_helpers import token, upload
from tests.server.core.media.media_data.factory import encode, noise

FORTY_MB = 40 * 1024 * 1024
CHUNK = 64 * 1024


async def _post_raw(
    app: Starlette, path: str, total: int, *, declare_length: bool, content_type: str
) -> tuple[int, int]:
    """POST `total` bytes to `path` straight over ASGI: (status, body bytes the app took)."""
    headers = [(b"host", b"example.test"), (b"content-type", content_type.encode())]
    if declare_length:
        headers.append((b"content-length", str(total).encode()))
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 40000), "server": ("example.test", 443),
        "root_path": "", "state": {},
    }  # fmt: skip
    taken = 0
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        size = min(CHUNK, total - taken)
        taken += size
        return {"type": "http.request", "body": b"a" * size, "more_body": taken < total}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    return start["status"], taken


async def test_forty_megabytes_to_the_sign_in_form_are_refused_unread(app: Starlette) -> None:
    """The attack: a 40 MB body to /admin/login. 413, and not one byte of it is read."""
    status, taken = await _post_raw(
        app, "/admin/login", FORTY_MB, declare_length=True,
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert status == 413
    assert taken == 0


async def test_a_chunked_body_is_counted_and_cut_off(app: Starlette) -> None:
    """Without a Content-Length, reading stops soon after the limit: 413 (a multipart body
    of nothing but "a" may be refused as malformed first: 400, read no further either)."""
    for content_type, statuses in (
        ("application/x-www-form-urlencoded", {413}),
        ("multipart/form-data; boundary=x", {400, 413}),
    ):
        status, taken = await _post_raw(
            app, "/admin/login", FORTY_MB, declare_length=False, content_type=content_type
        )
        assert status in statuses
        assert taken <= DEFAULT_MAX_BYTES + CHUNK


async def test_every_other_form_has_the_small_limit(app: Starlette) -> None:
    for path in ("/webmention", "/signin", "/admin/hcard", "/token", "/"):
        status, taken = await _post_raw(
            app, path, DEFAULT_MAX_BYTES + 1, declare_length=True,
            content_type="application/x-www-form-urlencoded",
        )  # fmt: skip
        assert (status, taken) == (413, 0), path


async def test_a_multipart_upload_to_micropub_over_its_limit_is_refused_unread(
    app: Starlette, settings: Settings
) -> None:
    limit = settings.media_max_bytes + OWN_CHECK_MARGIN
    for path in ("/micropub", "/micropub/media", "/admin/posts/new"):
        status, taken = await _post_raw(
            app, path, limit + 2 * 1024 * 1024, declare_length=True,
            content_type="multipart/form-data; boundary=x",
        )  # fmt: skip
        assert (status, taken) == (413, 0), path


async def test_a_large_micropub_json_post_is_still_created(client: httpx.AsyncClient) -> None:
    """Micropub keeps its own 1 MiB limit for JSON: a 300 KB post goes through."""
    content = "word " * 60_000
    doc = {"type": ["h-entry"], "properties": {"content": [content]}}
    response = await post_json(client, doc, await bearer())
    assert response.status_code == 201, response.text
    assert (await Post.all().first()) is not None


async def test_micropub_still_answers_its_own_json_413(client: httpx.AsyncClient) -> None:
    """Over Micropub's own limit, the endpoint (not the backstop) answers, in JSON."""
    body = orjson.dumps({"type": ["h-entry"], "properties": {"content": ["x" * 1_100_000]}})
    response = await client.post(
        "/micropub", content=body,
        headers={"Content-Type": "application/json", **(await bearer())},
    )  # fmt: skip
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


async def test_a_large_media_upload_within_its_limit_is_stored(client: httpx.AsyncClient) -> None:
    """An image of more than a form's limit (PNG noise does not compress) is stored: 201."""
    image = encode(noise((400, 400)), "PNG")
    assert len(image) > 4 * DEFAULT_MAX_BYTES
    response = await upload(client, image, secret=await token(), filename="big.png")
    assert response.status_code == 201, response.text
    assert await Media.all().count() == 1


def test_the_longest_matching_prefix_wins() -> None:
    middleware = BodyLimitMiddleware(
        app=None,  # type: ignore[arg-type]
        limits=[BodyLimit("/micropub", 100, 1000), BodyLimit("/micropub/media", 10, 5000)],
        default=7,
    )
    form = "application/x-www-form-urlencoded"
    assert middleware.limit_for("/micropub", form) == 100
    assert middleware.limit_for("/micropub/", "multipart/form-data; boundary=a") == 1000
    assert middleware.limit_for("/micropub/media", "multipart/form-data") == 5000
    assert middleware.limit_for("/micropub/media/", form) == 10
    assert middleware.limit_for("/micropubx", form) == 7
    assert middleware.limit_for("/admin/login", form) == 7
