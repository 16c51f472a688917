"""What `q=source` and `q=category` tell a token, by its scopes (hearth.micropub.read_access).

Drafts, unlisted and private posts are read only with `read` or `update`; any other token
reads the published public posts, and a URL of a post it may not read answers exactly as a
URL with no post.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.micropub.endpoint_helpers import ENDPOINT, bearer, create, post_json, source

FRIEND_CARD = {
    "type": ["h-card"],
    "properties": {"name": ["Friend"], "url": ["https://friend.example/"]},
}
POSTS: dict[str, dict[str, list[Any]]] = {
    "public": {"content": ["Public note"], "category": ["open"]},
    "draft": {"content": ["Draft note"], "post-status": ["draft"], "category": ["unfinished"]},
    "unlisted": {"content": ["Unlisted note"], "visibility": ["unlisted"]},
    "private": {
        "content": ["Private note"],
        "visibility": ["private"],
        "audience": ["https://friend.example/", FRIEND_CARD],
        "category": ["secret"],
    },
}


@pytest.fixture(name="made")
async def made_fixture(client: httpx.AsyncClient) -> dict[str, str]:
    """One post of each kind, by name; their permalinks."""
    headers = await bearer()
    return {name: await create(client, headers, properties) for name, properties in POSTS.items()}


async def listed(client: httpx.AsyncClient, scope: str) -> list[str]:
    response = await client.get(ENDPOINT, params={"q": "source"}, headers=await bearer(scope))
    assert 200 == response.status_code, response.text
    return [item["properties"]["url"][0] for item in response.json()["items"]]


@pytest.mark.parametrize("scope", ["media", "draft", "create", "delete"])
async def test_list_without_read_scope_is_public_posts(
    client: httpx.AsyncClient, made: dict[str, str], scope: str
) -> None:
    """Tokens without `read` or `update` list only the published public posts."""
    assert [made["public"]] == await listed(client, scope)


@pytest.mark.parametrize("scope", ["read", "update", "create update"])
async def test_list_with_read_or_update_is_every_post(
    client: httpx.AsyncClient, made: dict[str, str], scope: str
) -> None:
    """`read` or `update` lists drafts, unlisted and private posts too, newest first."""
    assert list(reversed(made.values())) == await listed(client, scope)


@pytest.mark.parametrize("scope", ["media", "draft"])
async def test_read_by_url_without_read_scope(
    client: httpx.AsyncClient, made: dict[str, str], scope: str
) -> None:
    """A draft, unlisted or private post by URL is the same 400 as a URL with no post; a
    public one reads as usual."""
    headers = await bearer(scope)
    missing = made["public"].rsplit("/", 1)[0] + "/no-such-post"
    nothing = (await source(client, headers, missing)).json()
    for name in ("draft", "unlisted", "private"):
        response = await source(client, headers, made[name])
        assert 400 == response.status_code
        expected = nothing["error_description"].replace(missing, made[name])
        assert {**nothing, "error_description": expected} == response.json()
    assert 200 == (await source(client, headers, made["public"])).status_code


@pytest.mark.parametrize("scope", ["read", "update"])
async def test_read_by_url_with_read_scope_keeps_the_audience(
    client: httpx.AsyncClient, made: dict[str, str], scope: str
) -> None:
    """With `read` or `update` a private post reads back with its audience as sent."""
    response = await source(client, await bearer(scope), made["private"])
    assert 200 == response.status_code, response.text
    properties = response.json()["properties"]
    assert POSTS["private"]["audience"] == properties["audience"]
    assert ["private"] == properties["visibility"]
    draft = await source(client, await bearer(scope), made["draft"])
    assert ["draft"] == draft.json()["properties"]["post-status"]


async def test_deleted_private_post_is_not_told(
    client: httpx.AsyncClient, made: dict[str, str]
) -> None:
    """A deleted private post is "no post" to a token that could not read it, and "deleted"
    to one that could."""
    delete = {"action": "delete", "url": made["private"]}
    assert 204 == (await post_json(client, delete, await bearer())).status_code
    hidden = await source(client, await bearer("create"), made["private"])
    assert "there is no post at" in hidden.json()["error_description"]
    told = await source(client, await bearer("read"), made["private"])
    assert "is deleted" in told.json()["error_description"]


async def categories(client: httpx.AsyncClient, scope: str) -> list[str]:
    response = await client.get(ENDPOINT, params={"q": "category"}, headers=await bearer(scope))
    assert 200 == response.status_code, response.text
    names: list[str] = response.json()["categories"]
    return names


async def test_categories_follow_what_the_token_may_read(
    client: httpx.AsyncClient, made: dict[str, str]
) -> None:
    """Categories only drafts or private posts have are listed only to readers."""
    assert ["open"] == await categories(client, "create")
    assert ["open", "secret", "unfinished"] == await categories(client, "read")
