"""Property: reading a stranger's page never fails, whatever HTML or mf2 JSON it holds.

A webmention source is someone else's page (https://www.w3.org/TR/webmention/#webmention-verification):
verification parses it (`response_fields.read_document`: html5lib and mf2py, or mf2 JSON)
and reads its primary h-entry, response type, content, date and author
(`response_fields.response_fields`, `webmention.entry`, `core.authorship`, `core.mf2`).
`core/mf2.py` promises that "every reader here skips what is not of the expected shape
instead of failing"; an exception instead would fail the verification job with a traceback
until it gives up. Hypothesis generates the pages: tag trees with h-*/p-*/u-*/dt-*/e-*
classes, odd attributes and nesting, in several charsets, and mf2 JSON of any shape
(profiles in tests/conftest.py). The readers must give their documented types.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import escape
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from hearth.server.contexts.reading import LinkContext, read_context
from hearth.server.core.authorship import Author, find_author
from hearth.server.core.mf2 import normalize_url, plain, property_strings, url_values
from hearth.server.webmention.entry import CONTENT_TAGS, RSVP_VALUES, clean_html, primary_entry
from hearth.server.webmention.response_fields import (
    Document,
    Fields,
    read_document,
    response_fields,
)

SOURCE = "https://alice.example/replies/1"
SITE = "https://example.test/"
TARGET = "https://example.test/2026/05/hello"
TARGETS = {TARGET, "http://example.test/2026/05/hello"}

ROOTS = ["h-entry", "h-card", "h-feed", "h-cite", "h-event", "h-x-y", "h-", "h-entry h-card"]
PROPERTY_NAMES = [
    "name", "url", "photo", "author", "in-reply-to", "like-of", "repost-of", "bookmark-of",
    "content", "summary", "published", "rsvp", "uid", "syndication", "category", "value",
    "value-title", "", "x",
]  # fmt: skip
ATTRIBUTE_VALUES = [
    TARGET, TARGET + "#c", "/2026/05/hello", SOURCE, "https://alice.example/", "", " ",
    "javascript:alert(1)", "http://[::1", "https://exa mple.com/", "2026-05-05T09:30:00+02:00",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-13-45", "yes", "MAYBE",
    "data:text/html,<b>x</b>", "//alice.example/x", "?q", "#",
]  # fmt: skip
TAGS = [
    "div", "span", "a", "img", "time", "data", "abbr", "article", "p", "link", "area", "object",
    "audio", "video", "source", "base", "template", "br", "input", "del", "ins", "table", "td",
    "script", "style", "svg", "math", "noscript", "iframe", "select", "option", "h1",
]  # fmt: skip
ATTRIBUTES = [
    "href", "src", "datetime", "title", "value", "data", "poster", "srcset", "alt", "rel",
    "content", "lang", "id",
]  # fmt: skip

classes = st.lists(
    st.one_of(
        st.sampled_from(ROOTS),
        st.builds(lambda prefix, name: prefix + name,
                  st.sampled_from(["p-", "u-", "dt-", "e-", "h-", "P-", "u--"]),
                  st.sampled_from(PROPERTY_NAMES)),
        st.text(alphabet="abcdehpu-", max_size=6),
    ),
    max_size=3,
)  # fmt: skip
texts = st.one_of(st.sampled_from(ATTRIBUTE_VALUES), st.text(max_size=12))


@st.composite
def elements(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    tag = draw(st.sampled_from(TAGS))
    attributes = {"class": " ".join(draw(classes))}
    attributes |= draw(st.dictionaries(st.sampled_from(ATTRIBUTES), texts, max_size=3))
    spelled = "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())
    inner = "".join(draw(st.lists(children, max_size=3)))
    closing = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", ""]))  # unclosed tags happen
    return f"<{tag}{spelled}>{inner}{closing}"


html_trees = st.recursive(
    st.one_of(texts.map(escape), st.sampled_from(["<!-- x -->", "&amp;", "&bogus;", "<", "]]>"])),
    lambda inner: elements(inner),
    max_leaves=25,
)
pages = st.lists(html_trees, max_size=4).map(
    lambda parts: (
        f"<!doctype html><html><head><title>x</title></head><body>{''.join(parts)}</body></html>"
    )
)
charsets = st.sampled_from([None, "utf-8", "latin-1", "utf-16", "x-unknown", "ascii"])

# mf2 JSON as a stranger may send it: the right keys with values of any shape.
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10),
    st.sampled_from(ATTRIBUTE_VALUES), st.sampled_from(ROOTS),
)  # fmt: skip
mf2_keys = st.sampled_from(["type", "properties", "children", "items", "rels", "value", "html",
                            "author", "url", "content", *PROPERTY_NAMES])  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(mf2_keys, inner, max_size=4)),
    max_leaves=25,
)  # fmt: skip


def check_author(author: Author) -> None:
    assert author.name is None or (isinstance(author.name, str) and author.name)
    for url in (author.url, author.photo):
        assert url is None or normalize_url(url, keep_fragment=True) == url


def check_fields(fields: Fields) -> None:
    """The documented types of what a response says."""
    assert isinstance(fields.url, str)
    assert fields.kind in ("reply", "rsvp", "repost", "like", "bookmark", "mention")
    assert fields.rsvp is None or fields.rsvp in RSVP_VALUES
    assert (fields.rsvp is not None) == (fields.kind == "rsvp")
    check_author(fields.author)
    assert fields.content_html is None or isinstance(fields.content_html, str)
    assert fields.content_text is None or isinstance(fields.content_text, str)
    assert fields.published is None or (
        isinstance(fields.published, datetime) and fields.published.tzinfo is not None
    )
    assert all(isinstance(u, str) for u in fields.identities + fields.in_reply_to)
    assert fields.entry is None or isinstance(fields.entry, dict)


@given(pages, charsets)
def test_any_html_source_is_read(page: str, charset: str | None) -> None:
    """Generated HTML: a Document whose links are normalized URLs, then Fields of the
    documented types."""
    body = page.encode(charset or "utf-8", "replace") if charset != "x-unknown" else page.encode()
    document = read_document(body, "text/html; charset=whatever", SOURCE, charset)
    assert document is not None
    assert all(normalize_url(link) == link for link in document.links)
    assert isinstance(document.mf2.get("items"), list)
    check_fields(response_fields(document, SOURCE, TARGETS, SITE))


@given(st.one_of(st.dictionaries(mf2_keys, json_values, max_size=4), json_values))
# Found by these properties (each failed verification with a TypeError or AttributeError):
@example(data={"items": [{"type": None}]})
@example(data={"items": [{"type": ["h-feed"], "children": 1}]})
@example(data={"items": [{"type": ["h-entry"], "properties": {"content": {"html": "x"}}}]})
@example(data={"items": [{"type": ["h-entry"], "properties": {"uid": 1}}]})
@example(data={"items": [{"type": ["h-entry"], "properties": {"author": {"x": 1}}}]})
@example(data={"items": [], "rels": [None]})
@example(data={"items": [], "rels": {"author": [None]}})
def test_any_mf2_json_source_is_read(data: Any) -> None:
    """Generated JSON sent as mf2: None when it is not mf2 at all, else Fields of the
    documented types, whatever the items hold."""
    if isinstance(data, dict) and not isinstance(data.get("items"), list):
        data = {**data, "items": [data]}
    body = json.dumps(data).encode()
    document = read_document(body, "application/mf2+json", SOURCE, None)
    if document is None:
        return
    check_fields(response_fields(document, SOURCE, TARGETS, SITE))


def check_context(context: LinkContext | None) -> None:
    """A link context's documented types: one-line texts, or None."""
    if context is None:
        return
    for text in (context.name, context.author_name, context.snippet, context.published):
        assert text is None or (isinstance(text, str) and "\n" not in text)
    check_author(Author(context.author_name, context.author_url, context.author_photo))


