"""Micropub update: replace, add, delete, and moving a post with mp-slug (Micropub §3.4)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hearth.micropub import post_actions
from hearth.server.core.models import Post
from hearth.server.core.publication import Status
from tests.micropub.endpoint_helpers import (
    bearer,
    create,
    entry_of,
    error_of,
    post_form,
    post_json,
    stored,
)


async def _update(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, **operations: Any
) -> httpx.Response:
    return await post_json(client, {"action": "update", "url": url, **operations}, headers)


async def test_replace_answers_204_and_keeps_the_rest(client: httpx.AsyncClient) -> None:
    """replace swaps one property's values and leaves the others alone (§3.4.1)."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Old"], "category": ["keep"]})
    response = await _update(client, headers, url, replace={"content": ["New"]})
    assert 204 == response.status_code
    assert {"content": ["New"], "category": ["keep"]} == await stored(client, headers, url)
    assert ["New"] == [c["value"] for c in entry_of(await client.get(url))["properties"]["content"]]


async def test_add_appends_and_creates(client: httpx.AsyncClient) -> None:
    """add appends values, creating the property when absent (§3.4.2)."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"], "category": ["one"]})
    await _update(client, headers, url, add={"category": ["two"], "syndication": ["https://s/1"]})
    properties = await stored(client, headers, url)
    assert ["one", "two"] == properties["category"]
    assert ["https://s/1"] == properties["syndication"]


async def test_delete_values_and_properties(client: httpx.AsyncClient) -> None:
    """delete removes listed values, or whole properties given as a list (§3.4.3)."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"], "category": ["a", "b"], "x-y": ["z"]})
    await _update(client, headers, url, delete={"category": ["b"]})
    await _update(client, headers, url, delete=["x-y"])
    assert {"content": ["x"], "category": ["a"]} == await stored(client, headers, url)


async def test_categories_follow_updates(client: httpx.AsyncClient) -> None:
    """Tag pages follow category changes."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Tagged"], "category": ["old"]})
    await _update(client, headers, url, replace={"category": ["new"]})
    assert "Tagged" in (await client.get("/tag/new")).text
    assert "Tagged" not in (await client.get("/tag/old")).text


async def test_post_type_follows_updates(client: httpx.AsyncClient) -> None:
    """Adding a photo to a note makes it a photo post."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    await _update(client, headers, url, add={"photo": ["https://photos.example/a.jpg"]})
    assert "photo" == (await Post.get()).post_type


async def test_concurrent_updates_all_apply(client: httpx.AsyncClient) -> None:
    """Updates in flight at once apply one after the other; none is lost."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    tags = [f"tag{n}" for n in range(5)]
    await asyncio.gather(*(_update(client, headers, url, add={"category": [tag]}) for tag in tags))
    assert sorted(tags) == sorted((await stored(client, headers, url))["category"])


async def test_non_array_operation_is_400(client: httpx.AsyncClient) -> None:
    """An operation that is not an object of arrays is 400, and the post is unchanged."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Same"]})
    response = await _update(client, headers, url, replace="not valid")
    assert "invalid_request" == error_of(response)
    assert {"content": ["Same"]} == await stored(client, headers, url)


async def test_update_without_operation_is_400(client: httpx.AsyncClient) -> None:
    """An update with none of replace, add and delete is 400."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    assert 400 == (await _update(client, headers, url)).status_code


async def test_form_update_is_400(client: httpx.AsyncClient) -> None:
    """Updates are JSON only (§3.4): a form update is 400."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    response = await post_form(client, f"action=update&url={url}&content=y", headers)
    assert "invalid_request" == error_of(response)


