"""Responses on the real permalink, end to end: send, verify, GET the post, parse it.

These need the wiring in pages.py (`responses_for` into the permalink's context) and the
`{% include "_responses.html" %}` inside the entry's h-entry; they fail until then.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import mf2py

from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Post
from tests.server.webmention.receive_support import (
    SITE,
    FakeWeb,
    html_page,
    permalink,
    received,
    reply_page,
)

XSS = (
    '<p>Hi<script>alert("xss")</script><img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)" onclick="alert(3)">x</a><svg onload="alert(4)"></svg></p>'
)
EVIL_AUTHOR = (
    '<div class="p-author h-card"><a class="p-name u-url" href="javascript:alert(5)">'
    '<script>alert(6)</script>Mallory"&gt;</a><img class="u-photo" src="javascript:alert(7)"></div>'
)


async def post_entry(client: httpx.AsyncClient, post: Post) -> dict[str, list[Any]]:
    page = await client.get("/" + post.path)
    assert 200 == page.status_code
    entries = [i for i in mf2py.parse(doc=page.text, url=SITE)["items"] if "h-entry" in i["type"]]
    (entry,) = entries
    properties: dict[str, list[Any]] = entry["properties"]
    return properties


async def test_reply_shows_on_the_permalink_as_a_comment(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A verified reply is a p-comment h-cite of the post's h-entry."""
    web.add("https://alice.example/r/1", reply_page(permalink(post), "Lovely!"))
    await received(client, worker, "https://alice.example/r/1", permalink(post))
    (comment,) = (await post_entry(client, post))["comment"]
    assert "Lovely!" in comment["properties"]["content"][0]["value"]
    assert ["Alice"] == comment["properties"]["author"][0]["properties"]["name"]


async def test_like_shows_on_the_permalink(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A verified like is a u-like h-cite of the post's h-entry."""
    like = f'<div class="h-entry"><a class="u-like-of" href="{permalink(post)}">♥</a></div>'
    web.add("https://bob.example/likes/1", html_page(like))
    await received(client, worker, "https://bob.example/likes/1", permalink(post))
    assert 1 == len((await post_entry(client, post))["like"])


async def test_unverified_response_is_not_on_the_permalink(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A source without the link shows nothing."""
    web.add("https://alice.example/r/1", html_page("<p>No link</p>"))
    await received(client, worker, "https://alice.example/r/1", permalink(post))
    assert "comment" not in await post_entry(client, post)


async def test_xss_payloads_are_inert_on_the_permalink(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """The W3C checklist's XSS item, end to end: nothing executable reaches the page."""
    web.add("https://mallory.example/r/1", reply_page(permalink(post), XSS, author=EVIL_AUTHOR))
    await received(client, worker, "https://mallory.example/r/1", permalink(post))
    html = (await client.get("/" + post.path)).text
    for bad in ("<script>alert", "onerror", "onclick", "onload", "javascript:", "<svg"):
        assert bad not in html, bad
    assert "Mallory" in html


async def test_new_response_refreshes_last_modified(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A copy cached before a reply arrived is not answered 304 after it (Last-Modified
    follows the responses too, not only the post)."""
    await Post.filter(id=post.id).update(modified_at=datetime(2026, 1, 1, tzinfo=UTC))
    before = await client.get("/" + post.path)
    web.add("https://alice.example/r/1", reply_page(permalink(post)))
    await received(client, worker, "https://alice.example/r/1", permalink(post))
    since = {"If-Modified-Since": before.headers["last-modified"]}
    assert 200 == (await client.get("/" + post.path, headers=since)).status_code
