"""`fetch_context`: a link target's name, author, snippet and date, read with mf2.

Spec: https://indieweb.org/reply-context, https://indieweb.org/authorship-spec. What the
editor's preview and the stored-context job get for each kind of page, and None for every
failure (not found, too large, too slow, a private address, nothing to show).
"""

from __future__ import annotations

import json

import pytest

from hearth.server.contexts import LinkContext, fetch_context, fetching
from hearth.server.core.http import HearthClient
from tests.server.contexts.conftest import Pages

URL = "https://bob.example/2026/05/post"

ARTICLE = """<!doctype html><title>Bob's site</title>
<article class="h-entry">
<h1 class="p-name">On gardens</h1>
<span class="p-author h-card"><img class="u-photo" src="/me.jpg" alt="">
<a class="u-url p-name" href="/">Bob Smith</a></span>
<a class="u-url" href="/2026/05/post">
<time class="dt-published" datetime="2026-05-01T10:00:00+02:00">May 1</time></a>
<div class="e-content"><p>Tomatoes <b>love</b> sun.</p><script>alert(1)</script>
<p>And water &amp; care.</p></div>
</article>"""


async def test_h_entry_with_an_author_h_card(web: Pages, http: HearthClient) -> None:
    """Name, the author h-card's name, URL and photo (absolute), plain-text snippet, date."""
    web.add(URL, ARTICLE)
    assert LinkContext(
        url=URL,
        name="On gardens",
        author_name="Bob Smith",
        author_url="https://bob.example/",
        author_photo="https://bob.example/me.jpg",
        snippet="Tomatoes love sun. And water & care.",
        published="2026-05-01T10:00:00+0200",  # as mf2py normalises it
    ) == await fetch_context(http, URL)


async def test_a_note_has_no_name_when_it_repeats_the_content(
    web: Pages, http: HearthClient
) -> None:
    """A p-name on the content itself (or mf2's implied name) is not a title."""
    web.add(URL, '<div class="h-entry"><p class="p-name e-content">Just a <i>note</i></p></div>')
    found = await fetch_context(http, URL)
    assert found is not None
    assert (None, "Just a note") == (found.name, found.snippet)


async def test_a_name_wrapping_the_whole_entry_is_dropped(web: Pages, http: HearthClient) -> None:
    """An implied name that holds the author and the content too is no title either."""
    page = (
        '<div class="h-entry p-name"><span class="p-author">Bob</span>'
        ' <span class="e-content">Hi there</span></div>'
    )
    web.add(URL, page)
    found = await fetch_context(http, URL)
    assert found is not None
    assert (None, "Bob", "Hi there") == (found.name, found.author_name, found.snippet)


async def test_summary_is_the_snippet_and_long_text_is_cut(web: Pages, http: HearthClient) -> None:
    """The summary wins over the content; any snippet is at most 280 characters."""
    long_text = "word " * 200
    summary_page = '<div class="h-entry"><p class="p-summary">Short.</p><div class="e-content">'
    web.add(URL, f"{summary_page}{long_text}</div></div>")
    web.add(URL + "2", f'<div class="h-entry"><div class="e-content">{long_text}</div></div>')
    summary = await fetch_context(http, URL)
    cut = await fetch_context(http, URL + "2")
    assert summary is not None and "Short." == summary.snippet
    assert cut is not None and cut.snippet is not None
    assert len(cut.snippet) <= 280
    assert cut.snippet.endswith("word…")


async def test_h_cite(web: Pages, http: HearthClient) -> None:
    """A page whose item is an h-cite (a quoted or archived post) gives its context."""
    web.add(
        URL,
        '<div class="h-cite"><a class="p-name u-url" href="/2026/05/post">A cited talk</a>'
        ' by <span class="p-author h-card">Carol</span>'
        ' <blockquote class="p-content">What was said</blockquote></div>',
    )
    found = await fetch_context(http, URL)
    assert found is not None
    assert ("A cited talk", "Carol", "What was said") == (
        found.name,
        found.author_name,
        found.snippet,
    )


async def test_the_entry_for_the_url_is_picked_from_a_feed(web: Pages, http: HearthClient) -> None:
    """On a page of several entries, the one whose u-url is the URL asked for."""
    web.add(
        URL,
        '<div class="h-feed"><p class="p-author h-card">Dana</p>'
        '<div class="h-entry"><a class="u-url" href="/other">x</a>'
        '<p class="e-content">Other</p></div>'
        '<div class="h-entry"><a class="u-url" href="/2026/05/post">y</a>'
        '<p class="e-content">This one</p></div>'
        "</div>",
    )
    found = await fetch_context(http, URL)
    assert found is not None
    assert ("This one", "Dana") == (found.snippet, found.author_name)


async def test_a_page_without_mf2_gives_its_title(web: Pages, http: HearthClient) -> None:
    """No microformats: the `<title>`, and the meta description as the snippet."""
    web.add(
        URL,
        "<!doctype html><html><head><title>  A plain\n page </title>"
        '<meta name="description" content="What it is about"></head><body><p>Hi</p></body></html>',
    )
    assert LinkContext(url=URL, name="A plain page", snippet="What it is about") == (
        await fetch_context(http, URL)
    )


async def test_mf2_json(web: Pages, http: HearthClient) -> None:
    """A target that answers mf2 JSON is read the same way."""
    doc = {"items": [{"type": ["h-entry"], "properties": {"content": ["From JSON"]}}]}
    web.add(URL, json.dumps(doc), content_type="application/mf2+json")
    found = await fetch_context(http, URL)
    assert found is not None and "From JSON" == found.snippet


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        (ARTICLE, 404, "text/html"),
        (ARTICLE, 500, "text/html"),
        ("%PDF-1.4", 200, "application/pdf"),
        ("<!doctype html><body><p>No title, no mf2</p>", 200, "text/html"),
    ],
    ids=["404", "500", "not html", "nothing to show"],
)
async def test_failures_are_none(
    web: Pages, http: HearthClient, body: str, status: int, content_type: str
) -> None:
    web.add(URL, body, status=status, content_type=content_type)
    assert None is await fetch_context(http, URL)


async def test_oversized_page_is_none(
    web: Pages, http: HearthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page over the byte limit is not read."""
    monkeypatch.setattr(fetching, "MAX_BYTES", 1000)
    web.add(URL, ARTICLE + "<!--" + "x" * 2000 + "-->")
    assert None is await fetch_context(http, URL)


async def test_slow_page_times_out(
    web: Pages, http: HearthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page slower than the total timeout gives None, without waiting for it."""
    monkeypatch.setattr(fetching, "TIMEOUT", 0.1)
    web.add(URL, ARTICLE, delay=5)
    assert None is await fetch_context(http, URL)


async def test_private_address_and_bad_urls_are_none(web: Pages, http: HearthClient) -> None:
    """The guarded client refuses private addresses; other schemes are not fetched."""
    web.add("https://private.example/", ARTICLE)
    for url in ("https://private.example/", "ftp://bob.example/x", "not a url", ""):
        assert None is await fetch_context(http, url), url
    assert [] == web.asked
