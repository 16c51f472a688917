"""The shared page cache (hearth.server.core.page_cache) on the real app: hits cost no query
and no template, and every change to what a page shows is seen by the next GET.

Spec: https://www.rfc-editor.org/rfc/rfc9111 (shared caches), RFC 9110 section 13 (304s).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from hearth.server import feeds, pages
from hearth.server.core import timestamps
from hearth.server.core.settings import Settings
from hearth.server.indieauth.tables import VisitorSession
from hearth.server.indieauth.visitors import COOKIE_NAME, hash_secret
from tests.conftest import BASE_URL
from tests.micropub.endpoint_helpers import bearer, create, post_json
from tests.server.cache_helpers import path_of, queries_fixture, warm

__all__ = ["queries_fixture"]  # a fixture, used by name

LISTINGS = ("/", "/feed.atom", "/feed.rss", "/feed.json", "/tag/cached", "/tags")


def no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("rendered on a hit")

    monkeypatch.setattr(pages, "render", refuse)
    monkeypatch.setattr(feeds, "feed_page", refuse)


async def micropub_create(client: httpx.AsyncClient, text: str, **more: list[Any]) -> str:
    properties = {"content": [text], "category": ["cached"], **more}
    return await create(client, await bearer(), properties)


async def micropub_action(client: httpx.AsyncClient, doc: dict[str, Any]) -> None:
    response = await post_json(client, doc, await bearer())
    assert response.status_code in (200, 201, 204), response.text


async def shortlink_of(reader: httpx.AsyncClient, url: str) -> str:
    page = await reader.get(url)
    return next(link["url"] for link in page.links.values() if link.get("rel") == "shortlink")


def same_answer(a: httpx.Response, b: httpx.Response) -> bool:
    """Same status, bytes and headers (but the server's Date)."""
    headers = [(k, v) for k, v in a.headers.multi_items() if k != "date"]
    other = [(k, v) for k, v in b.headers.multi_items() if k != "date"]
    return (a.status_code, a.content, headers) == (b.status_code, b.content, other)


# Hits ------------------------------------------------------------------------------------


async def test_a_hit_needs_no_query_and_no_template(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    queries: list[str],
) -> None:
    """Home, feeds, tag pages, a permalink and a short link: a hit gives the same bytes and
    headers as the miss before it, with no SQL run and nothing rendered."""
    url = await micropub_create(client, "Cached words")
    shortlink = await shortlink_of(anonymous, url)
    paths = [*LISTINGS, path_of(url), path_of(shortlink)]
    first = {path: await anonymous.get(path) for path in paths}
    no_rendering(monkeypatch)
    queries.clear()
    for path in paths:
        again = await anonymous.get(path)
        assert same_answer(first[path], again), path
    assert [] == queries


async def test_a_hit_answers_if_none_match_with_304(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, queries: list[str]
) -> None:
    """A client holding the current page gets a 304 from the cache, as from the page."""
    await micropub_create(client, "Validated words")
    miss = await anonymous.get("/")
    etag = miss.headers["etag"]
    queries.clear()
    hit = await anonymous.get("/", headers={"If-None-Match": etag})
    assert (304, b"", etag) == (hit.status_code, hit.content, hit.headers["etag"])
    assert "content-length" not in hit.headers
    assert miss.headers["last-modified"] == hit.headers["last-modified"]
    assert [] == queries
    changed = await anonymous.get("/", headers={"If-None-Match": '"other"'})
    assert (200, miss.content) == (changed.status_code, changed.content)


async def test_a_hit_answers_if_modified_since_with_304(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await micropub_create(client, "Dated words")
    miss = await anonymous.get("/feed.atom")
    since = {"If-Modified-Since": miss.headers["last-modified"]}
    assert 304 == (await anonymous.get("/feed.atom", headers=since)).status_code
    old = {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    assert 200 == (await anonymous.get("/feed.atom", headers=old)).status_code


async def test_head_on_a_hit_has_the_headers_and_no_body(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await micropub_create(client, "Headed words")
    page = await anonymous.get("/")
    head = await anonymous.head("/")
    assert (200, b"", page.headers["etag"]) == (
        head.status_code,
        head.content,
        head.headers["etag"],
    )
    assert page.headers["content-length"] == head.headers["content-length"]


# Each change is seen by the next GET -------------------------------------------------------


async def test_a_created_post_is_on_every_listing(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await micropub_create(client, "The first post")
    await warm(anonymous, *LISTINGS)
    await micropub_create(client, "A brand new post")
    for path in LISTINGS[:-1]:
        assert "A brand new post" in (await anonymous.get(path)).text, path


async def test_an_updated_post_shows_its_new_text(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    url = await micropub_create(client, "Before the edit")
    await warm(anonymous, path_of(url), "/", "/feed.json")
    await micropub_action(
        client, {"action": "update", "url": url, "replace": {"content": ["After"]}}
    )
    for path in (path_of(url), "/", "/feed.json"):
        page = (await anonymous.get(path)).text
        assert "After" in page and "Before the edit" not in page, path


async def test_a_deleted_post_is_gone_and_an_undeleted_one_back(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    url = await micropub_create(client, "Now you see me")
    shortlink = await shortlink_of(anonymous, url)
    await warm(anonymous, path_of(url), path_of(shortlink), "/")
    await micropub_action(client, {"action": "delete", "url": url})
    assert 410 == (await anonymous.get(path_of(url))).status_code
    assert 410 == (await anonymous.get(path_of(shortlink))).status_code
    assert "Now you see me" not in (await anonymous.get("/")).text
    await micropub_action(client, {"action": "undelete", "url": url})
    assert 200 == (await anonymous.get(path_of(url))).status_code
    assert 301 == (await anonymous.get(path_of(shortlink))).status_code
    assert "Now you see me" in (await anonymous.get("/")).text


async def test_an_edited_hcard_is_on_every_page(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, signed_in: str
) -> None:
    url = await micropub_create(client, "Under my name")
    await warm(anonymous, "/", path_of(url), "/feed.atom")
    form = {"csrf_token": signed_in, "name": "Alice Renamed", "photo": "", "note": ""}
    assert 303 == (await client.post("/admin/hcard", data=form)).status_code
    for path in ("/", path_of(url), "/feed.atom"):
        assert "Alice Renamed" in (await anonymous.get(path)).text, path


async def test_a_scheduled_post_appears_at_its_time(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No commit happens at a scheduled post's time (its announcement job may run later):
    cached listings end at that time."""
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    await micropub_create(client, "Already out")
    await micropub_create(client, "Out in an hour", published=[when.isoformat()])
    await warm(anonymous, "/", "/feed.json")
    assert "Out in an hour" not in (await anonymous.get("/")).text
    monkeypatch.setattr(timestamps, "instant", lambda: when + timedelta(seconds=1))
    for path in ("/", "/feed.json"):
        assert "Out in an hour" in (await anonymous.get(path)).text, path


async def test_a_change_by_another_process_is_seen_at_once(
    app: Starlette, anonymous: httpx.AsyncClient, settings: Settings
) -> None:
    """`hearth demo`, run as its own process on the same data dir, fills the site: the
    serving app's cached (empty) home page gives way at once."""
    await warm(anonymous, "/")
    env = {**os.environ, "HEARTH_DATA_DIR": str(settings.data_dir), "HEARTH_URL": BASE_URL}
    command = [sys.executable, "-c", "import sys; from hearth.cli import main; sys.exit(main())"]
    done = subprocess.run([*command, "demo"], env=env, capture_output=True, timeout=60)  # noqa: ASYNC221
    assert 0 == done.returncode, done.stderr
    assert 'class="h-entry' in (await anonymous.get("/")).text


# Viewers ---------------------------------------------------------------------------------


async def test_the_owner_never_gets_or_fills_the_shared_page(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, signed_in: str
) -> None:
    """The signed-in owner sees a private post the cache must never hand to anyone else."""
    await micropub_create(client, "Public words")
    secret = await micropub_create(client, "Owners secret", visibility=["private"])
    await warm(anonymous, "/", path_of(secret))
    owners = await client.get("/")
    assert "Owners secret" in owners.text and "private" in owners.headers["cache-control"]
    assert 200 == (await client.get(path_of(secret))).status_code
    assert "Owners secret" not in (await anonymous.get("/")).text
    assert 404 == (await anonymous.get(path_of(secret))).status_code


async def test_a_visitor_never_gets_or_fills_the_shared_page(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, app: Starlette
) -> None:
    """A visitor signed in with their own site sees what was shared with them; the anonymous
    page neither reaches them nor learns of it."""
    friend = "https://friend.example/"
    url = await micropub_create(client, "For my friend", visibility=["private"], audience=[friend])
    await warm(anonymous, "/", path_of(url))
    await VisitorSession.create(
        id_hash=hash_secret("friend-session"),
        me=friend,
        csrf_token="friend-csrf",
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as visitor:
        visitor.cookies.set(COOKIE_NAME, "friend-session", domain="example.test")
        for path in ("/", path_of(url)):
            page = await visitor.get(path)
            assert (200, True) == (page.status_code, "For my friend" in page.text), path
    assert "For my friend" not in (await anonymous.get("/")).text
    assert 404 == (await anonymous.get(path_of(url))).status_code
