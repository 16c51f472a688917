"""The admin's Posts page (hearth.server.admin.posts_page), over ASGI with a signed-in owner:
50 posts a page walked by rel=next/rel=prev, filters, search, deleted posts and their forms.

test_search_postgres.py runs these again on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.tokens import mint_token
from tests.nodetools import require_vnu, vnu_errors

BASE_URL = "https://example.test/"
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
_ROW = re.compile(r'<a href="/admin/posts/(\d+)/edit">Edit')
_REL = re.compile(r'<a rel="(next|prev)" href="([^"]+)"')


def row_ids(page: str) -> list[int]:
    """The ids of the posts listed on a page, in order."""
    return [int(post_id) for post_id in _ROW.findall(page)]


def table_rows(page: str) -> list[str]:
    """The markup of each row of the list of posts (the first table)."""
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return body.split("<tr")[1:]


def rel_links(page: str) -> dict[str, str]:
    return {rel: html.unescape(href) for rel, href in _REL.findall(page)}


async def posts_page(client: httpx.AsyncClient, url: str = "/admin/posts") -> str:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.text


async def walk(client: httpx.AsyncClient, url: str) -> tuple[list[list[int]], list[str]]:
    """Follow rel=next from `url` to the end: the ids on each page and the pages' URLs."""
    pages: list[list[int]] = []
    urls: list[str] = []
    next_url: str | None = url
    while next_url is not None:
        page = await posts_page(client, next_url)
        pages.append(row_ids(page))
        urls.append(next_url)
        next_url = rel_links(page).get("next")
        assert len(pages) < 20, "paging does not end"
    return pages, urls


async def many_posts(count: int, **kwargs: Any) -> list[Post]:
    """`count` notes an hour apart, the newest last; every fifth shares its neighbour's time."""
    posts = []
    for n in range(count):
        hour = n - (n % 5 == 4)
        posts.append(
            await create_post(
                {"content": [f"Note number {n}"]}, published=T0 + timedelta(hours=hour), **kwargs
            )
        )
    return posts


