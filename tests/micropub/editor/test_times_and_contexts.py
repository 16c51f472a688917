"""Publication times in the site's zone (scheduling), reply previews, preview, and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from hearth.server.core.models import Post
from tests.micropub.editor.conftest import (
    NEW,
    ZONE,
    Web,
    edit_path,
    editor_values,
    only_post,
    submit,
)

TARGET = "https://elsewhere.example/2026/05/soup"
TARGET_PAGE = """<!doctype html><html><body>
<article class="h-entry">
<h1 class="p-name">Soup season</h1>
<a class="p-author h-card" href="https://elsewhere.example/">Bea Writer</a>
<div class="e-content">Leek and potato, every day until March.</div>
</article></body></html>"""


async def test_a_chosen_time_is_sent_with_the_zone_offset(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    fields = {"content": "Back then", "published": "2026-01-15T09:30", "action": "publish"}
    await submit(client, NEW, signed_in, fields)
    post = await only_post()
    assert post.properties["published"] == ["2026-01-15T09:30:00+01:00"]  # CET
    assert post.published == datetime(2026, 1, 15, 8, 30, tzinfo=UTC)
    values = editor_values((await client.get(edit_path(post))).text)
    assert values["published"] == "2026-01-15T09:30"


async def test_summer_time_has_its_own_offset(client: httpx.AsyncClient, signed_in: str) -> None:
    fields = {"content": "Summer", "published": "2026-07-01T09:30", "action": "publish"}
    await submit(client, NEW, signed_in, fields)
    assert (await only_post()).properties["published"] == ["2026-07-01T09:30:00+02:00"]


async def test_a_future_time_schedules(client: httpx.AsyncClient, signed_in: str) -> None:
    when = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=3)).replace(second=0, microsecond=0)
    local = when.strftime("%Y-%m-%dT%H:%M")
    preview = await submit(
        client, NEW, signed_in, {"content": "Later", "published": local, "action": "preview"}
    )
    assert ">Schedule</button>" in preview.text and ">Publish</button>" not in preview.text
    response = await submit(
        client, NEW, signed_in, {"content": "Later", "published": local, "action": "publish"}
    )
    assert response.headers["location"].endswith("?done=scheduled")
    post = await only_post()
    assert post.published == when.astimezone(UTC)
    assert post.properties["published"] == [when.isoformat()]
    editor = await client.get(edit_path(post))
    assert ">Schedule</button>" in editor.text


async def test_the_reply_target_is_previewed(
    client: httpx.AsyncClient, signed_in: str, web: Web
) -> None:
    web.pages[TARGET] = TARGET_PAGE
    fields = {"in-reply-to": TARGET, "content": "Mine too.", "action": "preview"}
    page = await submit(client, NEW, signed_in, fields)
    assert page.status_code == 200
    assert TARGET in web.asked
    assert 'class="link-preview"' in page.text
    assert "Soup season" in page.text and "Bea Writer" in page.text
    assert "Leek and potato" in page.text
    # The preview of the post itself, as its page will show it.
    assert '<h2 id="preview-heading">Preview</h2>' in page.text
    assert f'class="u-in-reply-to" href="{TARGET}"' in page.text
    assert await Post.all().count() == 0
    # Published, its editor shows the preview again.
    await submit(client, NEW, signed_in, {**fields, "action": "publish"})
    editor = await client.get(edit_path(await only_post()))
    assert "Soup season" in editor.text


async def test_preview_shows_sanitized_markdown(client: httpx.AsyncClient, signed_in: str) -> None:
    fields = {
        "name": "Draft title",
        "content": "Some **bold** <script>x()</script>",
        "action": "preview",
    }
    page = await submit(client, NEW, signed_in, fields)
    assert '<h1 class="p-name" dir="auto">Draft title</h1>' in page.text
    assert "<strong>bold</strong>" in page.text and "<script>x()" not in page.text
    assert await Post.all().count() == 0


async def test_a_like_of_that_is_no_url_is_refused_with_values_kept(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    fields = {"like-of": "not a url", "content": "Keep this", "action": "publish"}
    page = await submit(client, NEW, signed_in, fields)
    assert page.status_code == 400
    assert "Like of must be an http:// or https:// URL, got &#39;not a url&#39;" in page.text
    values = editor_values(page.text)
    assert values["like-of"] == "not a url" and values["content"] == "Keep this"
    assert await Post.all().count() == 0


async def test_micropubs_own_errors_are_shown(client: httpx.AsyncClient, signed_in: str) -> None:
    fields = {"content": "Too old", "published": "1969-07-20T20:17", "action": "publish"}
    page = await submit(client, NEW, signed_in, fields)
    assert page.status_code == 400
    assert "published must not be before 1970" in page.text  # post_actions' words
    fields = {"content": "Secret", "visibility": "secret", "action": "publish"}
    page = await submit(client, NEW, signed_in, fields)
    assert page.status_code == 400
    assert "visibility must be one value out of public, unlisted, private" in page.text
    assert editor_values(page.text)["content"] == "Secret"
    assert await Post.all().count() == 0
