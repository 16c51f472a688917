"""Every page Hearth serves is valid HTML to the Nu HTML Checker (vnu).

One site per module, filled through the real app over ASGI: every post type (the golden
Micropub requests of test_render_golden, stored as the endpoint stores them, and more posts
sent to the Micropub endpoint itself), responses of every kind on a post, webmentions in each
state (one received by the real endpoint), a moderation queue, domain rules, failed outgoing
webmentions, jobs that died, tokens, and an Instagram account with media. The public pages,
the admin in its states (signed out, empty, filled, Instagram not configured and connected,
its error pages) and the webmention status pages are collected on the way, then checked with
ONE vnu run (the JVM takes a second or two to start) whose errors each test reads back.

The collection runs on its own event loop in a module-scoped fixture (as `migrated_sqlite`
does), so no Tortoise state crosses into other tests. Without Java or the npm tools the vnu
tests are skipped, saying what to install; the collection itself still runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from argon2 import PasswordHasher
from starlette.datastructures import Secret

from hearth.app import create_app
from hearth.server.admin import passwords, set_password
from hearth.server.contexts import LinkContext
from hearth.server.contexts.jobs import store as store_context
from hearth.server.core.models import (
    Approval,
    DomainRule,
    Interaction,
    InteractionState,
    Job,
    JobState,
    OutgoingWebmention,
    Post,
    Token,
)
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.server.core.tokens import mint_token
from hearth.server.indieauth.tables import VisitorSession
from hearth.syndication.instagram.silo_settings import InstagramSettings
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia
from tests.nodetools import parse_mf2_js, require_node_mf2, require_vnu, vnu_errors
from tests.server.core.test_render_golden import CASES, publish

BASE_URL = "https://example.test/"
PASSWORD = "correct horse battery staple"
# The fake Graph API's address: an IP literal, so the guarded client needs no DNS.
INSTAGRAM_API = "http://127.0.0.1:9"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_REL = re.compile(r'<a rel="(next|prev)" href="([^"]+)"')

# Every page the collection fetches, by name: "family: state". The tests are parametrized
# over these, so a page that stops being collected is a failure, not a silently missing test.
PUBLIC = [
    "home: empty site",
    "home: first page",
    "home: older page",
    "home: oldest page",
    "home: edited h-card",
    "tag: posts",
    "tag: no posts",
    "short link: its target",
    "permalink: Micropub JSON article with HTML",
    "permalink: Micropub form note with tags",
    "permalink: unlisted note",
    "permalink: a client's sloppy values",
    "permalink: responses of every kind and Instagram likes",
    "permalink: reply with a fetched context",
    "tags: every tag with its count",
    "webmention form: sent",
    "webmention form: refused",
    *(f"permalink: {case.name}" for case in CASES),
    "error: 404 no such page",
    "error: 404 draft",
    "error: 404 private post",
    "error: 410 deleted post",
    "error: 400 bad page cursor",
    "error: 404 no such media file",
    "error: 404 no such webmention status",
    "home: signed-in visitor",
    "signin: form",
    "signin: invalid address",
    "signin: failed, not started here",
    "signin: client page",
]
WEBMENTION_STATUS = [
    "webmention status: pending",
    "webmention status: accepted and shown",
    "webmention status: accepted, waiting for approval",
    "webmention status: accepted, hidden",
    "webmention status: rejected",
    "webmention status: deleted",
    "webmention status: sloppy source URL",
]
ADMIN = [
    "admin: sign-in, no password set",
    "admin: sign-in",
    "admin: sign-in, wrong password",
    "admin: sign-in, form expired",
    "admin: posts, empty site",
    "admin: silos, Instagram not configured",
    "admin: posts, filled",
    "admin: responses, filled",
    "admin: responses, waiting for approval",
    "admin: responses, rejected",
    "admin: jobs, filled",
    "admin: apps and tokens, filled",
    "admin: profile, filled",
    "admin: silos, Instagram connected",
    "admin: profile, notice",
    "admin: dashboard, profile saved",
    "admin: silos, Instagram token expired and paused",
    "admin: dashboard, profile rejected",
    "admin: error, no such token",
    "admin: error, not a domain rule",
    "admin: error, no such webmention",
    "admin: forbidden, no CSRF token",
    "instagram: setup, no app settings",
    "instagram: poll, no account",
    "instagram: poll, token expired",
    "instagram: sign-in not started here",
    "instagram: cancelled on Instagram",
    "instagram: error from Instagram",
    "instagram: no code",
    "instagram: code refused by Instagram",
]
PAGES = PUBLIC + WEBMENTION_STATUS + ADMIN
# Content as an editor such as Quill sends it.
# What a careless client may send: URLs with spaces, dates that are not dates, a long
# fraction of a second, an img without alt and a time element in the content.
SLOPPY_PROPERTIES = {
    "name": ["Sloppy event"],
    "content": [
        {"html": '<p><img src="/media/a b.png"> on <time datetime="yesterday">yesterday</time></p>'}
    ],
    "photo": ["https://photos.example/my photo.jpg"],
    "syndication": ["https://elsewhere.example/a post|1"],
    "bookmark-of": ["not a url"],
    "published": ["2026-05-04T10:00:00.123456+02:00"],
    "start": ["June 1st"],
    "end": ["2026-06-02T10:00:00.5+0200"],
}
ARTICLE_HTML = (
    "<p>Hello <strong>world</strong> &amp; <a href='/tag/indieweb'>friends</a>.</p>"
    "<ul><li>one</li><li>two</li></ul><blockquote><p>Quoted</p></blockquote>"
    "<pre><code>code()</code></pre><p><img src='/media/x.png' alt='An x'></p>"
)


@dataclass(frozen=True)
class Page:
    """One collected page: where it was and what it answered."""

    path: str
    status: int
    html: str


class Site:
    """A client on the app that keeps each page it fetches under a name."""

    def __init__(self, client: httpx.AsyncClient, pages: dict[str, Page]) -> None:
        self.client = client
        self.pages = pages

    def keep(self, name: str, response: httpx.Response, status: int = 200) -> str:
        assert name in PAGES, f"{name!r} is not in PAGES"
        assert name not in self.pages, f"{name!r} collected twice"
        path = response.request.url.raw_path.decode()
        assert status == response.status_code, f"{name}: {path} answered {response.status_code}"
        assert response.headers["content-type"].startswith("text/html"), (name, path)
        self.pages[name] = Page(path, response.status_code, response.text)
        return response.text

    async def get(self, name: str, path: str, status: int = 200, **options: Any) -> str:
        return self.keep(name, await self.client.get(path, **options), status)

    async def post(self, name: str, path: str, status: int, data: Mapping[str, str]) -> str:
        return self.keep(name, await self.client.post(path, data=data), status)

    async def sign_in(self) -> str:
        """Sign in with the password; returns the session's CSRF token."""
        form = (await self.client.get("/admin/login")).text
        answer = await self.client.post(
            "/admin/login", data={"csrf_token": csrf_in(form), "password": PASSWORD}
        )
        assert 303 == answer.status_code, answer.text
        return csrf_in((await self.client.get("/admin/")).text)