async def test_pages_of_50_walk_every_post_exactly_once_both_ways(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """120 posts: rel=next walks 50, 50 and 20 of them, newest first, each once (ties on the
    date included); rel=prev walks back to the same pages; the ends have no link onwards."""
    posts = await many_posts(120)
    expected = [post.id for post in sorted(posts, key=lambda p: (p.published, p.id), reverse=True)]
    pages, urls = await walk(client, "/admin/posts")
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [post_id for page in pages for post_id in page] == expected
    first = await posts_page(client, "/admin/posts")
    assert "prev" not in rel_links(first)
    last = await posts_page(client, urls[-1])
    back = rel_links(last)["prev"]
    assert row_ids(await posts_page(client, back)) == pages[1]
    middle = await posts_page(client, back)
    assert row_ids(await posts_page(client, rel_links(middle)["prev"])) == pages[0]
    # The admin's front door is the same first page.
    assert row_ids(await posts_page(client, "/admin/")) == pages[0]


async def test_rows_show_title_type_status_visibility_date_and_links(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """A row has the title (or the start of the text), type, status, visibility and date,
    and links to the post's editor and permalink; the page links to the new-post editor."""
    article = await create_post(
        {"name": ["A titled article"], "content": ["Body"]}, published=T0, status=Status.DRAFT
    )
    note = await create_post(
        {"content": ["Just a note " + "long " * 30]},
        published=T0 + timedelta(hours=1),
        visibility=Visibility.UNLISTED,
    )
    page = await posts_page(client)
    assert '<a href="/admin/posts/new">New post</a>' in page
    rows = table_rows(page)
    assert f'<a href="{BASE_URL}{note.path}">Just a note long' in rows[0]
    assert "…</a>" in rows[0]
    assert "<td>note</td>" in rows[0] and "<td>published</td>" in rows[0]
    assert "<td>unlisted</td>" in rows[0]
    assert f'<a href="{BASE_URL}{article.path}">A titled article</a>' in rows[1]
    assert "<td>article</td>" in rows[1] and "<td>draft</td>" in rows[1]
    assert "<td>public</td>" in rows[1]
    assert '<time datetime="2025-01-01T12:00:00Z">2025-01-01 12:00</time>' in rows[1]
    assert f'<a href="/admin/posts/{article.id}/edit">Edit' in rows[1]
    assert "Undelete" not in "".join(rows)


async def test_deleted_posts_are_listed_marked_with_an_undelete_form(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """A deleted post stays in the list, marked deleted, with a POST form to its undelete
    route carrying the session's CSRF token; live posts have none."""
    live = await create_post({"content": ["still here"]}, published=T0)
    gone = await create_post({"content": ["gone now"]}, published=T0 + timedelta(hours=1))
    gone.deleted_at = datetime.now(UTC)
    await gone.save()
    page = await posts_page(client)
    assert row_ids(page) == [gone.id, live.id]
    deleted_row, live_row = table_rows(page)
    assert deleted_row.startswith(' class="deleted">')
    assert '<strong class="deleted-mark">deleted</strong>' in deleted_row
    form = re.search(r'<form class="undelete" method="post" action="([^"]+)">(.*?)</form>',
                     deleted_row, re.S)  # fmt: skip
    assert form is not None
    assert form.group(1) == f"/admin/posts/{gone.id}/undelete"
    assert f'<input type="hidden" name="csrf_token" value="{signed_in}">' in form.group(2)
    assert '<button type="submit">Undelete' in form.group(2)
    assert "deleted" not in live_row and "undelete" not in live_row


async def test_filters_by_type_status_and_visibility(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Each select narrows the list; together they combine; deleted is a status of its own;
    an unknown value is ignored."""
    note = await create_post({"content": ["a note"]}, published=T0)
    article = await create_post({"name": ["An article"], "content": ["text"]}, published=T0)
    draft = await create_post({"content": ["a draft"]}, published=T0, status=Status.DRAFT)
    private = await create_post(
        {"content": ["a secret"]}, published=T0, visibility=Visibility.PRIVATE
    )
    deleted = await create_post({"name": ["Deleted article"], "content": ["x"]}, published=T0)
    deleted.deleted_at = datetime.now(UTC)
    await deleted.save()

    async def ids(query: str) -> set[int]:
        return set(row_ids(await posts_page(client, f"/admin/posts?{query}")))

    everything = {note.id, article.id, draft.id, private.id, deleted.id}
    assert await ids("") == everything
    assert await ids("type=article") == {article.id, deleted.id}
    assert await ids("status=draft") == {draft.id}
    assert await ids("status=published") == {note.id, article.id, private.id}
    assert await ids("status=deleted") == {deleted.id}
    assert await ids("visibility=private") == {private.id}
    assert await ids("type=note&status=published&visibility=public") == {note.id}
    assert await ids("type=article&status=deleted") == {deleted.id}
    assert await ids("type=nonsense&status=<b>&visibility=") == everything
    page = await posts_page(client, "/admin/posts?type=article&status=deleted")
    assert '<option value="article" selected>' in page
    assert '<option value="deleted" selected>' in page
    assert "1 post matches." in page


async def test_published_posts_due_later_show_and_filter_as_scheduled(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """A published post whose time is still to come reads "scheduled" and has a status
    option of its own; "published" lists only those whose time has come."""
    past = await create_post({"content": ["out already"]}, published=T0)
    future = datetime.now(UTC) + timedelta(days=3)
    later = await create_post({"content": ["comes later"]}, published=future)
    rows = table_rows(await posts_page(client))
    assert "<td>scheduled</td>" in rows[0] and f"/admin/posts/{later.id}/edit" in rows[0]
    assert "<td>published</td>" in rows[1]
    assert row_ids(await posts_page(client, "/admin/posts?status=scheduled")) == [later.id]
    assert row_ids(await posts_page(client, "/admin/posts?status=published")) == [past.id]


async def test_form_fields_are_labelled(client: httpx.AsyncClient, signed_in: str) -> None:
    """A GET search form: "Search posts" labels the search box, Type, Status and Visibility
    their selects."""
    page = await posts_page(client)
    assert '<form class="post-filters" method="get" action="/admin/posts" role="search">' in page
    for label, field_id, tag in [
        ("Search posts", "post-search", '<input type="search" id="post-search" name="q"'),
        ("Type", "post-type", '<select id="post-type" name="type">'),
        ("Status", "post-status", '<select id="post-status" name="status">'),
        ("Visibility", "post-visibility", '<select id="post-visibility" name="visibility">'),
    ]:
        assert f'<label for="{field_id}">{label}</label>' in page
        assert tag in page


async def test_search_finds_posts_by_content_name_and_tag(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """The search box finds a post by a word of its content, its name or a tag, and not the
    others; the box keeps the words."""
    by_content = await create_post({"content": ["Rhubarb crumble tonight"]})
    by_name = await create_post({"name": ["Gooseberry season"], "content": ["It is here"]})
    by_tag = await create_post({"content": ["Picked today"]}, published=T0)
    by_tag.properties = {**by_tag.properties, "category": ["elderflower"]}
    await by_tag.save()
    await create_post({"content": ["Nothing to see"]})
    for word, post in [("rhubarb", by_content), ("gooseberry", by_name), ("elderflower", by_tag)]:
        page = await posts_page(client, f"/admin/posts?q={word}")
        assert row_ids(page) == [post.id], word
        assert f'name="q" value="{word}"' in page
        assert "1 post matches." in page
    page = await posts_page(client, "/admin/posts?q=durian")
    assert row_ids(page) == []
    assert "No posts match." in page


async def test_search_follows_micropub_update_delete_and_undelete(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Through the real Micropub endpoint: after an update the old word finds nothing and the
    new one the post; deleted, it is still found, marked deleted; undeleted, found unmarked."""
    post = await create_post({"content": ["Quince jelly recipe"]})
    token, _ = await mint_token(me=BASE_URL, scope="update delete undelete")
    headers = {"Authorization": f"Bearer {token}"}
    url = BASE_URL + post.path

    async def micropub(body: dict[str, Any]) -> None:
        response = await client.post("/micropub", json=body, headers=headers)
        assert response.status_code in (200, 201, 204), response.text

    await micropub({"action": "update", "url": url, "replace": {"content": ["Medlar jam"]}})
    assert row_ids(await posts_page(client, "/admin/posts?q=quince")) == []
    assert row_ids(await posts_page(client, "/admin/posts?q=medlar")) == [post.id]
    await micropub({"action": "delete", "url": url})
    page = await posts_page(client, "/admin/posts?q=medlar")
    assert row_ids(page) == [post.id]
    assert f'action="/admin/posts/{post.id}/undelete"' in page
    await micropub({"action": "undelete", "url": url})
    page = await posts_page(client, "/admin/posts?q=medlar")
    assert row_ids(page) == [post.id]
    assert "undelete" not in page


async def test_odd_search_input_gives_a_normal_page(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """FTS5 and tsquery syntax, quotes, SQL and markup in the box: a 200 page that shows the
    text back escaped, never an error."""
    post = await create_post({"content": ["kettle song"]})
    for text in ['"', "NEAR(", "*", "-", "kettle*", '"kettle', "a OR b", "'; DROP TABLE posts;",
                 "<script>x</script>", "\\", "%", "x" * 5000]:  # fmt: skip
        response = await client.get("/admin/posts", params={"q": text})
        assert response.status_code == 200, text
        assert "<script>x" not in response.text
    assert row_ids(await posts_page(client, '/admin/posts?q="kettle')) == [post.id]
    page = await posts_page(client, "/admin/posts?q=*")
    assert row_ids(page) == []
    assert "No posts match." in page


async def test_bad_cursor_shows_the_first_page(client: httpx.AsyncClient, signed_in: str) -> None:
    """A cursor Hearth did not make is ignored rather than an error."""
    post = await create_post({"content": ["only post"]})
    for query in ["before=!!!", "after=bm9wZQ", "before=MS4x&after=MS4x", "before=" + "A" * 500]:
        assert row_ids(await posts_page(client, f"/admin/posts?{query}")) == [post.id], query


async def test_search_filters_and_paging_work_together(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Search plus a filter pages through exactly the matching posts, and the rel=next and
    rel=prev links keep both."""
    wanted = []
    for n in range(150):
        visibility = Visibility.PUBLIC if n % 4 else Visibility.UNLISTED
        words = "walnut harvest" if n % 3 else "almond harvest"
        post = await create_post(
            {"content": [f"{words} {n}"]},
            published=T0 + timedelta(minutes=n),
            visibility=visibility,
        )
        if visibility == Visibility.PUBLIC and words.startswith("walnut"):
            wanted.append(post.id)
    await create_post({"content": ["walnut"]}, status=Status.DRAFT)
    wanted.reverse()
    start = "/admin/posts?q=walnut+harv&visibility=public&status=published"
    pages, urls = await walk(client, start)
    assert [post_id for page in pages for post_id in page] == wanted
    assert [len(page) for page in pages] == [50, len(wanted) - 50]
    assert "q=walnut+harv" in urls[1] and "visibility=public" in urls[1]
    assert "status=published" in urls[1]
    last = await posts_page(client, urls[-1])
    back = rel_links(last)["prev"]
    assert "q=walnut+harv" in back and "visibility=public" in back
    assert row_ids(await posts_page(client, back)) == pages[0]
    assert f"{len(wanted)} posts match." in last


async def test_pages_in_every_state_are_valid_html(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """vnu finds no error in a middle page (both paging links) of a filtered search, in a
    search that matches nothing, or in a list with a deleted post."""
    require_vnu()
    await many_posts(110)
    gone = await create_post({"content": ["Note number gone"]}, published=T0)
    gone.deleted_at = datetime.now(UTC)
    await gone.save()
    first = await posts_page(client, "/admin/posts?q=note+numb&type=note&visibility=public")
    middle_url = rel_links(first)["next"]
    middle = await posts_page(client, middle_url)
    assert set(rel_links(middle)) == {"next", "prev"}
    documents = {
        "middle page": middle,
        "no match": await posts_page(client, "/admin/posts?q=%22NEAR(&status=draft"),
        "deleted": await posts_page(client, "/admin/posts?status=deleted"),
    }
    assert await asyncio.to_thread(vnu_errors, documents) == {name: [] for name in documents}
