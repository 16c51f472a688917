"""Micropub queries and discovery (Micropub §3.7, §5.3)."""

from __future__ import annotations

from typing import Any

import httpx
import mf2py

from hearth.server.core.models import Post
from tests.conftest import BASE_URL
from tests.micropub.endpoint_helpers import (
    ENDPOINT,
    bearer,
    create,
    error_of,
    post_form,
    post_json,
    source,
)


async def _query(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(ENDPOINT, params=params, headers=headers)
    assert 200 == response.status_code, response.text
    assert "application/json" == response.headers["content-type"]
    assert response.content.startswith(b"{")
    return response.json()


async def test_home_page_advertises_the_endpoint(client: httpx.AsyncClient) -> None:
    """rel=micropub is in the home page's Link header and its <link> tags (§5.3)."""
    response = await client.get("/")
    assert ENDPOINT == response.links["micropub"]["url"]
    rels = mf2py.parse(doc=response.text, url=BASE_URL)["rels"]
    assert [ENDPOINT] == rels["micropub"]


async def test_config(client: httpx.AsyncClient) -> None:
    """q=config names the media endpoint, syndication targets, post types and queries."""
    config = await _query(client, await bearer(), q="config")
    assert BASE_URL + "micropub/media" == config["media-endpoint"]
    assert [] == config["syndicate-to"]
    assert {"type": "note", "name": "Note"} in config["post-types"]
    assert {"config", "source", "syndicate-to", "category", "post-types"} == set(config["q"])


async def test_config_answers_any_scope(client: httpx.AsyncClient) -> None:
    """Any valid token may read the configuration (the media endpoint needs it too)."""
    assert "media-endpoint" in await _query(client, await bearer("media"), q="config")


async def test_syndicate_to(client: httpx.AsyncClient) -> None:
    """q=syndicate-to is an object with an array, empty for now (§3.7.3)."""
    assert {"syndicate-to": []} == await _query(client, await bearer(), q="syndicate-to")


async def test_post_types(client: httpx.AsyncClient) -> None:
    """q=post-types lists every type Hearth renders."""
    types = {
        t["type"] for t in (await _query(client, await bearer(), q="post-types"))["post-types"]
    }
    assert {"note", "article", "photo", "reply", "like", "event", "rsvp", "checkin"} <= types


async def test_source_everything(client: httpx.AsyncClient) -> None:
    """q=source without properties[] gives type and every property (§3.7.2)."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Plain"], "category": ["a", "b"]})
    answer = (await source(client, headers, url)).json()
    published = (await Post.get()).published.strftime("%Y-%m-%dT%H:%M:%SZ")
    properties = {"content": ["Plain"], "category": ["a", "b"], "published": [published]}
    assert {"type": ["h-entry"], "properties": properties} == answer


async def test_source_some_properties(client: httpx.AsyncClient) -> None:
    """properties[] narrows the answer to those properties."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"], "category": ["a"], "name": ["N"]})
    answer = (await source(client, headers, url, "content", "category")).json()
    assert {"properties": {"content": ["x"], "category": ["a"]}} == answer


async def test_source_single_property_without_brackets(client: httpx.AsyncClient) -> None:
    """`properties=name` (no brackets) asks for that property alone."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["x"], "name": ["Title"]})
    answer = await _query(client, headers, q="source", properties="name", url=url)
    assert {"properties": {"name": ["Title"]}} == answer


async def test_source_html_content(client: httpx.AsyncClient) -> None:
    """HTML content comes back as {"html": ...}; plain text stays a string (§3.7.2)."""
    headers = await bearer()
    url = await create(client, headers, {"content": [{"html": "<p>Hi</p>"}]})
    assert [{"html": "<p>Hi</p>"}] == (await source(client, headers, url)).json()["properties"][
        "content"
    ]


async def test_source_draft(client: httpx.AsyncClient) -> None:
    """The owner's client can read a draft back to edit it."""
    headers = await bearer()
    created = await post_form(client, "content=Draft&post-status=draft", headers)
    answer = (await source(client, headers, created.headers["location"])).json()
    assert ["draft"] == answer["properties"]["post-status"]


