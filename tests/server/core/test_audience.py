"""Audience URLs (hearth.server.core.audience), their rows, and who may see a post
(hearth.server.core.post_access)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from hearth.server.core import db
from hearth.server.core.audience import audience_urls, canonical_url
from hearth.server.core.models import Post, PostAudience
from hearth.server.core.post_access import Access, access_to, listed_for
from hearth.server.core.posts import create_post, set_property_rows
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.settings import Settings
from hearth.server.core.viewers import ANONYMOUS, Viewer

FRIEND = Viewer(me="https://friend.example/")
OWNER = Viewer(me="https://example.test/", owner=True)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("https://friend.example/", "https://friend.example/"),
        ("https://Friend.Example", "https://friend.example/"),
        ("  HTTPS://friend.example  ", "https://friend.example/"),
        ("friend.example", "https://friend.example/"),
        ("https://friend.example:443/", "https://friend.example/"),
        ("http://friend.example:80", "http://friend.example/"),
        ("https://friend.example:8443", "https://friend.example:8443/"),
        ("https://friend.example/Me?x=1#card", "https://friend.example/Me?x=1"),
        ("mailto:friend@example.test", None),
        ("https://user@friend.example/", None),
        ("https://friend example/", None),
        ("", None),
    ],
)
def test_canonical_url(raw: str, canonical: str | None) -> None:
    """IndieAuth §3.4 canonicalization, plus default ports dropped; path case is kept."""
    assert canonical == canonical_url(raw)


def test_audience_urls_from_strings_and_hcards() -> None:
    """Plain URLs and h-cards' url values count; names and other values do not."""
    properties = {
        "audience": [
            "https://A.example",
            {"type": ["h-card"], "properties": {"name": ["B"], "url": ["https://b.example/"]}},
            {"type": ["h-card"], "properties": {"name": ["No URL"]}, "value": "No URL"},
            {"type": ["h-card"], "properties": {}, "value": "https://c.example"},
            42,
        ]
    }
    expected = {"https://a.example/", "https://b.example/", "https://c.example/"}
    assert expected == audience_urls(properties)


async def _private(audience: list[str], status: Status = Status.PUBLISHED) -> Post:
    return await create_post(
        {"content": ["For some"], "visibility": ["private"], "audience": list(audience)},
        visibility=Visibility.PRIVATE,
        status=status,
        published=datetime(2026, 2, 1, tzinfo=UTC),
    )


async def _urls(post: Post) -> set[str]:
    return {str(url) for url in await PostAudience.filter(post=post).values_list("url", flat=True)}


async def test_rows_follow_the_property(db: None) -> None:
    """Created with the post, rewritten by `set_property_rows` after a change."""
    post = await _private(["https://Friend.example", "https://friend.example/"])
    assert {"https://friend.example/"} == await _urls(post)
    post.properties = {**post.properties, "audience": ["https://other.example"]}
    await post.save()
    await set_property_rows(post)
    assert {"https://other.example/"} == await _urls(post)


async def test_access_by_viewer(db: None) -> None:
    """Private: the owner and the audience; drafts: nobody; deleted public: gone."""
    private = await _private(["https://friend.example"])
    draft = await _private(["https://friend.example"], status=Status.DRAFT)
    assert Access.SHOW == await access_to(FRIEND, private)
    assert Access.SHOW == await access_to(OWNER, private)
    assert Access.NOT_FOUND == await access_to(ANONYMOUS, private)
    assert Access.NOT_FOUND == await access_to(Viewer(me="https://other.example/"), private)
    assert Access.NOT_FOUND == await access_to(OWNER, draft)
    # Published before it was deleted: one deleted before its time was never shown (404).
    public = await create_post({"content": ["Hi"]}, published=datetime(2026, 2, 1, tzinfo=UTC))
    public.deleted_at = datetime(2026, 3, 1, tzinfo=UTC)
    await public.save()
    assert Access.GONE == await access_to(FRIEND, public)
    private.deleted_at = public.deleted_at
    await private.save()
    assert Access.NOT_FOUND == await access_to(FRIEND, private)


async def test_listed_once_however_many_audience_rows(db: None) -> None:
    """A public post with an audience, and a shared private one, are each listed once."""
    public = await create_post(
        {"content": ["Open"], "audience": ["https://friend.example", "https://b.example"]}
    )
    private = await _private(["https://friend.example", "https://b.example"])
    assert [public.id, private.id] == [p.id for p in await listed_for(FRIEND).order_by("id")]
    assert [public.id] == [p.id for p in await listed_for(ANONYMOUS)]


@pytest.mark.one_store
async def test_migration_fills_rows_for_stored_private_posts(settings: Settings) -> None:
    """Upgrading a database from before the table gives its private posts their rows."""
    settings.ensure_dirs()
    await db.migrate(settings, target="models.0008_interaction")
    properties = {"content": ["Old"], "visibility": ["private"], "audience": ["Friend.example"]}
    with sqlite3.connect(settings.data_dir / "hearth.sqlite3") as connection:
        connection.execute(
            "INSERT INTO posts (path, short_code, h_type, properties, post_type, published,"
            " status, visibility, created_at, modified_at) VALUES ('2026/01/old', 'n01', 'entry',"
            " ?, 'note', '2026-01-01 00:00:00+00:00', 'published', 'private',"
            " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')",
            (json.dumps(properties),),
        )
    async with db.connect(settings):
        post = await Post.get(path="2026/01/old")
        assert {"https://friend.example/"} == await _urls(post)
        assert Access.SHOW == await access_to(FRIEND, post)
