"""Media endpoint queries: q=source lists recent uploads, q=last names the newest.

Extensions: https://github.com/indieweb/micropub-extensions/issues/14 (q=source on the media
endpoint) and https://indieweb.org/Micropub-extensions (q=last).
"""

from __future__ import annotations

import httpx

from tests.micropub.media_helpers import ENDPOINT, bearer, token, upload
from tests.server.core.media.media_data.factory import jpeg, png, webp


async def upload_three(client: httpx.AsyncClient, secret: str) -> list[str]:
    """Upload a JPEG, a PNG and a WebP in that order; returns their Locations."""
    locations = []
    for data in (jpeg(), png(), webp()):
        response = await upload(client, data, secret=secret)
        locations.append(response.headers["location"])
    return locations


async def test_source_lists_uploads_newest_first(client: httpx.AsyncClient) -> None:
    """q=source gives every upload's url, published and content_type, newest first."""
    secret = await token()
    locations = await upload_three(client, secret)
    response = await client.get(ENDPOINT, params={"q": "source"}, headers=bearer(secret))
    assert 200 == response.status_code
    assert response.headers["content-type"].startswith("application/json")
    items = response.json()["items"]
    assert locations[::-1] == [item["url"] for item in items]
    assert ["image/webp", "image/png", "image/jpeg"] == [item["content_type"] for item in items]
    assert all(item["published"] for item in items)


async def test_source_honours_limit(client: httpx.AsyncClient) -> None:
    """q=source&limit=2 gives only the two newest uploads."""
    secret = await token()
    locations = await upload_three(client, secret)
    response = await client.get(
        ENDPOINT, params={"q": "source", "limit": "2"}, headers=bearer(secret)
    )
    assert locations[:0:-1] == [item["url"] for item in response.json()["items"]]


async def test_bad_limit_is_400(client: httpx.AsyncClient) -> None:
    """A limit that is not a number from 1 to 100 is 400 invalid_request."""
    secret = await token()
    for limit in ("0", "-1", "abc", "101"):
        response = await client.get(
            ENDPOINT, params={"q": "source", "limit": limit}, headers=bearer(secret)
        )
        assert 400 == response.status_code, limit
        assert "invalid_request" == response.json()["error"]


async def test_source_is_empty_before_any_upload(client: httpx.AsyncClient) -> None:
    """With nothing uploaded, q=source is an empty list."""
    response = await client.get(ENDPOINT, params={"q": "source"}, headers=bearer(await token()))
    assert {"items": []} == response.json()


async def test_last_names_the_newest_upload(client: httpx.AsyncClient) -> None:
    """q=last gives the url of the most recent upload."""
    secret = await token()
    locations = await upload_three(client, secret)
    response = await client.get(ENDPOINT, params={"q": "last"}, headers=bearer(secret))
    assert {"url": locations[-1]} == response.json()


async def test_last_is_empty_object_before_any_upload(client: httpx.AsyncClient) -> None:
    """q=last with nothing uploaded is an empty JSON object."""
    response = await client.get(ENDPOINT, params={"q": "last"}, headers=bearer(await token()))
    assert 200 == response.status_code
    assert {} == response.json()


async def test_unknown_query_is_400(client: httpx.AsyncClient) -> None:
    """q=config (the Micropub endpoint's query) or no q at all is 400 here."""
    secret = await token()
    for params in ({"q": "config"}, {}):
        response = await client.get(ENDPOINT, params=params, headers=bearer(secret))
        assert 400 == response.status_code
        assert "invalid_request" == response.json()["error"]


async def test_query_needs_media_or_create_scope(client: httpx.AsyncClient) -> None:
    """A token with only `update` is 401 insufficient_scope for q=source."""
    response = await client.get(
        ENDPOINT, params={"q": "source"}, headers=bearer(await token("update"))
    )
    assert 401 == response.status_code
    assert "insufficient_scope" == response.json()["error"]


async def test_head_answers_like_get_without_body(client: httpx.AsyncClient) -> None:
    """HEAD ?q=source is 200 with the JSON type and no body."""
    response = await client.head(ENDPOINT, params={"q": "source"}, headers=bearer(await token()))
    assert 200 == response.status_code
    assert response.headers["content-type"].startswith("application/json")
    assert b"" == response.content
