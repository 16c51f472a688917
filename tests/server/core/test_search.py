"""Full-text search over posts (hearth.server.core.search) on real SQLite (FTS5 + triggers).

Every test takes `db`, so test_search_postgres.py runs them all again on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections

from hearth.server.core.db import connect, migrate
from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status
from hearth.server.core.search import MAX_WORDS, matching, search_words
from hearth.server.core.settings import Settings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Input that is query syntax in FTS5 or tsquery (or SQL), each of which must stay plain text.
ODD_INPUT = [
    '"',
    '"unbalanced',
    "NEAR(",
    "NEAR(kettle brew, 2)",
    "*",
    "kettle*",
    "-",
    "-kettle",
    "kettle OR nothing",
    "kettle AND",
    "NOT kettle",
    "^kettle",
    "body:kettle",
    "kettle:*",
    "kettle & | !",
    "(kettle",
    "\\",
    "'; DROP TABLE posts; --",
    "{kettle}",
    "kettle\x00",
    "\u200b",
    "",
]


async def found(text: str, **filters: Any) -> set[int]:
    return {post.id for post in await Post.filter(matching(text), **filters)}


async def sample_posts() -> dict[str, Post]:
    return {
        "note": await create_post(
            {"content": ["Brewing tea in the copper kettle"], "category": ["kitchen"]},
            published=T0,
        ),
        "article": await create_post(
            {
                "name": ["Lighthouse keepers"],
                "content": [{"html": "<p>A <em>stormy</em> night &amp; <a href='/x'>fog</a></p>"}],
                "summary": ["Notes from the coast"],
            },
            published=T0 + timedelta(hours=1),
        ),
        "photo": await create_post(
            {"photo": ["https://example.test/p.jpg"], "category": ["Sunsets", "travel"]},
            published=T0 + timedelta(hours=2),
        ),
    }


async def test_finds_posts_by_words_of_content_name_summary_and_tags(db: None) -> None:
    """A word of the content (plain or HTML), the name, the summary or a tag finds its post
    alone, whatever its case; words found nowhere find nothing."""
    posts = await sample_posts()
    ids = {name: post.id for name, post in posts.items()}
    assert await found("kettle") == {ids["note"]}
    assert await found("KITCHEN") == {ids["note"]}
    assert await found("lighthouse") == {ids["article"]}
    assert await found("stormy") == {ids["article"]}
    assert await found("fog") == {ids["article"]}
    assert await found("coast") == {ids["article"]}
    assert await found("sunsets") == {ids["photo"]}
    assert await found("travel") == {ids["photo"]}
    assert await found("volcano") == set()


async def test_every_word_must_match_and_the_last_one_may_be_a_prefix(db: None) -> None:
    """Words are ANDed; the last one also finds longer words it starts ("light" finds
    "Lighthouse"), the ones before it do not."""
    posts = await sample_posts()
    assert await found("copper kettle") == {posts["note"].id}
    assert await found("copper lighthouse") == set()
    assert await found("light") == {posts["article"].id}
    assert await found("light keepers") == set()
    assert await found("keepers light") == {posts["article"].id}


async def test_html_tags_and_entities_are_not_words(db: None) -> None:
    """HTML content is searched as text: tag and attribute names and entities find nothing."""
    await sample_posts()
    for word in ("em", "href", "amp"):
        assert await found(word) == set(), word


async def test_search_combines_with_other_filters_and_ordering(db: None) -> None:
    """`matching` is one more filter: it narrows a query with others, in its order."""
    older = await create_post({"content": ["harbour at dawn"]}, published=T0)
    newer = await create_post({"content": ["harbour at dusk"]}, published=T0 + timedelta(days=1))
    draft = await create_post({"content": ["harbour draft"]}, status=Status.DRAFT)
    query = Post.filter(matching("harbour")).order_by("-published")
    assert [post.id for post in await query.filter(status=Status.PUBLISHED)] == [
        newer.id,
        older.id,
    ]
    assert await found("harbour", status=Status.DRAFT) == {draft.id}
    assert await Post.filter(matching("harbour"), status=Status.PUBLISHED).count() == 2


async def test_index_follows_updates_made_by_save_and_by_bulk_update(db: None) -> None:
    """A changed text is found by its new words and no longer by its old ones, whether the
    post was saved or updated in bulk (no caller keeps the index)."""
    post = await create_post({"content": ["old wording here"], "category": ["before"]})
    post.properties = {"content": ["fresh phrasing"], "category": ["after"]}
    await post.save()
    assert await found("wording") == set()
    assert await found("before") == set()
    assert await found("phrasing") == {post.id}
    assert await found("after") == {post.id}
    await Post.filter(id=post.id).update(properties={"name": ["Renamed in bulk"]})
    assert await found("phrasing") == set()
    assert await found("renamed bulk") == {post.id}


async def test_deleted_posts_stay_findable_and_removed_rows_leave_the_index(db: None) -> None:
    """A deleted post (deleted_at set) is still found, so the admin can list and undelete it,
    and after undelete as before; a row removed from the table is gone from the index."""
    post = await create_post({"content": ["ephemeral thought"]})
    post.deleted_at = datetime.now(UTC)
    await post.save()
    assert await found("ephemeral") == {post.id}
    assert await found("ephemeral", deleted_at__isnull=True) == set()
    post.deleted_at = None
    await post.save()
    assert await found("ephemeral", deleted_at__isnull=True) == {post.id}
    await post.delete()
    assert await found("ephemeral") == set()
    again = await create_post({"content": ["unrelated"]})
    assert await found("ephemeral") == set()
    assert await found("unrelated") == {again.id}


@pytest.mark.parametrize("text", ODD_INPUT)
async def test_query_syntax_and_odd_input_are_plain_words(db: None, text: str) -> None:
    """Quotes, NEAR(, *, -, OR, column filters, SQL: never an error, only words are searched."""
    post = await create_post({"content": ["The kettle sings; nothing else."]})
    result = await found(text)
    words = search_words(text)
    if not words:
        assert result == set()
    elif all(word.lower() in {"kettle", "nothing", "near", "or", "and", "not"} for word in words):
        assert result <= {post.id}
    assert await Post.filter(id=post.id).exists()  # and the table is still there


async def test_odd_input_finds_what_its_words_find(db: None) -> None:
    """Punctuation around words is dropped rather than refused."""
    post = await create_post({"content": ["The kettle sings; nothing else."]})
    assert await found('"kettle"') == {post.id}
    assert await found("-kettle*") == {post.id}
    assert await found("NEAR(kettle sings)") == set()  # "near" is a word the post lacks
    assert await found("kettle: (sings)") == {post.id}


def test_search_words_keep_letters_and_digits_only() -> None:
    """Words are runs of letters and digits (any script), at most MAX_WORDS of them."""
    words = ["Tea", "time", "at", "5pm", "café", "東京"]
    assert search_words("Tea-time at 5pm, café; 東京!") == words
    assert search_words("' \" * - ( ) : ^ _") == []
    assert len(search_words("w " * 100)) == MAX_WORDS


async def test_search_is_one_parameter_never_sql(db: None) -> None:
    """The words reach the database as a bound parameter: the SQL text holds none of them."""
    sql = Post.filter(matching("kettle'); DROP TABLE posts; --")).sql(params_inline=False)
    assert "kettle" not in sql
    assert "DROP" not in sql


async def test_index_is_maintained_by_the_database_itself(db: None) -> None:
    """A post inserted with plain SQL, behind the ORM's back, is found too."""
    conn = connections.get("default")
    await create_post({"content": ["seed"]})
    seed = await Post.get(path__isnull=False)
    columns = (
        "path, short_code, h_type, properties, post_type, published, status, visibility,"
        " created_at, modified_at"
    )
    dialect = conn.capabilities.dialect
    numbered = (f"${n}" for n in range(1, 11))
    marks = ", ".join(["?"] * 10 if dialect == "sqlite" else numbered)
    properties = '{"content": ["smuggled marmalade"]}'
    await conn.execute_query(
        f"INSERT INTO posts ({columns}) VALUES ({marks})",  # noqa: S608 - fixed text
        [
            "2026/03/raw",
            "traw1",
            "entry",
            properties,
            "note",
            seed.published,
            "published",
            "public",
            seed.created_at,
            seed.modified_at,
        ],
    )
    raw = await Post.get(path="2026/03/raw")
    assert await found("marmalade") == {raw.id}


async def check_migration_fills_index(settings: Settings) -> None:
    """Posts stored before migration 0010 are found once it has run."""
    await migrate(settings, target="models.0009_post_audience")
    async with connect(settings, run_migrations=False):
        old = await create_post({"content": ["written before search existed"]})
    await migrate(settings)
    async with connect(settings, run_migrations=False):
        assert await found("existed") == {old.id}
        new = await create_post({"content": ["written after"]})
        assert await found("written") == {old.id, new.id}


@pytest.mark.one_store
async def test_migration_fills_the_index_with_stored_posts(tmp_path: Path) -> None:
    """Upgrading a SQLite database indexes the posts it already has."""
    await check_migration_fills_index(Settings(data_dir=tmp_path / "upgrade"))
