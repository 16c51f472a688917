"""Private posts for an audience, as the site shows them to each viewer (issue contract).

A post with `visibility=private` and `audience` URLs is shown, on its permalink and on the
home page, to the owner and to signed-in visitors whose `me` is in the audience (both
canonicalized); everyone else gets the plain 404 of a missing page. It is never in feeds,
tag pages, WebSub pings or webmentions, and the pages that show it are never cacheable by a
shared cache.

Signed-in visitors are simulated by a viewer source put first on the app (as IndieAuth's
visitor session would be): a request with the `X-Test-Me` header is that visitor. The owner
is the real admin session (`signed_in`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from hearth.server import websub
from hearth.server.core.models import Job, Post
from hearth.server.core.settings import Settings
from hearth.server.core.viewers import Viewer
from hearth.server.indieauth.tables import VisitorSession
from hearth.server.indieauth.visitors import COOKIE_NAME, hash_secret
from hearth.server.webmention import send
from tests.conftest import BASE_URL
from tests.micropub.endpoint_helpers import bearer, create, post_json, run_follow_ups

FRIEND = "https://friend.example/"
STRANGER = "https://stranger.example/"
ME_HEADER = "X-Test-Me"
SECRET = "Secret plans for the party"
HUB = "https://hub.example.test/publish"


async def _test_visitor(request: Request) -> Viewer | None:
    """The visitor a test names in the `X-Test-Me` header, signed in as that `me`."""
    me = request.headers.get(ME_HEADER)
    return Viewer(me=me) if me else None


def as_visitor(me: str) -> dict[str, str]:
    return {ME_HEADER: me}


@pytest.fixture(name="settings")
def hub_settings_fixture(settings: Settings) -> Settings:
    """The site with a WebSub hub, so that public changes queue pings to compare with."""
    return replace(settings, websub_hub=HUB)


@pytest.fixture(name="visitors", autouse=True)
def visitors_fixture(app: Starlette) -> None:
    app.state.viewer_sources = [_test_visitor, *app.state.viewer_sources]


async def micropub_create(client: httpx.AsyncClient, properties: dict[str, list[Any]]) -> str:
    """Create a post through the Micropub endpoint; its permalink."""
    return await create(client, await bearer(), properties)


async def private_post(client: httpx.AsyncClient, **extra: list[Any]) -> str:
    """A private note for the friend, the audience spelled unlike the friend's `me`."""
    properties: dict[str, list[Any]] = {
        "content": [SECRET],
        "visibility": ["private"],
        "audience": ["https://Friend.example"],
        "mp-slug": ["secret-plans"],
        **extra,
    }
    return await micropub_create(client, properties)


async def shortlink_of(url: str) -> str:
    post = await Post.get(path=url.removeprefix(BASE_URL))
    return f"/s/{post.short_code}"


def assert_not_found(response: httpx.Response) -> None:
    """The generic 404 page, with nothing of the post in it."""
    assert 404 == response.status_code
    assert "Not found" in response.text
    assert SECRET not in response.text
    assert "secret-plans" not in response.text
    assert "location" not in response.headers


async def test_audience_member_sees_it_on_permalink_and_home(client: httpx.AsyncClient) -> None:
    """The friend (audience "https://Friend.example", me "https://friend.example/") sees the
    post on its permalink and the home page, both private to caches and never indexed."""
    url = await private_post(client)
    page = await client.get(url, headers=as_visitor(FRIEND))
    assert 200 == page.status_code
    assert SECRET in page.text
    assert "private" in page.headers["cache-control"]
    assert "cookie" in page.headers["vary"].lower()
    assert "noindex" == page.headers["x-robots-tag"]
    home = await client.get("/", headers=as_visitor(FRIEND))
    assert SECRET in home.text
    assert url in home.text
    assert "private" in home.headers["cache-control"]