async def test_new_slug_moves_the_post(client: httpx.AsyncClient) -> None:
    """mp-slug in replace moves the post: 201 + new Location, the old URL redirects (§3.4.4)."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Moving"]})
    response = await _update(client, headers, url, replace={"mp-slug": ["new-home"]})
    assert 201 == response.status_code
    new_url = response.headers["location"]
    assert new_url.endswith("/new-home")
    old = await client.get(url)
    assert (301, new_url) == (old.status_code, old.headers["location"])
    assert 200 == (await client.get(new_url)).status_code
    assert "mp-slug" not in await stored(client, headers, new_url)


async def test_moving_back_reuses_the_old_path(client: httpx.AsyncClient) -> None:
    """Moving a post back to a former slug takes that path again, no `-2`."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"], "mp-slug": ["first"]})
    await _update(client, headers, url, replace={"mp-slug": ["second"]})
    back = await _update(client, headers, url, replace={"mp-slug": ["first"]})
    assert url == back.headers["location"]
    assert 200 == (await client.get(url)).status_code


async def test_same_slug_is_not_a_move(client: httpx.AsyncClient) -> None:
    """Replacing mp-slug with the current one answers 204, the URL unchanged."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"], "mp-slug": ["here"]})
    assert 204 == (await _update(client, headers, url, replace={"mp-slug": ["here"]})).status_code


async def test_update_by_short_link(client: httpx.AsyncClient) -> None:
    """The short link /s/CODE names the post as well as its permalink."""
    headers = await bearer()
    created = await post_form(client, "content=Short", headers)
    short = created.links["shortlink"]["url"]
    assert 204 == (await _update(client, headers, short, replace={"content": ["Long"]})).status_code
    assert ["Long"] == (await stored(client, headers, created.headers["location"]))["content"]


async def test_update_by_former_url(client: httpx.AsyncClient) -> None:
    """A former URL (before a move) still names the post."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    await _update(client, headers, url, replace={"mp-slug": ["elsewhere"]})
    assert 204 == (await _update(client, headers, url, add={"category": ["c"]})).status_code


async def test_draft_leaves_the_home_page(client: httpx.AsyncClient) -> None:
    """Replacing post-status with draft unpublishes the post."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Soon gone"]})
    await _update(client, headers, url, replace={"post-status": ["draft"]})
    assert Status.DRAFT == (await Post.get()).status
    assert 404 == (await client.get(url)).status_code


async def test_bad_status_is_400(client: httpx.AsyncClient) -> None:
    """A post-status other than published or draft is 400."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    response = await _update(client, headers, url, replace={"post-status": ["gone"]})
    assert "invalid_request" == error_of(response)


async def test_published_update_redates(client: httpx.AsyncClient) -> None:
    """Replacing published changes the post's date (not its URL)."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    await _update(client, headers, url, replace={"published": ["2020-01-02T03:04:05Z"]})
    assert datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC) == (await Post.get()).published


async def test_updated_is_set(client: httpx.AsyncClient) -> None:
    """An update records when it happened."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    await _update(client, headers, url, replace={"content": ["y"]})
    assert (await Post.get()).updated is not None


async def test_deleted_post_cannot_be_updated(client: httpx.AsyncClient) -> None:
    """Updating a deleted post is 400 (undelete it first)."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"]})
    await post_form(client, f"action=delete&url={url}", headers)
    assert "invalid_request" == error_of(await _update(client, headers, url, add={"a": ["b"]}))


async def test_change_is_announced_with_previous_properties(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """post_changed hears of the update, with the properties it had before."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Before"]})
    calls: list[dict[str, Any]] = []

    async def record(settings: object, post: Post, **kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(post_actions, "post_changed", record)
    await _update(client, headers, url, replace={"content": ["After"]})
    assert [{"was_public": True, "previous_properties": {"content": ["Before"]}}] == calls


async def test_no_op_update_announces_nothing(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An update that changes nothing answers 204 and queues nothing."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"], "category": ["a"]})
    calls: list[object] = []

    async def record(*args: object, **kwargs: object) -> None:
        calls.append(args)

    monkeypatch.setattr(post_actions, "post_changed", record)
    assert 204 == (await _update(client, headers, url, add={"category": ["a"]})).status_code
    assert [] == calls
