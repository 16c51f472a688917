"""Media endpoint authorization: the Micropub endpoint's tokens, in the header or the body.

Spec: https://www.w3.org/TR/micropub/#media-endpoint ("MUST accept the same access tokens")
and https://www.w3.org/TR/micropub/#error-response (401 unauthorized / insufficient_scope).
"""

from __future__ import annotations

import httpx

from hearth.server.core.models import Media
from hearth.server.core.settings import Settings
from tests.micropub.media_helpers import ENDPOINT, bearer, token, upload
from tests.server.core.media.media_data.factory import jpeg


async def test_no_token_is_401_unauthorized(client: httpx.AsyncClient) -> None:
    """An upload without any token is 401 unauthorized with a Bearer challenge."""
    response = await upload(client, jpeg())
    assert 401 == response.status_code
    assert "unauthorized" == response.json()["error"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_token_is_401_unauthorized(client: httpx.AsyncClient) -> None:
    """A token Hearth never issued is 401 unauthorized."""
    response = await upload(client, jpeg(), secret="not-a-real-token")
    assert 401 == response.status_code
    assert "unauthorized" == response.json()["error"]


async def test_non_bearer_authorization_is_401(client: httpx.AsyncClient) -> None:
    """An Authorization header of another scheme is 401 unauthorized."""
    files = {"file": ("a.jpg", jpeg(), "image/jpeg")}
    response = await client.post(ENDPOINT, files=files, headers={"Authorization": "Basic eDp5"})
    assert 401 == response.status_code


async def test_token_without_media_scope_is_401_insufficient_scope(
    client: httpx.AsyncClient,
) -> None:
    """A valid token with only `update` is 401 insufficient_scope naming `media`."""
    response = await upload(client, jpeg(), secret=await token("update delete"))
    assert 401 == response.status_code
    body = response.json()
    assert "insufficient_scope" == body["error"]
    assert "media" == body["scope"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_create_scope_may_upload(client: httpx.AsyncClient) -> None:
    """A token with `create` (but not `media`) may upload: clients upload before creating."""
    response = await upload(client, jpeg(), secret=await token("create"))
    assert 201 == response.status_code


async def test_token_in_form_field_is_accepted(client: httpx.AsyncClient) -> None:
    """`access_token` as a multipart field works like the header."""
    response = await client.post(
        ENDPOINT,
        data={"access_token": await token()},
        files={"file": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert 201 == response.status_code


async def test_token_in_header_and_body_is_400(client: httpx.AsyncClient) -> None:
    """A token in both the header and the body is 400 invalid_request; nothing is stored."""
    secret = await token()
    response = await client.post(
        ENDPOINT,
        headers=bearer(secret),
        data={"access_token": secret},
        files={"file": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert 400 == response.status_code
    assert "invalid_request" == response.json()["error"]
    assert 0 == await Media.all().count()


async def test_rejected_upload_stores_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A 401 leaves no database row and no file behind."""
    await upload(client, jpeg(), secret="wrong")
    assert 0 == await Media.all().count()
    assert not settings.media_dir.exists() or not any(settings.media_dir.iterdir())


async def test_query_without_token_is_401(client: httpx.AsyncClient) -> None:
    """GET ?q=source needs a token too."""
    response = await client.get(ENDPOINT, params={"q": "source"})
    assert 401 == response.status_code
    assert "unauthorized" == response.json()["error"]
