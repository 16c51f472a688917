"""Micropub authentication: header or body token, never both, scopes (Micropub §5, §3.8)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from hearth.server.core.models import Post, Token
from hearth.server.core.tokens import mint_token, revoke_token
from tests.conftest import BASE_URL
from tests.micropub.endpoint_helpers import (
    ENDPOINT,
    bearer,
    error_of,
    image_bytes,
    post_form,
    post_json,
    stored,
)

NOTE = "h=entry&content=Authenticated+note"


async def test_header_token_creates(client: httpx.AsyncClient) -> None:
    """A Bearer token in the Authorization header is accepted (§5.1)."""
    response = await post_form(client, NOTE, await bearer())
    assert 201 == response.status_code


async def test_form_body_token_creates(client: httpx.AsyncClient) -> None:
    """An access_token field in a form body is accepted (§5.1)."""
    secret, _ = await mint_token(me=BASE_URL, scope="create")
    response = await post_form(client, f"{NOTE}&access_token={secret}")
    assert 201 == response.status_code


async def test_multipart_body_token_creates(client: httpx.AsyncClient) -> None:
    """An access_token part in a multipart body is accepted."""
    secret, _ = await mint_token(me=BASE_URL, scope="create")
    response = await client.post(
        ENDPOINT,
        data={"h": "entry", "content": "multipart", "access_token": secret},
        files={"photo": ("a.jpg", image_bytes(), "image/jpeg")},
    )
    assert 201 == response.status_code, response.text


async def test_body_token_is_not_stored(client: httpx.AsyncClient) -> None:
    """The access_token field never becomes a property (§3.2)."""
    secret, _ = await mint_token(me=BASE_URL, scope="create")
    response = await post_form(client, f"{NOTE}&access_token={secret}")
    properties = await stored(client, await bearer(), response.headers["location"])
    assert "access_token" not in properties
    assert secret not in str((await Post.get()).properties)


async def test_header_and_body_token_is_400(client: httpx.AsyncClient) -> None:
    """A token in both places is 400 invalid_request, and nothing is created."""
    headers = await bearer()
    secret = headers["Authorization"].removeprefix("Bearer ")
    response = await post_form(client, f"{NOTE}&access_token={secret}", headers)
    assert 400 == response.status_code
    assert "invalid_request" == error_of(response)
    assert 0 == await Post.all().count()


async def test_two_body_tokens_is_400(client: httpx.AsyncClient) -> None:
    """Two access_token fields are 400 invalid_request."""
    one, _ = await mint_token(me=BASE_URL, scope="create")
    two, _ = await mint_token(me=BASE_URL, scope="create")
    response = await post_form(client, f"{NOTE}&access_token={one}&access_token={two}")
    assert "invalid_request" == error_of(response)


async def test_empty_body_token_beside_header_is_ignored(client: httpx.AsyncClient) -> None:
    """An empty access_token field is no token, so the header alone authenticates."""
    response = await post_form(client, f"{NOTE}&access_token=", await bearer())
    assert 201 == response.status_code


async def test_no_token_is_401_unauthorized(client: httpx.AsyncClient) -> None:
    """No token at all is 401 unauthorized with a Bearer challenge (§3.8, RFC 6750 §3)."""
    response = await post_form(client, NOTE)
    assert 401 == response.status_code
    assert "unauthorized" == error_of(response)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert 0 == await Post.all().count()


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    """A token the site never minted is 401 unauthorized."""
    response = await post_form(client, NOTE, {"Authorization": "Bearer not-a-token"})
    assert 401 == response.status_code
    assert "unauthorized" == error_of(response)


async def test_revoked_token_is_401(client: httpx.AsyncClient) -> None:
    """A revoked token is 401 unauthorized."""
    headers = await bearer()
    await revoke_token(headers["Authorization"].removeprefix("Bearer "))
    response = await post_form(client, NOTE, headers)
    assert 401 == response.status_code


async def test_other_scheme_is_401(client: httpx.AsyncClient) -> None:
    """An Authorization header that is not Bearer is 401 unauthorized."""
    response = await post_form(client, NOTE, {"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert "unauthorized" == error_of(response)


async def test_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    """`bearer` in lower case is the same scheme (RFC 7235 §2.1)."""
    headers = await bearer()
    headers["Authorization"] = headers["Authorization"].replace("Bearer", "bearer")
    assert 201 == (await post_form(client, NOTE, headers)).status_code


async def test_json_body_needs_header(client: httpx.AsyncClient) -> None:
    """A JSON body cannot carry the token; without a header it is 401."""
    secret, _ = await mint_token(me=BASE_URL, scope="create")
    doc = {"type": ["h-entry"], "properties": {"content": ["x"]}, "access_token": secret}
    response = await post_json(client, doc)
    assert 401 == response.status_code


async def test_missing_create_scope_is_401_insufficient_scope(client: httpx.AsyncClient) -> None:
    """A valid token without `create` is 401 insufficient_scope naming the scope (§3.8)."""
    response = await post_form(client, NOTE, await bearer("update"))
    assert 401 == response.status_code
    assert {"error": "insufficient_scope", "scope": "create"} == {
        k: v for k, v in response.json().items() if k != "error_description"
    }
    assert 'scope="create"' in response.headers["www-authenticate"]
    assert 0 == await Post.all().count()


async def test_update_needs_update_scope(client: httpx.AsyncClient) -> None:
    """An update with a create-only token is refused and changes nothing."""
    location = (await post_form(client, NOTE, await bearer())).headers["location"]
    update = {"action": "update", "url": location, "replace": {"content": ["changed"]}}
    response = await post_json(client, update, await bearer("create"))
    assert "update" == response.json()["scope"]
    assert ["Authenticated note"] == (await Post.get()).properties["content"]


async def test_delete_needs_delete_scope(client: httpx.AsyncClient) -> None:
    """A delete with a token lacking `delete` is 401 insufficient_scope."""
    location = (await post_form(client, NOTE, await bearer())).headers["location"]
    response = await post_form(client, f"action=delete&url={location}", await bearer("create"))
    assert "delete" == response.json()["scope"]
    assert (await Post.get()).deleted_at is None


async def test_undelete_needs_undelete_scope(client: httpx.AsyncClient) -> None:
    """An undelete with a token lacking `undelete` is 401 insufficient_scope."""
    headers = await bearer()
    location = (await post_form(client, NOTE, headers)).headers["location"]
    await post_form(client, f"action=delete&url={location}", headers)
    response = await post_form(client, f"action=undelete&url={location}", await bearer("delete"))
    assert "undelete" == response.json()["scope"]


async def test_scopeless_token_is_refused(client: httpx.AsyncClient) -> None:
    """A token with no scope at all is refused: a token needs one scope (§5.4)."""
    response = await post_form(client, NOTE, await bearer(""))
    assert "insufficient_scope" == error_of(response)


async def test_draft_scope_creates_drafts_only(client: httpx.AsyncClient) -> None:
    """A `draft`-only token creates posts as drafts, whatever post-status says."""
    response = await post_form(client, f"{NOTE}&post-status=published", await bearer("draft"))
    assert 201 == response.status_code
    assert 404 == (await client.get(response.headers["location"])).status_code
    properties = await stored(client, await bearer(), response.headers["location"])
    assert ["draft"] == properties["post-status"]


async def test_token_client_id_is_recorded(client: httpx.AsyncClient) -> None:
    """The post remembers the client_id of the token that created it."""
    headers = await bearer(client_id="https://quill.p3k.io/")
    await post_form(client, NOTE, headers)
    assert "https://quill.p3k.io/" == (await Post.get()).client_id


async def test_query_needs_token(client: httpx.AsyncClient) -> None:
    """Queries are authenticated too: no token is 401."""
    response = await client.get(ENDPOINT, params={"q": "config"})
    assert 401 == response.status_code
    assert "unauthorized" == error_of(response)


async def test_head_query_needs_token(client: httpx.AsyncClient) -> None:
    """HEAD is authenticated like GET."""
    assert 401 == (await client.head(ENDPOINT, params={"q": "config"})).status_code


async def test_verifier_is_pluggable(app: Starlette, client: httpx.AsyncClient) -> None:
    """`app.state.token_verifier` replaces the token check (IndieAuth will plug in here)."""
    seen: list[str] = []

    async def verifier(token: str) -> Token | None:
        seen.append(token)
        return Token(token_hash="external", prefix="ext", me=BASE_URL, scope="create")

    app.state.token_verifier = verifier
    response = await post_form(client, NOTE, {"Authorization": "Bearer from-elsewhere"})
    assert 201 == response.status_code
    assert ["from-elsewhere"] == seen
