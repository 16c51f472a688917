"""Micropub delete and undelete, form and JSON (Micropub §3.5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hearth.micropub import post_actions
from hearth.server.core.models import Post
from tests.micropub.endpoint_helpers import (
    bearer,
    create,
    error_of,
    post_form,
    post_json,
    source,
)


async def test_form_delete_answers_204_and_410(client: httpx.AsyncClient) -> None:
    """A form delete answers 204; the permalink then answers 410 Gone."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Going away"]})
    response = await post_form(client, f"action=delete&url={url}", headers)
    assert 204 == response.status_code
    assert 410 == (await client.get(url)).status_code


async def test_json_delete(client: httpx.AsyncClient) -> None:
    """A JSON delete works the same."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    assert 204 == (await post_json(client, {"action": "delete", "url": url}, headers)).status_code
    assert (await Post.get()).deleted_at is not None


async def test_deleted_post_leaves_lists_and_feeds(client: httpx.AsyncClient) -> None:
    """A deleted post is gone from the home page and the feeds."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Vanishing note"]})
    await post_form(client, f"action=delete&url={url}", headers)
    assert "Vanishing note" not in (await client.get("/")).text
    assert "Vanishing note" not in (await client.get("/feed.json")).text


async def test_tombstone_keeps_no_links(client: httpx.AsyncClient) -> None:
    """The 410 page of a deleted reply no longer links to what it replied to."""
    headers = await bearer()
    target = "https://other.example/post/1"
    url = await create(client, headers, {"content": ["Reply"], "in-reply-to": [target]})
    assert target in (await client.get(url)).text
    await post_form(client, f"action=delete&url={url}", headers)
    assert target not in (await client.get(url)).text


async def test_undelete_restores_at_the_same_url(client: httpx.AsyncClient) -> None:
    """Undelete brings the post back at its URL (§3.5)."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Back again"]})
    await post_form(client, f"action=delete&url={url}", headers)
    response = await post_json(client, {"action": "undelete", "url": url}, headers)
    assert 204 == response.status_code
    page = await client.get(url)
    assert 200 == page.status_code
    assert "Back again" in page.text


async def test_delete_twice_is_harmless(client: httpx.AsyncClient) -> None:
    """Deleting a deleted post answers 204 and changes nothing."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    await post_form(client, f"action=delete&url={url}", headers)
    first = (await Post.get()).deleted_at
    assert 204 == (await post_form(client, f"action=delete&url={url}", headers)).status_code
    assert first == (await Post.get()).deleted_at


async def test_delete_by_short_link(client: httpx.AsyncClient) -> None:
    """The short link names the post for delete too."""
    headers = await bearer()
    created = await post_form(client, "content=x", headers)
    short = created.links["shortlink"]["url"]
    await post_form(client, f"action=delete&url={short}", headers)
    assert 410 == (await client.get(created.headers["location"])).status_code


async def test_deleted_post_has_no_source(client: httpx.AsyncClient) -> None:
    """q=source for a deleted post is 400 invalid_request."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    await post_form(client, f"action=delete&url={url}", headers)
    assert "invalid_request" == error_of(await source(client, headers, url))


async def test_unknown_post_is_400(client: httpx.AsyncClient) -> None:
    """Deleting a URL of this site where there is no post is 400 with a description."""
    response = await post_form(
        client, "action=delete&url=https://example.test/2020/01/nothing", await bearer()
    )
    assert "invalid_request" == error_of(response)
    assert "no post" in response.json()["error_description"]


async def test_delete_without_url_is_400(client: httpx.AsyncClient) -> None:
    """action=delete without url is 400."""
    assert 400 == (await post_form(client, "action=delete", await bearer())).status_code


async def test_delete_and_undelete_are_announced(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """post_changed hears of both: the delete while the post was public, then the undelete."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    calls: list[dict[str, Any]] = []

    async def record(settings: object, post: Post, **kwargs: Any) -> None:
        calls.append({"deleted": post.deleted_at is not None, **kwargs})

    monkeypatch.setattr(post_actions, "post_changed", record)
    await post_form(client, f"action=delete&url={url}", headers)
    await post_form(client, f"action=undelete&url={url}", headers)
    expected = [{"deleted": True, "was_public": True}, {"deleted": False, "was_public": False}]
    assert expected == calls
