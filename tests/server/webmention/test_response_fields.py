"""What a verified source says (hearth.server.webmention.response_fields).

Its type, author, content and identities.

Response types: https://www.w3.org/TR/post-type-discovery/ for the properties naming the
target; authorship: https://indieweb.org/authorship-spec; XSS:
https://www.w3.org/TR/webmention/#security-considerations and the W3C receiver checklist
(https://github.com/w3c/webmention/blob/main/implementation-reports/TEMPLATE.md, "sanitises
against XSS"), including voxpelli/node-webmention-testpinger's `checkmention-xss` idea.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearth.server.webmention import response_fields
from tests.server.webmention.receive_support import html_page, reply_page

TARGET = "https://example.test/2026/05/hello"
TARGETS = {TARGET, "https://example.test/s/t5xq1"}
SOURCE = "https://alice.example/notes/1"
SITE = "https://example.test/"


def fields_of(body: str, url: str = SOURCE) -> response_fields.Fields:
    document = response_fields.read_document(body.encode(), "text/html", url, "utf-8")
    assert document is not None
    return response_fields.response_fields(document, SOURCE, TARGETS, SITE)


def entry(inner: str, url: str = "") -> str:
    own = f'<a class="u-url" href="{url}">permalink</a>' if url else ""
    return html_page(f'<div class="h-entry">{own}{inner}</div>')


@pytest.mark.parametrize(
    ("markup", "kind"),
    [
        (f'<a class="u-in-reply-to" href="{TARGET}">re</a>', "reply"),
        (f'<a class="u-like-of" href="{TARGET}">like</a>', "like"),
        (f'<a class="u-repost-of" href="{TARGET}">repost</a>', "repost"),
        (f'<a class="u-bookmark-of" href="{TARGET}">bookmark</a>', "bookmark"),
        (f'<a href="{TARGET}">just a link</a>', "mention"),
        (f'<div class="u-like-of h-cite"><a class="u-url" href="{TARGET}">x</a></div>', "like"),
        (
            f'<a class="u-like-of" href="https://other.example/">x</a><a href="{TARGET}">t</a>',
            "mention",
        ),
    ],
    ids=["reply", "like", "repost", "bookmark", "mention", "like-h-cite", "like-of-other"],
)
def test_response_type_from_the_property_naming_the_target(markup: str, kind: str) -> None:
    """The type is the property whose value is the target; other links make a mention."""
    assert kind == fields_of(entry(markup)).kind


@pytest.mark.parametrize("value", ["yes", "no", "maybe", "interested"])
def test_rsvp_is_an_in_reply_to_with_an_rsvp_value(value: str) -> None:
    """An RSVP: in-reply-to the target and a p-rsvp of yes/no/maybe/interested."""
    markup = (
        f'<a class="u-in-reply-to" href="{TARGET}">event</a><data class="p-rsvp" value="{value}">'
    )
    fields = fields_of(entry(markup))
    assert ("rsvp", value) == (fields.kind, fields.rsvp)


def test_unknown_rsvp_value_is_a_plain_reply() -> None:
    """Only the four RSVP values make an RSVP."""
    markup = f'<a class="u-in-reply-to" href="{TARGET}">x</a><data class="p-rsvp" value="perhaps">'
    assert ("reply", None) == (fields_of(entry(markup)).kind, fields_of(entry(markup)).rsvp)


def test_author_h_card_gives_name_url_and_photo() -> None:
    """An h-card author: its name, url and photo (resolved against the page)."""
    author = (
        '<div class="p-author h-card"><a class="p-name u-url" href="/">Alice Example</a>'
        '<img class="u-photo" src="/me.png" alt=""></div>'
    )
    fields = fields_of(reply_page(TARGET, author=author))
    assert (
        response_fields.Author(
            "Alice Example", "https://alice.example/", "https://alice.example/me.png"
        )
        == fields.author
    )


def test_author_url_uses_the_h_card_on_the_page_with_that_url() -> None:
    """A URL author names the author page; the page's h-card with that url is the author."""
    body = html_page(
        f'<div class="h-entry"><a class="u-author" href="/about"></a><a href="{TARGET}">x</a></div>'
        '<div class="h-card"><a class="u-url p-name" href="/about">Alice</a></div>'
    )
    assert (
        response_fields.Author("Alice", "https://alice.example/about", None)
        == fields_of(body).author
    )


def test_author_url_without_a_card_is_just_the_url() -> None:
    """The author page is not fetched: its URL alone is the author."""
    body = entry(f'<a class="u-author" href="https://alice.example/"></a><a href="{TARGET}">x</a>')
    assert response_fields.Author(None, "https://alice.example/", None) == fields_of(body).author


