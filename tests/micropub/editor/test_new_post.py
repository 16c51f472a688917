"""Writing new posts in the editor: what lands in the database and on the public page."""

from __future__ import annotations

import httpx
import pytest

from hearth.server.core.models import Post
from hearth.server.core.publication import Status, Visibility
from tests.micropub.editor.conftest import NEW, edit_path, only_post, submit


async def test_the_editor_page_has_every_field_and_button(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    page = await client.get(NEW)
    assert page.status_code == 200
    html = page.text
    for label in (
        "Title", "Content", "Photos", "Video", "Tags", "Reply to", "Like of", "Repost of",
        "Bookmark of", "Status", "Visibility", "Audience", "Published",
    ):  # fmt: skip
        assert f">{label}</label>" in html, label
    for button in ("Publish", "Save draft", "Preview", "Upload photos"):
        assert f">{button}</button>" in html, button
    assert "Europe/Paris" in html  # the zone beside the Published field
    assert 'name="csrf_token"' in html
    # The admin's navigation, and the way back to a new post.
    assert 'aria-label="Admin"' in html and 'href="/admin/posts/new"' in html
    # No inline script: only the site's own files (editor.js relabels the main button).
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get(NEW)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"


async def test_a_note_is_published_and_shown(client: httpx.AsyncClient, signed_in: str) -> None:
    response = await submit(
        client, NEW, signed_in, {"content": "Hello *world*", "action": "publish"}
    )
    assert response.status_code == 303
    post = await only_post()
    assert response.headers["location"] == f"{edit_path(post)}?done=published"
    assert post.post_type == "note"
    assert post.status == Status.PUBLISHED and post.visibility == Visibility.PUBLIC
    assert post.properties["content"] == [
        {"html": "<p>Hello <em>world</em></p>", "value": "Hello world", "markdown": "Hello *world*"}
    ]
    assert post.client_id == "https://example.test/admin/posts/new"
    page = await client.get("/" + post.path)
    assert page.status_code == 200
    assert '<div class="e-content" dir="auto"><p>Hello <em>world</em></p></div>' in page.text
    editor = await client.get(response.headers["location"])
    assert "Published." in editor.text and f'href="https://example.test/{post.path}"' in editor.text


async def test_an_article_has_its_title(client: httpx.AsyncClient, signed_in: str) -> None:
    fields = {"name": "On hearths", "content": "Fire is *warm*.", "action": "publish"}
    await submit(client, NEW, signed_in, fields)
    post = await only_post()
    assert post.post_type == "article"
    assert post.properties["name"] == ["On hearths"]
    assert post.path.endswith("/on-hearths")
    page = await client.get("/" + post.path)
    assert '<h1 class="p-name" dir="auto">On hearths</h1>' in page.text


async def test_tags_are_stored_and_suggested(client: httpx.AsyncClient, signed_in: str) -> None:
    fields = {"content": "Tagged", "category": "IndieWeb, cooking , indieweb,", "action": "publish"}
    await submit(client, NEW, signed_in, fields)
    post = await only_post()
    assert post.properties["category"] == ["IndieWeb", "cooking", "indieweb"]
    page = await client.get("/" + post.path)
    assert 'class="p-category" href="https://example.test/tag/cooking"' in page.text
    editor = await client.get(NEW)
    assert '<datalist id="tag-suggestions">' in editor.text
    assert '<option value="cooking">' in editor.text and '<option value="indieweb">' in editor.text


async def test_save_draft_keeps_it_off_the_site(client: httpx.AsyncClient, signed_in: str) -> None:
    response = await submit(client, NEW, signed_in, {"content": "Not yet", "action": "draft"})
    post = await only_post()
    assert response.headers["location"].endswith("?done=draft")
    assert post.status == Status.DRAFT
    assert post.properties["post-status"] == ["draft"]
    assert (await client.get("/" + post.path)).status_code == 404
    editor = await client.get(edit_path(post))
    assert ">Publish</button>" in editor.text  # a draft is published, not updated


async def test_private_post_with_its_audience(client: httpx.AsyncClient, signed_in: str) -> None:
    fields = {
        "content": "Just for you",
        "visibility": "private",
        "audience": "https://Friend.example\r\nhttps://other.example/me\r\n",
        "action": "publish",
    }
    await submit(client, NEW, signed_in, fields)
    post = await only_post()
    assert post.visibility == Visibility.PRIVATE
    assert post.properties["audience"] == ["https://Friend.example", "https://other.example/me"]
    rows = await post.audience_rows.all().values_list("url", flat=True)
    assert sorted(rows) == ["https://friend.example/", "https://other.example/me"]
    # The owner sees it; a signed-out visitor gets the 404 of a page that does not exist.
    assert (await client.get("/" + post.path)).status_code == 200
    client.cookies.clear()
    assert (await client.get("/" + post.path)).status_code == 404


async def test_unlisted(client: httpx.AsyncClient, signed_in: str) -> None:
    fields = {"content": "By its address", "visibility": "unlisted", "action": "publish"}
    await submit(client, NEW, signed_in, fields)
    post = await only_post()
    assert post.visibility == Visibility.UNLISTED
    assert "By its address" not in (await client.get("/")).text


@pytest.mark.parametrize("prop", ["like-of", "repost-of", "bookmark-of", "in-reply-to"])
async def test_responses_of_a_url(client: httpx.AsyncClient, signed_in: str, prop: str) -> None:
    target = "https://elsewhere.example/2026/a-post"
    fields = {prop: target, "action": "publish"}
    if prop == "in-reply-to":
        fields["content"] = "Indeed."
    await submit(client, NEW, signed_in, fields)
    post = await only_post()
    expected = {"like-of": "like", "repost-of": "repost", "bookmark-of": "bookmark"}
    assert post.post_type == expected.get(prop, "reply")
    assert post.properties[prop] == [target]
    page = await client.get("/" + post.path)
    assert f'href="{target}"' in page.text


async def test_nothing_to_post_is_micropubs_own_error(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    response = await submit(client, NEW, signed_in, {"content": "  ", "action": "publish"})
    assert response.status_code == 400
    assert "nothing to post: the request has no properties" in response.text
    assert await Post.all().count() == 0


async def test_the_posts_page_links_to_a_new_post(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    page = await client.get("/admin/")
    assert '<a href="/admin/posts/new">New post</a>' in page.text