@given(pages, charsets)
def test_any_html_page_gives_a_link_context_or_none(page: str, charset: str | None) -> None:
    """The reply context of a generated page (server/contexts/reading.py): a LinkContext
    of the documented types, or None."""
    body = page.encode("utf-8")
    check_context(read_context(body, "text/html", TARGET, charset, TARGET))


@given(st.one_of(st.dictionaries(mf2_keys, json_values, max_size=4), json_values))
def test_any_mf2_json_gives_a_link_context_or_none(data: Any) -> None:
    """The reply context of generated mf2 JSON: a LinkContext of the documented types, or None."""
    if isinstance(data, dict) and not isinstance(data.get("items"), list):
        data = {**data, "items": [data]}
    check_context(read_context(json.dumps(data).encode(), "application/json", TARGET, None, TARGET))


@given(st.dictionaries(mf2_keys, json_values, max_size=4), json_values, json_values)
def test_find_author_reads_any_mf2(mf2: dict[str, Any], entry: Any, feed: Any) -> None:
    """The authorship algorithm over mf2 of any shape: an Author, never an exception."""
    entry = entry if isinstance(entry, dict) else None
    feed = feed if isinstance(feed, dict) else None
    check_author(find_author(mf2, entry, feed, SOURCE))


@given(st.dictionaries(mf2_keys, json_values, max_size=4))
def test_primary_entry_reads_any_mf2(mf2: dict[str, Any]) -> None:
    """The entry a page is about: an item and its feed (each a dict or None)."""
    entry, feed = primary_entry(mf2, SOURCE, TARGETS)
    assert entry is None or isinstance(entry, dict)
    assert feed is None or isinstance(feed, dict)


@given(json_values, st.one_of(st.sampled_from(ATTRIBUTE_VALUES), st.text(max_size=20)))
def test_value_readers_take_any_json(values: Any, base: str) -> None:
    """The small readers: strings out of anything (`url_values` gives normalized URLs)."""
    assert all(isinstance(s, str) for s in property_strings(values))
    found = url_values(values, base or SOURCE)
    assert all(isinstance(u, str) and normalize_url(u) == u for u in found)
    assert plain(values) is None or isinstance(plain(values), str)


@given(st.one_of(html_trees, st.text(max_size=200)))
def test_clean_html_keeps_only_safe_markup(html: str) -> None:
    """Received HTML, cleaned, keeps only the allowed tags and no class; cleaning is stable."""
    cleaned = clean_html(html)
    tags = re.findall(r"<([a-zA-Z][^\s/>]*)([^>]*)>", cleaned)  # markup, not escaped text
    assert all(name.lower() in CONTENT_TAGS for name, _ in tags)
    assert not any(re.search(r"\sclass=", attributes) for _, attributes in tags)
    assert clean_html(cleaned) == cleaned


def test_document_of_plain_text_links_only_to_whole_urls() -> None:
    """An example the property relies on: a text source names the target as a whole URL."""
    document = Document(url=SOURCE, text=f"see {TARGET}/more and {TARGET}.")
    assert document.links_to({TARGET})
