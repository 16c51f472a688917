"""Showing responses (hearth.server.webmention.display and templates/_responses.html).

Issue 4 "Showing responses": replies as `p-comment h-cite` threaded under the post (author
h-card, time, link), likes and reposts as facepiles with counts, bookmarks and RSVPs
listed; only verified, approved, non-duplicate responses. The partial is rendered here on
its own, inside a bare h-entry, and read back with mf2py.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import mf2py
from starlette.applications import Starlette

from hearth.server.core.models import Approval, Interaction, InteractionState, Post
from hearth.server.core.posts import create_post
from hearth.server.webmention.display import Counts, counts_for, responses_for
from tests.server.webmention.receive_support import SITE, permalink

_ids = itertools.count(1)


async def stored(post: Post, kind: str = "reply", **values: Any) -> Interaction:
    """A verified, approved response to `post` (override any column with `values`)."""
    n = next(_ids)
    source = values.pop("source", f"https://person{n}.example/r/{n}")
    row: dict[str, Any] = {
        "source": source,
        "target": permalink(post),
        "post": post,
        "kind": kind,
        "source_target_hash": f"hash-{n}",
        "status_token": f"token-{n}",
        "domain": f"person{n}.example",
        "state": InteractionState.ACCEPTED,
        "approval": Approval.APPROVED,
        "author_name": f"Person {n}",
        "author_url": f"https://person{n}.example/",
        "url": source,
        "author_photo": f"{SITE}media/photo{n}.png",
        "published": datetime(2026, 5, 5, 10, n % 60, tzinfo=UTC),
        **values,
    }
    return await Interaction.create(**row)


def render(app: Starlette, responses: object) -> str:
    template = app.state.templates.env.get_template("_responses.html")
    html: str = template.render(responses=responses)
    return html


def parsed_entry(app: Starlette, responses: object) -> dict[str, list[Any]]:
    """The properties mf2py reads from the partial inside the post's h-entry."""
    html = f'<article class="h-entry"><p class="p-name">Post</p>{render(app, responses)}</article>'
    (item,) = mf2py.parse(doc=html, url=SITE)["items"]
    properties: dict[str, list[Any]] = item["properties"]
    return properties


async def test_only_accepted_approved_originals_are_shown(post: Post) -> None:
    """Pending, rejected, deleted, waiting, hidden and duplicate responses are left out."""
    shown = await stored(post)
    await stored(post, state=InteractionState.PENDING)
    await stored(post, state=InteractionState.REJECTED)
    await stored(post, state=InteractionState.DELETED)
    await stored(post, approval=Approval.WAITING)
    await stored(post, approval=Approval.HIDDEN)
    await stored(post, duplicate_of=shown)
    view = await responses_for(post)
    assert [shown.id] == [r.id for r in view.replies]
    assert Counts(replies=1) == view.counts


async def test_responses_are_grouped_by_kind(post: Post) -> None:
    """Each kind lands in its own list, counted."""
    for kind in ("reply", "like", "like", "repost", "bookmark", "mention"):
        await stored(post, kind)
    await stored(post, "rsvp", rsvp="yes")
    view = await responses_for(post)
    assert Counts(replies=1, likes=2, reposts=1, bookmarks=1, rsvps=1, mentions=1) == view.counts
    assert (1, 2, 1, 1, 1, 1) == tuple(
        len(x)
        for x in (view.replies, view.likes, view.reposts, view.bookmarks, view.rsvps, view.mentions)
    )
    assert 7 == view.counts.total


async def test_replies_are_threaded_oldest_first(post: Post) -> None:
    """Children sit under their parent; roots and children are in time order."""
    first = await stored(post, published=datetime(2026, 5, 1, tzinfo=UTC))
    second = await stored(post, published=datetime(2026, 5, 2, tzinfo=UTC))
    child = await stored(post, parent=first, published=datetime(2026, 5, 3, tzinfo=UTC))
    view = await responses_for(post)
    assert [first.id, second.id] == [r.id for r in view.replies]
    assert [child.id] == [c.id for c in view.replies[0].children]
    assert 3 == view.counts.replies


async def test_reply_whose_parent_is_not_shown_becomes_a_root(post: Post) -> None:
    """Hiding a parent does not hide its answers."""
    parent = await stored(post, approval=Approval.HIDDEN)
    child = await stored(post, parent=parent)
    assert [child.id] == [r.id for r in (await responses_for(post)).replies]


async def test_author_falls_back_to_the_domain(post: Post) -> None:
    """A response with no author name shows its domain."""
    await stored(
        post,
        author_name=None,
        author_url=None,
        author_photo=None,
        source="https://quiet.example/p/1",
        url=None,
    )
    author = (await responses_for(post)).replies[0].author
    assert ("quiet.example", None, None) == (author.name, author.url, author.photo)