def csrf_in(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def rel_link(html: str, rel: str) -> str:
    found = dict(_REL.findall(html))
    assert rel in found, f"no rel={rel} link in the pager"
    return found[rel].replace("&amp;", "&")


def fake_graph_api(request: httpx.Request) -> httpx.Response:
    """Instagram refusing a code, as it does a used one (the only call the pages make)."""
    if request.url.path == "/oauth/access_token":
        error = {
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "Matching code was not found or was already used",
        }
        return httpx.Response(400, json=error)
    return httpx.Response(404, json={"error": {"message": "not faked", "code": 100}})


_ids = itertools.count(1)


async def response(post: Post, kind: str = "reply", **values: Any) -> Interaction:
    """A received response to `post`, verified and approved unless `values` say otherwise."""
    n = next(_ids)
    source = values.pop("source", f"https://person{n}.example/r/{n}")
    row: dict[str, Any] = {
        "source": source,
        "target": BASE_URL + post.path,
        "post": post,
        "kind": kind,
        "source_target_hash": f"hash-{n}",
        "status_token": f"status-token-{n}",
        "domain": f"person{n}.example",
        "state": InteractionState.ACCEPTED,
        "approval": Approval.APPROVED,
        "author_name": f"Person <{n}>",
        "author_url": f"https://person{n}.example/",
        "url": source,
        "author_photo": f"{BASE_URL}media/avatar{n}.png",
        "published": datetime(2026, 5, 5, 10, n % 60, tzinfo=UTC),
        "verified_at": datetime(2026, 5, 5, 11, n % 60, tzinfo=UTC),
        **values,
    }
    return await Interaction.create(**row)


async def micropub(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> str:
    """Create a post through the Micropub endpoint; returns its path."""
    headers = {"Authorization": f"Bearer {token}"}
    if "type" in body:  # a JSON create; a form create has "h"
        answer = await client.post(
            "/micropub",
            content=orjson.dumps(body),
            headers={**headers, "Content-Type": "application/json"},
        )
    else:
        answer = await client.post("/micropub", data=body, headers=headers)
    assert answer.status_code in (201, 202), answer.text
    return urlsplit(answer.headers["location"]).path


async def fill_responses(post: Post) -> None:
    """Responses of every kind on `post`: threaded replies, facepiles, RSVPs, mentions."""
    first = await response(post, content_html="<p>Nice <em>post</em>!</p>")
    await response(post, parent=first, content_text="Agreed & more.")
    await response(
        post, author_name=None, author_url=None, author_photo=None, url=None, published=None
    )
    for kind in ("like", "like", "repost", "bookmark", "mention"):
        await response(post, kind, content_text="It links here")
    await response(post, "like", author_photo=None)
    await response(post, "rsvp", rsvp="yes")
    await response(post, "rsvp", rsvp="interested", author_photo=None)
    # A sloppy page: a space and "|" left in its links (browsers follow them; HTML does not
    # allow them in href). Verification stores them as the page has them.
    await response(
        post,
        source="https://sloppy.example/notes/a reply|1",
        author_url="https://sloppy.example/about me",
        content_html='<p>See <a href="https://sloppy.example/a b?q=[1]">this</a></p>',
    )
    await response(post, "like", source="https://sloppy.example/likes/a like")


async def fill_admin(post: Post, deleted: Post) -> None:
    """What the dashboard's sections list: queue, rules, failed sends, jobs, tokens."""
    await response(post, approval=Approval.WAITING, content_text="Please approve me")
    await response(post, "like", approval=Approval.WAITING, author_url=None, url=None)
    await DomainRule.create(domain="spam.example", rule="block")
    await DomainRule.create(domain="friend.example", rule="allow")
    await OutgoingWebmention.create(
        post=post,
        target="https://elsewhere.example/a?b=1&c=2",
        target_hash="t1",
        state="failed",
        status_code=500,
        last_error="endpoint answered 500 <oops>",
    )
    await OutgoingWebmention.create(
        post=deleted,
        target="https://down.example/a page",
        target_hash="t2",
        state="failed",
        last_error="connect timeout",
    )
    now = datetime.now(UTC)
    await Job.create(kind="websub.ping", idempotency_key="k1", run_at=now)
    await Job.create(
        kind="webmention.send",
        idempotency_key="k2",
        run_at=now,
        state=JobState.DEAD,
        attempts=8,
        last_error="target answered 500 <oops> & gave up",
    )
    await Job.create(
        kind="instagram.import",
        idempotency_key="k3",
        run_at=now,
        state=JobState.QUEUED,
        attempts=2,
        last_error="broken file: photo.jpg",
    )
    await mint_token(me=BASE_URL, scope="create", expires_at=now - timedelta(days=1))
    await Token.create(token_hash="b" * 64, prefix="gone5678", me=BASE_URL, revoked_at=now)


async def fill_instagram(copied: Post) -> None:
    """A connected account and media in each copy and comment state."""
    await InstagramAccount.create(
        user_id="17841400000000001",
        username="alice.example",
        access_token="IGQVJ-secret",
        token_expires_at=datetime(2026, 7, 1, 9, 30, tzinfo=UTC),
        last_polled_at=datetime(2026, 5, 5, 8, 0, tzinfo=UTC),
    )
    await InstagramMedia.create(
        media_id="m1",
        post=copied,
        permalink="https://www.instagram.com/p/AAA111/",
        media_type="IMAGE",
        timestamp=datetime(2026, 5, 4, 12, 0, tzinfo=UTC),
        copy_state="copied",
        comment_id="c1",
        comment_short_code="t5my1",
        comments_polled_at=datetime(2026, 5, 5, 8, 0, tzinfo=UTC),
        like_count=42,
    )
    await InstagramMedia.create(
        media_id="m2",
        permalink="https://www.instagram.com/p/BBB222/",
        timestamp=datetime(2026, 5, 3, 12, 0, tzinfo=UTC),
        copy_state="failed",
        last_error="Image fetch failed <404>",
        comment_id="posting:1770000000",
    )
    await InstagramMedia.create(media_id="m3", copy_state="pending")


async def status_pages(site: Site, post: Post) -> None:
    """The webmention status page in each state; the pending one from the real endpoint."""
    client = site.client
    sent = await client.post(
        "/webmention", data={"source": "https://bob.example/r/1", "target": BASE_URL + post.path}
    )
    assert 201 == sent.status_code, sent.text
    await site.get("webmention status: pending", urlsplit(sent.headers["location"]).path)
    states: list[tuple[str, dict[str, Any]]] = [
        ("webmention status: accepted and shown", {}),
        ("webmention status: accepted, waiting for approval", {"approval": Approval.WAITING}),
        ("webmention status: accepted, hidden", {"approval": Approval.HIDDEN}),
        (
            "webmention status: rejected",
            {"state": InteractionState.REJECTED, "reason": "the source does not link to <it>"},
        ),
        (
            "webmention status: deleted",
            {"state": InteractionState.DELETED, "reason": "the source is gone (HTTP 410)"},
        ),
    ]
    for name, values in states:
        row = await response(post, "mention", **values)
        await site.get(name, f"/webmention/status/{row.status_token}")
    sloppy = await response(post, "mention", source="https://bob.example/a|b^c")
    await site.get(
        "webmention status: sloppy source URL", f"/webmention/status/{sloppy.status_token}"
    )
    await site.get("error: 404 no such webmention status", "/webmention/status/nope", 404)


async def public_pages(site: Site, token: str) -> dict[str, Post]:
    """Posts of every type, then the public pages; returns the posts the admin part uses."""
    client = site.client
    for case in CASES:
        post = await publish(case)
        await site.get(f"permalink: {case.name}", "/" + post.path)
    article = await micropub(
        client,
        token,
        {
            "type": ["h-entry"],
            "properties": {
                "name": ["An article with HTML"],
                "content": [{"html": ARTICLE_HTML}],
                "category": ["indieweb", "Two Words"],
            },
        },
    )
    await site.get("permalink: Micropub JSON article with HTML", article)
    note = await micropub(
        client,
        token,
        {
            "h": "entry",
            "content": "A note with <angle brackets> & tags\n\nand a second line",
            "category[]": ["indieweb", "café"],
        },
    )
    await site.get("permalink: Micropub form note with tags", note)
    # The post with responses of every kind; the Instagram media copied to it adds likes.
    discussed = await create_post(
        {"name": ["Discussed"], "content": ["Say something"], "category": ["indieweb"]},
        published=datetime(2026, 5, 4, tzinfo=UTC),
    )
    await fill_responses(discussed)
    sloppy = await micropub(client, token, {"type": ["h-event"], "properties": SLOPPY_PROPERTIES})
    await site.get("permalink: a client's sloppy values", sloppy)
    unlisted = await create_post({"content": ["Unlisted"]}, visibility=Visibility.UNLISTED)
    await site.get("permalink: unlisted note", "/" + unlisted.path)
    draft = await create_post({"content": ["Draft"]}, status=Status.DRAFT)
    private = await create_post({"content": ["Private"]}, visibility=Visibility.PRIVATE)
    gone_path = await micropub(client, token, {"h": "entry", "content": "Soon deleted"})
    deleted = await Post.get(path=gone_path.lstrip("/"))
    answer = await client.post(
        "/micropub",
        data={"action": "delete", "url": BASE_URL + deleted.path},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code in (200, 204), answer.text
    await deleted.refresh_from_db()
    await fill_instagram(discussed)
    await site.get("permalink: responses of every kind and Instagram likes", "/" + discussed.path)
    await context_pages(site, discussed)

    home = await site.get("home: first page", "/")
    older = await site.get("home: older page", rel_link(home, "next"))
    link = rel_link(older, "next")
    while 'rel="next"' in (html := (await client.get(link)).text):  # to the last page
        link = rel_link(html, "next")
    await site.get("home: oldest page", link)
    await site.get("tag: posts", "/tag/indieweb")
    await site.get("tag: no posts", "/tag/nothing-here")
    await site.get("short link: its target", f"/s/{discussed.short_code}", follow_redirects=True)
    await site.get("error: 404 no such page", "/no/such/page", 404)
    await site.get("error: 404 draft", "/" + draft.path, 404)
    # The owner (signed in on this client) sees private posts; a reader without a session
    # gets the 404.
    owner_cookies, client.cookies = client.cookies, httpx.Cookies()
    await site.get("error: 404 private post", "/" + private.path, 404)
    client.cookies = owner_cookies
    await site.get("error: 410 deleted post", "/" + deleted.path, 410)
    await site.get("error: 400 bad page cursor", "/?before=not-a-cursor", 400)
    await site.get("error: 404 no such media file", "/media/nothing-here.png", 404)
    return {"discussed": discussed, "deleted": deleted}


async def context_pages(site: Site, discussed: Post) -> None:
    """A reply whose target's context was fetched, the tags page, the webmention form's
    answers (a browser asks for HTML)."""
    target = "https://bob.example/2026/05/a post"
    await store_context(
        LinkContext(
            url=target.replace(" ", "%20"),
            name="Bob's <post> & more",
            author_name="Bob <B>",
            author_url="https://bob.example/",
            snippet="Tomatoes love sun & water. " * 9 + "…",
            published="2026-05-01T10:00:00+0200",
        )
    )
    reply = await create_post({"in-reply-to": [target], "content": ["Mine too"]})
    html = await site.get("permalink: reply with a fetched context", "/" + reply.path)
    assert 'class="u-in-reply-to h-cite"' in html and "Bob&#39;s &lt;post&gt;" in html
    await site.get("tags: every tag with its count", "/tags")
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for name, source, status in (
        ("webmention form: sent", "https://bob.example/r/form", 201),
        ("webmention form: refused", "my blog", 400),
    ):
        data = {"source": source, "target": BASE_URL + discussed.path}
        site.keep(name, await site.client.post("/webmention", data=data, headers=browser), status)


async def instagram_connect_pages(site: Site) -> None:
    """The error pages of Connect Instagram's callback."""
    client = site.client

    async def state() -> str:
        start = await client.get("/admin/instagram/connect")
        assert 303 == start.status_code, start.text
        return parse_qs(urlsplit(start.headers["location"]).query)["state"][0]

    callback = "/admin/instagram/callback"
    await site.get(
        "instagram: sign-in not started here",
        callback,
        400,
        params={"code": "AQB", "state": "forged"},
    )
    await site.get(
        "instagram: cancelled on Instagram",
        callback,
        params={"error": "access_denied", "error_reason": "user_denied", "state": await state()},
    )
    await site.get(
        "instagram: error from Instagram",
        callback,
        400,
        params={"error": "server_error", "state": await state()},
    )
    await site.get("instagram: no code", callback, 400, params={"state": await state()})
    await site.get(
        "instagram: code refused by Instagram",
        callback,
        400,
        params={"code": "AQBused#_", "state": await state()},
    )


async def signin_pages(site: Site) -> None:
    """Visitor sign-in: the form, its errors, the client page, a signed-in visitor's footer."""
    client = site.client
    form = await site.get("signin: form", "/signin")
    await site.post(
        "signin: invalid address",
        "/signin",
        400,
        {"csrf_token": csrf_in(form), "me": "mailto:bob@bob.example"},
    )
    await site.get(
        "signin: failed, not started here",
        "/signin/callback",
        400,
        params={"code": "abc", "state": "forged"},
    )
    await site.get("signin: client page", "/indieauth/client", headers={"Accept": "text/html"})
    await VisitorSession.create(
        id_hash=hashlib.sha256(b"visitor-session").hexdigest(),
        me="https://bob.example/",
        name="Bob <Visitor>",
        photo="https://bob.example/me photo.jpg",
        csrf_token="visitor-csrf",
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    client.cookies.set("hearth_visitor", "visitor-session", domain="example.test")
    await site.get("home: signed-in visitor", "/")
    client.cookies.delete("hearth_visitor")


async def collect(data_dir: Path) -> dict[str, Page]:
    """Build the site and fetch every page in PAGES."""
    pages: dict[str, Page] = {}
    bare = Settings(
        url=BASE_URL,
        data_dir=data_dir,
        name="Alice <Example>",
        photo="https://example.test/alice.jpg",
        note="Writes things & more.",
        page_size=5,
    )
    # First without Instagram app settings: an empty site, sign-in, "not configured".
    app = create_app(bare)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        site = Site(client, pages)
        await site.get("home: empty site", "/")
        await signin_pages(site)
        await site.get("admin: sign-in, no password set", "/admin/login")
        await set_password(PASSWORD)
        form = await site.get("admin: sign-in", "/admin/login")
        await site.post(
            "admin: sign-in, wrong password",
            "/admin/login",
            401,
            {"csrf_token": csrf_in(form), "password": "wrong"},
        )
        await site.post(
            "admin: sign-in, form expired",
            "/admin/login",
            403,
            {"csrf_token": "forged", "password": PASSWORD},
        )
        await site.sign_in()
        await site.get("admin: posts, empty site", "/admin/")
        await site.get("admin: silos, Instagram not configured", "/admin/silos")
        await site.get("instagram: setup, no app settings", "/admin/instagram/connect")

    # Then with them, against a fake Graph API: everything else.
    settings = dataclasses.replace(
        bare,
        sections=(
            InstagramSettings(
                api_url=INSTAGRAM_API, app_id="1234567890", app_secret=Secret("app-secret")
            ),
        ),
        allowed_private_networks=ALL_NETWORKS,
    )
    app = create_app(settings, http_transport=httpx.MockTransport(fake_graph_api))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        site = Site(client, pages)
        csrf = await site.sign_in()
        await site.post(
            "instagram: poll, no account", "/admin/instagram/poll", 409, {"csrf_token": csrf}
        )
        await instagram_connect_pages(site)
        secret, _ = await mint_token(
            me=BASE_URL,
            scope="create update delete undelete media",
            client_id="https://quill.example/",
        )
        posts = await public_pages(site, secret)
        await status_pages(site, posts["discussed"])
        await fill_admin(posts["discussed"], posts["deleted"])
        for page in ("posts", "responses", "jobs", "apps and tokens", "profile"):
            await site.get(f"admin: {page}, filled", "/admin/" + page.split()[0])
        await site.get("admin: responses, waiting for approval", "/admin/responses?state=waiting")
        await site.get("admin: responses, rejected", "/admin/responses?state=rejected")
        await site.get("admin: silos, Instagram connected", "/admin/silos")
        await site.get("admin: profile, notice", "/admin/profile?done=profile")
        await site.post(
            "admin: dashboard, profile rejected",
            "/admin/hcard",
            400,
            {"csrf_token": csrf, "name": "X" * 300, "photo": "/relative.jpg", "note": ""},
        )
        await site.post(
            "admin: error, no such token", "/admin/tokens/999/revoke", 404, {"csrf_token": csrf}
        )
        await site.post(
            "admin: error, not a domain rule",
            "/admin/webmentions/rules",
            400,
            {"csrf_token": csrf, "domain": "not a domain", "rule": "block"},
        )
        await site.post(
            "admin: error, no such webmention",
            "/admin/webmentions/999/approve",
            404,
            {"csrf_token": csrf},
        )
        await site.post("admin: forbidden, no CSRF token", "/admin/logout", 403, {})
        await InstagramAccount.all().update(
            token_state="expired",
            last_error="The token expired <reconnect> & carry on",
            paused_until=datetime.now(UTC) + timedelta(hours=1),
        )
        await site.get("admin: silos, Instagram token expired and paused", "/admin/silos")
        await site.post(
            "instagram: poll, token expired", "/admin/instagram/poll", 409, {"csrf_token": csrf}
        )
        # The owner's own h-card, a photo URL with a space in it.
        saved = await client.post(
            "/admin/hcard",
            data={
                "csrf_token": csrf,
                "name": "Alice Q. <Example>",
                "photo": "https://example.test/my photo.jpg",
                "note": "Now & then.",
            },
        )
        assert 303 == saved.status_code, saved.text
        await site.get("admin: dashboard, profile saved", saved.headers["location"])
        await site.get("home: edited h-card", "/")
    return pages


@pytest.fixture(scope="module", name="pages")
def pages_fixture(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> dict[str, Page]:
    """Every page of PAGES, collected once per module on its own event loop."""
    data_dir = tmp_path_factory.mktemp("valid") / "data"
    data_dir.mkdir()
    shutil.copyfile(migrated_sqlite, data_dir / "hearth.sqlite3")
    with pytest.MonkeyPatch.context() as patch:
        # Cheap argon2id parameters (the production ones cost ~0.2 s a hash).
        patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        return asyncio.run(collect(data_dir))


@pytest.fixture(scope="module", name="vnu")
def vnu_fixture(pages: dict[str, Page]) -> dict[str, list[str]]:
    """vnu's errors in each page, from one run over all of them."""
    require_vnu()
    return vnu_errors({name: page.html for name, page in pages.items()})


def test_every_page_was_collected(pages: dict[str, Page]) -> None:
    """The collection fetched exactly the pages the validity tests are parametrized over."""
    assert sorted(PAGES) == sorted(pages)
    assert len(PAGES) == len(set(PAGES))


@pytest.mark.parametrize("name", PAGES)
def test_page_is_valid_html(pages: dict[str, Page], vnu: dict[str, list[str]], name: str) -> None:
    """The page has no vnu errors (warnings are allowed)."""
    errors = vnu[name]
    page = pages[name]
    assert not errors, (
        f"{name} ({page.path}, HTTP {page.status}): {len(errors)} vnu error(s):\n  "
        + "\n  ".join(errors)
    )


def test_node_mf2_parser_reads_the_home_page(pages: dict[str, Page]) -> None:
    """microformats-parser (Node) reads the home page's h-card and its h-feed of entries."""
    require_node_mf2()
    parsed = parse_mf2_js(pages["home: first page"].html, BASE_URL)
    types = [item["type"] for item in parsed["items"]]
    # The hidden h-app (Hearth as an IndieAuth client, for older servers) comes last.
    assert [["h-card"], ["h-feed"], ["h-app"]] == types
    assert ["Alice <Example>"] == parsed["items"][0]["properties"]["name"]
    entries = parsed["items"][1]["children"]
    assert 5 == len(entries)
    assert all(entry["type"][0] in ("h-entry", "h-event") for entry in entries)
    assert parsed["rels"]["next"]