async def test_source_unknown_url_is_400(client: httpx.AsyncClient) -> None:
    """q=source for a URL with no post is 400 invalid_request (Example 25)."""
    response = await source(client, await bearer(), BASE_URL + "2020/01/none")
    assert "invalid_request" == error_of(response)


async def test_source_foreign_url_is_400(client: httpx.AsyncClient) -> None:
    """q=source for another site's URL is 400 with a description."""
    response = await source(client, await bearer(), "https://elsewhere.example/2020/01/x")
    assert "invalid_request" == error_of(response)
    assert "not on this site" in response.json()["error_description"]


async def test_source_list_pages(client: httpx.AsyncClient) -> None:
    """q=source without url lists posts newest first, with urls, paged by `after`."""
    headers = await bearer()
    urls = [await create(client, headers, {"content": [f"Post {n}"]}) for n in range(3)]
    first = await _query(client, headers, q="source", limit="2")
    assert [[urls[2]], [urls[1]]] == [item["properties"]["url"] for item in first["items"]]
    rest = await _query(client, headers, q="source", limit="2", after=first["paging"]["after"])
    assert [["Post 0"]] == [item["properties"]["content"] for item in rest["items"]]
    assert "paging" not in rest


async def test_source_list_leaves_out_deleted(client: httpx.AsyncClient) -> None:
    """Deleted posts are not listed."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Gone"]})
    await post_json(client, {"action": "delete", "url": url}, headers)
    assert {"items": []} == await _query(client, headers, q="source")


async def test_source_list_bad_limit_is_400(client: httpx.AsyncClient) -> None:
    """A limit that is not 1 to 100 is 400."""
    response = await client.get(
        ENDPOINT, params={"q": "source", "limit": "0"}, headers=await bearer()
    )
    assert "invalid_request" == error_of(response)


async def test_source_list_bad_cursor_is_400(client: httpx.AsyncClient) -> None:
    """A mangled `after` cursor is 400, not a 500."""
    params = {"q": "source", "after": "!!!"}
    response = await client.get(ENDPOINT, params=params, headers=await bearer())
    assert "invalid_request" == error_of(response)


async def test_category(client: httpx.AsyncClient) -> None:
    """q=category lists the categories in use, sorted; `filter` narrows them."""
    headers = await bearer()
    await create(client, headers, {"content": ["x"], "category": ["IndieWeb", "cats"]})
    await create(client, headers, {"content": ["y"], "category": ["indie", "dogs"]})
    everything = await _query(client, headers, q="category")
    assert {"categories": ["cats", "dogs", "indie", "indieweb"]} == everything
    assert {"categories": ["indie", "indieweb"]} == await _query(
        client, headers, q="category", filter="Indie"
    )


async def test_unknown_query_is_400(client: httpx.AsyncClient) -> None:
    """An unknown q is 400 invalid_request."""
    response = await client.get(ENDPOINT, params={"q": "weather"}, headers=await bearer())
    assert "invalid_request" == error_of(response)


async def test_missing_query_is_400(client: httpx.AsyncClient) -> None:
    """A GET without q is 400 invalid_request."""
    assert 400 == (await client.get(ENDPOINT, headers=await bearer())).status_code


async def test_head_answers_like_get(client: httpx.AsyncClient) -> None:
    """HEAD q=config answers 200 with the JSON headers and no body."""
    response = await client.head(ENDPOINT, params={"q": "config"}, headers=await bearer())
    assert 200 == response.status_code
    assert "application/json" == response.headers["content-type"]
    assert b"" == response.content


async def test_answers_are_not_cached(client: httpx.AsyncClient) -> None:
    """Query answers carry Cache-Control: no-store (they are per token)."""
    response = await client.get(ENDPOINT, params={"q": "config"}, headers=await bearer())
    assert "no-store" == response.headers["cache-control"]
