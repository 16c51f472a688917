"""Markdown: rendered as CommonMark, sanitized on the page, given back and re-opened as written."""

from __future__ import annotations

import html

import httpx

from hearth.micropub.editor.markdown import content_value, render_markdown, source_of
from hearth.server.core.tokens import mint_token
from tests.micropub.editor.conftest import NEW, edit_path, editor_values, only_post, submit

SOURCE = """# Heading

A [link](https://example.com/) and **bold** text.

<script>alert("owned")</script>

<img src="x" onerror="alert(1)">

* one
* two
"""


def test_commonmark_rendering_is_sanitized() -> None:
    rendered = render_markdown(SOURCE)
    assert "<h1>Heading</h1>" in rendered
    assert '<a href="https://example.com/" rel="noopener nofollow ugc">link</a>' in rendered
    assert "<strong>bold</strong>" in rendered
    assert "<script" not in rendered and "onerror" not in rendered and "alert" not in rendered
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in rendered


def test_the_source_is_what_is_reopened() -> None:
    stored = content_value(SOURCE)
    assert source_of(stored) == SOURCE
    assert stored["value"].startswith("Heading")
    # Content from other clients opens as it is: plain text, or HTML (valid Markdown).
    assert source_of("plain") == "plain"
    assert source_of({"html": "<p>Hi</p>"}) == "<p>Hi</p>"


async def test_markdown_post_page_and_source(client: httpx.AsyncClient, signed_in: str) -> None:
    await submit(client, NEW, signed_in, {"content": SOURCE, "action": "publish"})
    post = await only_post()
    page = await client.get("/" + post.path)
    assert "<h1>Heading</h1>" in page.text and "<strong>bold</strong>" in page.text
    assert "<script>alert" not in page.text and "onerror" not in page.text
    assert 'alert("owned")' not in page.text

    # Micropub's q=source gives the source back (a token that may update, as editors have).
    token, _ = await mint_token(me="https://example.test/", scope="update")
    source = await client.get(
        "/micropub",
        params={"q": "source", "url": f"https://example.test/{post.path}"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert source.status_code == 200
    assert source.json()["properties"]["content"][0]["markdown"] == SOURCE

    # The editor opens it again exactly as written.
    editor = await client.get(edit_path(post))
    assert html.unescape(editor_values(editor.text)["content"]) == SOURCE


async def test_a_windows_textarea_keeps_plain_newlines(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    await submit(client, NEW, signed_in, {"content": "one\r\n\r\ntwo", "action": "publish"})
    post = await only_post()
    assert post.properties["content"][0]["markdown"] == "one\n\ntwo"
    assert post.properties["content"][0]["html"] == "<p>one</p>\n<p>two</p>"