async def test_counts_for_many_posts_in_one_go(app: Starlette, post: Post) -> None:
    """counts_for gives every post its counts, zero where nothing is shown."""
    other = await create_post({"content": ["Quiet"]})
    await stored(post, "like")
    await stored(post, "like")
    await stored(post, "reply")
    await stored(post, "like", approval=Approval.WAITING)
    counts = await counts_for([post, other])
    assert {post.id: Counts(likes=2, replies=1), other.id: Counts()} == counts


async def test_counts_for_no_posts(app: Starlette) -> None:
    """An empty page needs no query."""
    assert {} == await counts_for([])


async def test_partial_renders_nothing_without_responses(app: Starlette, post: Post) -> None:
    """No responses (or no `responses` variable at all): no markup."""
    assert "" == render(app, await responses_for(post)).strip()
    assert "" == render(app, None).strip()


async def test_reply_markup_is_a_p_comment_h_cite(app: Starlette, post: Post) -> None:
    """A reply reads back as comment h-cite: author h-card, url, published, content."""
    reply = await stored(
        post,
        content_html="<p>Nice <b>post</b></p>",
        content_text="Nice post",
        url="https://person.example/r/1",
    )
    (comment,) = parsed_entry(app, await responses_for(post))["comment"]
    props = comment["properties"]
    assert ["h-cite"] == comment["type"]
    assert ["https://person.example/r/1"] == props["url"]
    assert props["published"][0].startswith("2026-05-05T10:")
    assert "<b>post</b>" in props["content"][0]["html"]
    (author,) = props["author"]
    assert ["h-card"] == author["type"]
    assert [reply.author_name] == author["properties"]["name"]
    assert [reply.author_url] == author["properties"]["url"]
    assert [{"value": reply.author_photo, "alt": ""}] == author["properties"]["photo"]


async def test_threaded_reply_nests_inside_its_parent(app: Starlette, post: Post) -> None:
    """A child comment is a comment of its parent's h-cite, not of the post."""
    parent = await stored(post, content_text="Parent")
    await stored(post, content_text="Child", parent=parent)
    (comment,) = parsed_entry(app, await responses_for(post))["comment"]
    (child,) = comment["properties"]["comment"]
    assert ["Child"] == child["properties"]["content"]


async def test_likes_and_reposts_are_facepiles_with_counts(app: Starlette, post: Post) -> None:
    """u-like and u-repost h-cites with author h-cards; the headings count them."""
    await stored(post, "like", url="https://a.example/like/1")
    await stored(post, "like")
    await stored(post, "repost")
    view = await responses_for(post)
    props = parsed_entry(app, view)
    assert 2 == len(props["like"]) and 1 == len(props["repost"])
    like = props["like"][0]["properties"]
    assert ["https://a.example/like/1"] == like["url"]
    card = like["author"][0]["properties"]
    assert {"name", "url", "photo"} <= set(card)
    html = render(app, view)
    assert "2 likes" in html and "1 repost<" in html


async def test_rsvps_carry_their_value(app: Starlette, post: Post) -> None:
    """An RSVP is a comment h-cite with p-rsvp."""
    await stored(post, "rsvp", rsvp="maybe")
    (comment,) = parsed_entry(app, await responses_for(post))["comment"]
    assert ["maybe"] == comment["properties"]["rsvp"]
    assert "might go" in render(app, await responses_for(post))


async def test_bookmarks_and_mentions_are_listed(app: Starlette, post: Post) -> None:
    """Bookmarks and mentions are h-cites listed under the post, with their authors."""
    await stored(post, "bookmark", author_name="Booker")
    await stored(post, "mention", author_name="Mentioner", content_text="Look at this")
    html = render(app, await responses_for(post))
    assert "1 bookmark" in html and "Booker" in html
    assert "1 mention" in html and "Look at this" in html


XSS_NAME = '"><script>alert(1)</script>'


async def test_stored_xss_is_rendered_inert(app: Starlette, post: Post) -> None:
    """Even hostile stored values come out inert: content re-sanitized, text escaped."""
    await stored(
        post,
        author_name=XSS_NAME,
        author_url='https://x.example/"onmouseover="alert(2)',
        content_html='<p onclick="alert(3)">hi<script>alert(4)</script>'
        '<a href="javascript:alert(5)">x</a></p>',
    )
    await stored(post, "like", author_name=XSS_NAME)
    await stored(post, "mention", content_text="<img src=x onerror=alert(6)>")
    html = render(app, await responses_for(post))
    for bad in ("<script", "onclick", "javascript:", "<img src=x", '"onmouseover="'):
        assert bad not in html, bad