async def test_a_real_visitor_session_counts(anonymous: httpx.AsyncClient) -> None:
    """Without the test source: a visitor signed in through IndieAuth (their session cookie)
    sees the post shared with them."""
    url = await private_post(anonymous)
    await VisitorSession.create(
        id_hash=hash_secret("friend-session"),
        me=FRIEND,
        csrf_token="friend-csrf",
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    assert_not_found(await anonymous.get(url))
    anonymous.cookies.set(COOKIE_NAME, "friend-session", domain="example.test")
    page = await anonymous.get(url)
    assert (200, True) == (page.status_code, SECRET in page.text)
    assert "private" in page.headers["cache-control"]


async def test_audience_hcard_and_default_port_match(client: httpx.AsyncClient) -> None:
    """An h-card audience value counts by its url; a default port does not tell URLs apart."""
    hcard = {
        "type": ["h-card"],
        "properties": {"name": ["Pal"], "url": ["https://PAL.example:443"]},
    }
    url = await private_post(client, audience=[hcard])
    assert 200 == (await client.get(url, headers=as_visitor("https://pal.example"))).status_code
    assert_not_found(await client.get(url, headers=as_visitor(FRIEND)))


@pytest.mark.parametrize("who", [None, STRANGER], ids=["anonymous", "other-visitor"])
async def test_others_get_404_everywhere(client: httpx.AsyncClient, who: str | None) -> None:
    """Anyone else gets 404 on the permalink, the short link and the former path, and does
    not find the post on the home page."""
    url = await private_post(client)
    shortlink = await shortlink_of(url)
    # Move it, so its first path becomes a former path that redirects.
    moved = await post_json(
        client,
        {"action": "update", "url": url, "replace": {"mp-slug": ["moved-plans"]}},
        await bearer(),
    )
    assert 201 == moved.status_code, moved.text
    new_url = moved.headers["location"]
    headers = as_visitor(who) if who else {}
    for path in (new_url, shortlink, url):
        assert_not_found(await client.get(path, headers=headers))
    home = await client.get("/", headers=headers)
    assert SECRET not in home.text
    assert "moved-plans" not in home.text
    # The friend is sent on from both, and the redirects are theirs alone.
    for path in (shortlink, url):
        redirect = await client.get(path, headers=as_visitor(FRIEND))
        assert (301, new_url) == (redirect.status_code, redirect.headers["location"])
        assert "private" in redirect.headers["cache-control"]
        assert "cookie" in redirect.headers["vary"].lower()


async def test_the_404_is_the_missing_page(anonymous: httpx.AsyncClient) -> None:
    """The answer for a private post is the very page a path with no post gets."""
    url = await private_post(anonymous)
    missing = await anonymous.get("/2020/01/no-such-post")
    hidden = await anonymous.get(url)
    assert (404, missing.text) == (hidden.status_code, hidden.text)


async def test_owner_sees_private_posts_but_no_drafts(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """The owner sees private posts with or without an audience on home and permalink;
    drafts stay off the public pages, for the owner too."""
    shared = await private_post(client)
    alone = await micropub_create(client, {"content": ["Just me"], "visibility": ["private"]})
    draft = await micropub_create(client, {"content": ["Half done"], "post-status": ["draft"]})
    home = await client.get("/")
    assert "private" in home.headers["cache-control"]
    assert SECRET in home.text and "Just me" in home.text
    assert "Half done" not in home.text
    for url in (shared, alone):
        page = await client.get(url)
        assert 200 == page.status_code
        assert "private" in page.headers["cache-control"]
    assert_not_found(await client.get(draft))


async def test_audience_member_does_not_see_others_private_posts(
    client: httpx.AsyncClient,
) -> None:
    """A private post without an audience, or for someone else, is 404 for the friend."""
    alone = await micropub_create(client, {"content": ["Just me"], "visibility": ["private"]})
    theirs = await micropub_create(
        client, {"content": ["For them"], "visibility": ["private"], "audience": [STRANGER]}
    )
    for url in (alone, theirs):
        assert 404 == (await client.get(url, headers=as_visitor(FRIEND))).status_code
    home = await client.get("/", headers=as_visitor(FRIEND))
    assert "Just me" not in home.text and "For them" not in home.text


async def test_never_in_feeds_or_tag_pages(client: httpx.AsyncClient, signed_in: str) -> None:
    """Feeds and tag pages list public posts only, whoever asks (the owner here, and the
    friend)."""
    await private_post(client, category=["party"])
    await micropub_create(client, {"content": ["Public party"], "category": ["party"]})
    for path in ("/feed.atom", "/feed.rss", "/feed.json", "/tag/party"):
        for headers in ({}, as_visitor(FRIEND)):
            response = await client.get(path, headers=headers)
            assert 200 == response.status_code
            assert "Public party" in response.text
            assert SECRET not in response.text
            assert "secret-plans" not in response.text


async def jobs(kind: str) -> list[Job]:
    return await Job.filter(kind=kind).order_by("id")


async def test_no_ping_or_webmention_for_a_private_post(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Creating a private post with an audience queues no WebSub ping and no webmention,
    where the same public post queues both (once the create's follow-up job ran)."""
    reply_to = {"in-reply-to": ["https://elsewhere.example/post"]}
    await private_post(client, **reply_to)
    assert 1 == await run_follow_ups(settings)
    assert [] == await jobs(websub.KIND)
    assert [] == await jobs(send.KIND)
    await micropub_create(client, {"content": ["Out loud"], **reply_to})
    assert 1 == await run_follow_ups(settings)
    assert await jobs(websub.KIND)
    targets = [job.payload["target"] for job in await jobs(send.KIND)]
    assert ["https://elsewhere.example/post"] == targets


async def test_making_a_post_private_sends_nothing_of_it(client: httpx.AsyncClient) -> None:
    """A public post made private queues no webmention; the hub is only told that the
    topics (home page and feeds) changed, which no longer show it."""
    url = await micropub_create(
        client, {"content": ["Soon private"], "in-reply-to": ["https://elsewhere.example/a"]}
    )
    sent_before = len(await jobs(send.KIND))
    await Job.filter(kind=websub.KIND).delete()
    update = {
        "action": "update",
        "url": url,
        "replace": {"visibility": ["private"], "audience": [FRIEND]},
    }
    assert 204 == (await post_json(client, update, await bearer())).status_code
    assert sent_before == len(await jobs(send.KIND))
    topics = {j.payload["topic"] for j in await jobs(websub.KIND)}
    assert topics <= {BASE_URL, *(BASE_URL + f"feed.{ext}" for ext in ("atom", "rss", "json"))}
    assert 200 == (await client.get(url, headers=as_visitor(FRIEND))).status_code
    assert 404 == (await client.get(url)).status_code


async def test_taking_someone_out_of_the_audience(client: httpx.AsyncClient) -> None:
    """An update that drops the friend from the audience hides the post from them at once."""
    url = await private_post(client)
    update = {"action": "update", "url": url, "replace": {"audience": [STRANGER]}}
    assert 204 == (await post_json(client, update, await bearer())).status_code
    assert 404 == (await client.get(url, headers=as_visitor(FRIEND))).status_code
    assert 200 == (await client.get(url, headers=as_visitor(STRANGER))).status_code


async def test_deleted_public_is_gone_deleted_private_not_found(
    client: httpx.AsyncClient,
) -> None:
    """A deleted public post keeps its 410 tombstone; a deleted private post is 404, even
    for its audience."""
    public = await micropub_create(client, {"content": ["Was public"]})
    private = await private_post(client)
    for url in (public, private):
        deleted = await post_json(client, {"action": "delete", "url": url}, await bearer())
        assert 204 == deleted.status_code
    assert 410 == (await client.get(public)).status_code
    assert 410 == (await client.get(await shortlink_of(public))).status_code
    for headers in ({}, as_visitor(FRIEND)):
        assert_not_found(await client.get(private, headers=headers))
        assert_not_found(await client.get(await shortlink_of(private), headers=headers))


async def test_conditional_get_for_the_audience(client: httpx.AsyncClient) -> None:
    """The friend's pages revalidate by ETag (304, still private); they carry no
    Last-Modified, which could not tell the friend's page from the public one."""
    url = await private_post(client)
    for path in (url, "/"):
        first = await client.get(path, headers=as_visitor(FRIEND))
        assert "last-modified" not in first.headers
        again = await client.get(
            path, headers={**as_visitor(FRIEND), "If-None-Match": first.headers["etag"]}
        )
        assert 304 == again.status_code
        assert "private" in again.headers["cache-control"]
        # The public page is another page: the friend's ETag does not match it.
        public = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert 304 != public.status_code


async def test_home_pages_for_the_friend(client: httpx.AsyncClient) -> None:
    """Paging the home page (5 a page in tests) walks the friend's own list: every public
    and shared post once, forward by rel=next; anonymous readers page the public ones."""
    made = []
    for n in range(8):
        properties: dict[str, list[Any]] = {
            "content": [f"Note {n}"],
            "published": [f"2026-01-0{n + 1}T12:00:00Z"],
        }
        if n % 3 == 0:
            properties |= {"visibility": ["private"], "audience": [FRIEND]}
        made.append(await micropub_create(client, properties))

    async def walk(headers: dict[str, str]) -> list[str]:
        seen, url = [], "/"
        while url:
            response = await client.get(url, headers=headers)
            shown = [u for u in made if f'href="{u}"' in response.text]
            seen += sorted(shown, key=lambda u: response.text.index(f'href="{u}"'))
            url = response.links.get("next", {}).get("url", "")
        return seen

    assert list(reversed(made)) == await walk(as_visitor(FRIEND))
    public = [u for n, u in enumerate(made) if n % 3]
    assert list(reversed(public)) == await walk({})