def test_author_plain_name() -> None:
    """A p-author that is text, not a URL, is the author's name."""
    body = entry(f'<span class="p-author">Alice</span><a href="{TARGET}">x</a>')
    assert response_fields.Author("Alice", None, None) == fields_of(body).author


def test_author_from_the_parent_feed() -> None:
    """An entry without author takes its h-feed's author."""
    body = html_page(
        '<div class="h-feed"><a class="p-author h-card" href="https://alice.example/">Alice</a>'
        f'<div class="h-entry"><a class="u-like-of" href="{TARGET}">like</a></div>'
        '<div class="h-entry"><p class="p-name">Other</p></div></div>'
    )
    fields = fields_of(body)
    assert ("like", "Alice") == (fields.kind, fields.author.name)


def test_author_from_rel_author() -> None:
    """No author property: the page's rel=author names the author page."""
    body = html_page(
        f'<div class="h-entry"><a href="{TARGET}">x</a></div>',
        '<link rel="author" href="https://alice.example/">',
    )
    assert "https://alice.example/" == fields_of(body).author.url


def test_author_falls_back_to_the_pages_only_h_card() -> None:
    """Hearth's fallback: with no authorship at all, the page's one h-card."""
    body = html_page(
        '<header class="h-card"><a class="p-name u-url" href="https://alice.example/">Alice</a></header>'
        f'<div class="h-entry"><a href="{TARGET}">x</a></div>'
    )
    assert "Alice" == fields_of(body).author.name


def test_author_name_is_one_plain_line() -> None:
    """Names lose newlines and control characters and are cut to a sane length."""
    author = (
        f'<span class="p-author h-card"><span class="p-name">Al\nice\x07 {"x" * 500}</span></span>'
    )
    name = fields_of(reply_page(TARGET, author=author)).author.name or ""
    assert name.startswith("Al ice x") and len(name) == response_fields.MAX_NAME


@pytest.mark.parametrize(
    "photo", ["javascript:alert(1)", "data:image/svg+xml,<svg onload=alert(1)>"]
)
def test_author_photo_and_url_must_be_http(photo: str) -> None:
    """Non-http(s) author URLs and photos are dropped."""
    author = (
        f'<div class="p-author h-card"><a class="p-name u-url" href="javascript:alert(1)">A</a>'
        f'<img class="u-photo" src="{photo}" alt=""></div>'
    )
    assert (
        response_fields.Author("A", None, None)
        == fields_of(reply_page(TARGET, author=author)).author
    )


XSS = (
    "<p>Hi<script>alert(1)</script><img src=x onerror=alert(2)>"
    '<a href="javascript:alert(3)" onclick="alert(4)" style="color:red">click</a>'
    '<svg><a xlink:href="javascript:alert(5)"><text>svg</text></a></svg>'
    '<iframe src="https://evil.example/"></iframe><style>body{display:none}</style>'
    '<math><mi xlink:href="javascript:alert(6)">m</mi></math>'
    '<a href="/local" class="p-author h-card">spoof</a><b>bold</b></p>'
)


def test_content_html_is_sanitized() -> None:
    """No script, event handler, javascript: URL, style, SVG/MathML, iframe or class survives."""
    html = fields_of(reply_page(TARGET, XSS)).content_html or ""
    for bad in (
        "<script",
        "onerror",
        "onclick",
        "javascript:",
        "style",
        "<svg",
        "<math",
        "<iframe",
        "<img",
        "class=",
        'href="/local"',
        "alert",
    ):
        assert bad not in html, bad
    assert "<b>bold</b>" in html


def test_content_links_are_nofollow() -> None:
    """Links kept in content are marked as user content."""
    html = fields_of(reply_page(TARGET, '<a href="https://x.example/">x</a>')).content_html
    assert 'rel="nofollow ugc noopener"' in (html or "")


def test_plain_content_is_kept_as_text() -> None:
    """A p-content (no markup) is text only, escaped when shown."""
    body = entry(
        '<p class="p-content">&lt;b&gt;not bold&lt;/b&gt;</p>'
        f'<a class="u-in-reply-to" href="{TARGET}">x</a>'
    )
    fields = fields_of(body)
    assert (None, "<b>not bold</b>") == (fields.content_html, fields.content_text)


def test_published_is_parsed_with_its_offset() -> None:
    """dt-published becomes an aware datetime."""
    published = fields_of(reply_page(TARGET)).published
    assert datetime(2026, 5, 5, 7, 30, tzinfo=UTC) == published


