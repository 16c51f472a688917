"""Editing any post: every property, only what changed; delete and undelete; CSRF."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status
from tests.micropub.editor.conftest import NEW, edit_path, editor_values, only_post, submit


async def open_values(client: httpx.AsyncClient, post: Post) -> dict[str, str]:
    page = await client.get(edit_path(post))
    assert page.status_code == 200
    values = editor_values(page.text)
    values.pop("csrf_token")
    return values


async def test_edit_changes_properties(client: httpx.AsyncClient, signed_in: str) -> None:
    await submit(
        client, NEW, signed_in, {"content": "First words", "category": "a", "action": "publish"}
    )
    post = await only_post()
    editor = await client.get(edit_path(post))
    assert ">Update</button>" in editor.text and "Edit post" in editor.text
    values = await open_values(client, post)
    assert values["content"] == "First words" and values["category"] == "a"
    changed = {**values, "name": "Now a title", "content": "Second words", "category": "b, c"}
    response = await submit(client, edit_path(post), signed_in, {**changed, "action": "publish"})
    assert response.headers["location"] == f"{edit_path(post)}?done=updated"
    await post.refresh_from_db()
    assert post.properties["name"] == ["Now a title"]
    assert post.properties["content"][0]["markdown"] == "Second words"
    assert post.properties["category"] == ["b", "c"]
    assert post.post_type == "article"
    assert post.updated is not None
    page = await client.get("/" + post.path)
    assert "Second words" in page.text and 'href="https://example.test/tag/c"' in page.text


async def test_an_unchanged_form_changes_nothing(
    client: httpx.AsyncClient, signed_in: str, app: object
) -> None:
    """Properties the editor does not show, and HTML from another client, stay as they were."""
    properties = {
        "content": [{"html": "<p>From <b>Quill</b></p>"}],
        "published": ["2026-05-04T14:00:00+02:00"],
        "location": ["geo:45.5,-122.6"],
        "category": ["x", {"type": ["h-card"], "properties": {"name": ["Bob"]}}],
    }
    post = await create_post(properties, published=datetime(2026, 5, 4, 12, tzinfo=UTC))
    values = await open_values(client, post)
    assert values["published"] == "2026-05-04T14:00"  # shown in Europe/Paris
    response = await submit(client, edit_path(post), signed_in, {**values, "action": "publish"})
    assert response.headers["location"].endswith("?done=unchanged")
    await post.refresh_from_db()
    assert post.properties == properties and post.updated is None
    # Changing the tags keeps the person tag, which the Tags field does not show.
    await submit(
        client, edit_path(post), signed_in, {**values, "category": "y", "action": "publish"}
    )
    await post.refresh_from_db()
    assert post.properties["category"] == ["y", properties["category"][1]]
    assert post.properties["content"] == properties["content"]


async def test_a_published_post_goes_back_to_draft(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    await submit(client, NEW, signed_in, {"content": "Oops", "action": "publish"})
    post = await only_post()
    values = await open_values(client, post)
    await submit(
        client, edit_path(post), signed_in, {**values, "post-status": "draft", "action": "publish"}
    )
    await post.refresh_from_db()
    assert post.status == Status.DRAFT
    # And a draft's Publish publishes it.
    values = await open_values(client, post)
    response = await submit(client, edit_path(post), signed_in, {**values, "action": "publish"})
    assert response.headers["location"].endswith("?done=published")
    await post.refresh_from_db()
    assert post.status == Status.PUBLISHED and "post-status" not in post.properties


async def test_delete_then_undelete(client: httpx.AsyncClient, signed_in: str) -> None:
    await submit(client, NEW, signed_in, {"content": "Short-lived", "action": "publish"})
    post = await only_post()
    response = await client.post(f"/admin/posts/{post.id}/delete", data={"csrf_token": signed_in})
    assert response.status_code == 303
    assert response.headers["location"] == f"{edit_path(post)}?done=deleted"
    assert (await client.get("/" + post.path)).status_code == 410
    editor = await client.get(edit_path(post))
    assert ">Undelete</button>" in editor.text and ">Delete</button>" not in editor.text
    # Editing a deleted post is refused as Micropub refuses it, and says so.
    values = editor_values(editor.text)
    values.pop("csrf_token")
    refused = await submit(
        client, edit_path(post), signed_in, {**values, "content": "x", "action": "publish"}
    )
    assert refused.status_code == 400 and "is deleted; undelete it first" in refused.text
    # Back to the page it came from (the posts list, say), when the form names none.
    response = await client.post(
        f"/admin/posts/{post.id}/undelete",
        data={"csrf_token": signed_in},
        headers={"Referer": "https://example.test/admin/posts?status=all"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/posts?status=all"
    assert (await client.get("/" + post.path)).status_code == 200
    editor = await client.get(edit_path(post))
    assert ">Delete</button>" in editor.text


async def test_an_unknown_post_is_404(client: httpx.AsyncClient, signed_in: str) -> None:
    assert (await client.get("/admin/posts/999/edit")).status_code == 404
    response = await client.post("/admin/posts/999/delete", data={"csrf_token": signed_in})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [NEW, "/admin/posts/{id}/edit", "/admin/posts/{id}/delete", "/admin/posts/{id}/undelete"],
)
async def test_every_post_needs_the_csrf_token(
    client: httpx.AsyncClient, signed_in: str, path: str
) -> None:
    await submit(client, NEW, signed_in, {"content": "Keep me", "action": "publish"})
    post = await only_post()
    target = path.format(id=post.id)
    fields = {"content": "Changed", "action": "publish"}
    for token in (None, "forged"):
        response = await submit(client, target, token, fields)
        assert response.status_code == 403
    await post.refresh_from_db()
    assert post.deleted_at is None
    assert post.properties["content"][0]["markdown"] == "Keep me"
    assert await Post.all().count() == 1
