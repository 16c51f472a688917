"""CORS on the Micropub and media endpoints: a client running in a browser can read answers.

Fetch standard: https://fetch.spec.whatwg.org/#http-cors-protocol
"""

from __future__ import annotations

import httpx
import pytest

from tests.micropub.endpoint_helpers import ENDPOINT, bearer, post_json
from tests.micropub.media_helpers import ENDPOINT as MEDIA_ENDPOINT
from tests.micropub.media_helpers import token
from tests.server.core.media.media_data.factory import jpeg

ORIGIN = {"Origin": "https://editor.example"}


@pytest.mark.parametrize("url", [ENDPOINT, MEDIA_ENDPOINT])
async def test_preflight_allows_a_bearer_post(client: httpx.AsyncClient, url: str) -> None:
    """The browser's preflight for a POST with Authorization is allowed, from any origin."""
    headers = {
        **ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    response = await client.options(url, headers=headers)
    assert 204 == response.status_code
    assert "*" == response.headers["access-control-allow-origin"]
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type"} <= {h.strip() for h in allowed.split(",")}


async def test_created_post_location_is_readable(client: httpx.AsyncClient) -> None:
    """A create from a browser exposes Location, so the editor can open the new post."""
    doc = {"type": ["h-entry"], "properties": {"content": ["From a browser"]}}
    response = await post_json(client, doc, {**ORIGIN, **await bearer()})
    assert 201 == response.status_code
    assert "*" == response.headers["access-control-allow-origin"]
    assert "location" in response.headers["access-control-expose-headers"].lower()


async def test_errors_are_readable_too(client: httpx.AsyncClient) -> None:
    """A refused request still carries the CORS headers: the client can show the reason."""
    response = await client.get(ENDPOINT, params={"q": "config"}, headers=ORIGIN)
    assert 401 == response.status_code
    assert "*" == response.headers["access-control-allow-origin"]
    assert "unauthorized" == response.json()["error"]


async def test_media_upload_location_is_readable(client: httpx.AsyncClient) -> None:
    """An upload from a browser exposes the file's Location."""
    headers = {**ORIGIN, "Authorization": f"Bearer {await token()}"}
    files = {"file": ("a.jpg", jpeg(), "image/jpeg")}
    response = await client.post(MEDIA_ENDPOINT, files=files, headers=headers)
    assert 201 == response.status_code
    assert "*" == response.headers["access-control-allow-origin"]
    assert "location" in response.headers["access-control-expose-headers"].lower()


async def test_plain_options_still_lists_methods(client: httpx.AsyncClient) -> None:
    """An OPTIONS that is not a preflight is answered by the endpoint with Allow."""
    response = await client.options(ENDPOINT)
    assert 204 == response.status_code
    assert "POST" in response.headers["allow"]