def test_unparseable_published_is_none() -> None:
    """Garbage dates are dropped, not guessed."""
    body = entry(f'<time class="dt-published">last Tuesday</time><a href="{TARGET}">x</a>')
    assert fields_of(body).published is None


def test_url_is_the_entry_u_url_else_the_source() -> None:
    """The response's URL is its u-url; without one, the source."""
    with_url = entry(f'<a href="{TARGET}">x</a>', url="https://alice.example/notes/1#it")
    assert "https://alice.example/notes/1#it" == fields_of(with_url).url
    assert (
        SOURCE == fields_of(entry(f'<a class="u-in-reply-to" href="{TARGET}">x</a><p>hi</p>')).url
    )


def test_identities_collect_source_url_syndication_and_uid() -> None:
    """u-url, u-syndication and uid (and the source) identify the response across bridges."""
    body = entry(
        f'<a class="u-in-reply-to" href="{TARGET}">x</a>'
        '<a class="u-syndication" href="https://social.example/@alice/42">m</a>'
        '<data class="u-uid" value="tag:alice.example,2026:1"></data>',
        url="https://alice.example/notes/1",
    )
    assert [SOURCE, "https://social.example/@alice/42", "tag:alice.example,2026:1"] == fields_of(
        body
    ).identities


def test_identities_leave_out_this_sites_urls() -> None:
    """A lone link implies a u-url; when that is the target it must not identify anything."""
    fields = fields_of(html_page(f'<div class="h-entry"><a href="{TARGET}">only link</a></div>'))
    assert [SOURCE] == fields.identities
    assert SOURCE == fields.url


def test_primary_entry_is_the_one_whose_url_is_the_page() -> None:
    """A page with several entries is about the one whose u-url is the page."""
    body = html_page(
        '<div class="h-entry"><p class="p-name">Sidebar</p>'
        '<a class="u-url" href="/other">o</a></div>'
        f'<div class="h-entry"><a class="u-url" href="{SOURCE}">me</a>'
        f'<a class="u-like-of" href="{TARGET}">liked</a></div>'
    )
    assert "like" == fields_of(body).kind


def test_in_reply_to_other_urls_are_kept_for_threading() -> None:
    """A reply to a comment (and the post) remembers the comment for threading."""
    comment = "https://bob.example/c/1#reply"
    markup = (
        f'<a class="u-in-reply-to" href="{TARGET}">p</a>'
        f'<a class="u-in-reply-to" href="{comment}">c</a>'
    )
    assert [comment] == fields_of(entry(markup)).in_reply_to


def test_page_without_microformats_is_a_mention_without_author() -> None:
    """A plain page that links the target is a mention; the author is unknown."""
    fields = fields_of(html_page(f'<p>See <a href="{TARGET}">this</a>.</p>'))
    assert ("mention", response_fields.Author(), SOURCE) == (fields.kind, fields.author, fields.url)


def test_declared_charset_in_meta_is_honoured() -> None:
    """Without a charset header, <meta charset> decides how the bytes read."""
    body = (
        '<!doctype html><meta charset="iso-8859-1"><div class="h-entry">'
        f'<p class="p-content">Caf\xe9</p><a class="u-in-reply-to" href="{TARGET}">x</a></div>'
    )
    document = response_fields.read_document(body.encode("latin-1"), "text/html", SOURCE, None)
    assert document is not None
    assert "Café" == response_fields.response_fields(document, SOURCE, TARGETS, SITE).content_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("HTTPS://Example.TEST:443/a?b=1#c", "https://example.test/a?b=1"),
        ("http://example.test", "http://example.test/"),
        ("http://user:pw@example.test:8080/x", "http://example.test:8080/x"),
        ("ftp://example.test/", None),
        ("https://example.test:notaport/", None),
        ("//example.test/x", None),
    ],
)
def test_normalize_url(value: str, expected: str | None) -> None:
    """One spelling per URL: what link comparison uses."""
    assert expected == response_fields.normalize_url(value)


def test_unknown_declared_charset_falls_back_to_sniffing() -> None:
    """A charset Python does not know is ignored rather than failing the verification."""
    body = f'<div class="h-entry"><a class="u-like-of" href="{TARGET}">x</a></div>'.encode()
    document = response_fields.read_document(
        body, "text/html; charset=x-made-up", SOURCE, "x-made-up"
    )
    assert document is not None and TARGET in document.links


def test_deeply_nested_json_is_unreadable_not_a_crash() -> None:
    """JSON nested past the recursion limit is simply not mf2."""
    body = ('{"items": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    assert response_fields.read_document(body, "application/mf2+json", SOURCE, None) is None
