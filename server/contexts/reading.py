"""What a page says about itself, read for a link context: `LinkContext` from HTML or mf2 JSON.

Spec: https://indieweb.org/reply-context (what a reply, like, repost or bookmark shows of its
target: name, author, a snippet), read from the target's microformats
(https://microformats.org/wiki/h-entry, h-cite, h-event) with the authorship algorithm
(https://indieweb.org/authorship-spec, in `hearth.server.core.authorship`). A page without
microformats still gives its `<title>` (and its meta description as the snippet).

Pure and CPU-bound (html5lib and mf2py): `fetching` calls `read_context` in a thread.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mf2py
from bs4 import BeautifulSoup

from hearth.server.core import post_types
from hearth.server.core.authorship import find_author
from hearth.server.core.mf2 import (
    first_value,
    item_types,
    normalize_url,
    plain,
    properties,
    url_values,
)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
JSON_TYPES = frozenset({"application/mf2+json", "application/json"})
# The types a context is read from, in the order an entry is looked for.
ENTRY_TYPES = ("h-entry", "h-cite", "h-event")
MAX_SNIPPET = 280
MAX_NAME = 200
MAX_PUBLISHED = 64
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class LinkContext:
    """What a link's target is: its name, author, a plain-text snippet and when it was published.

    Every text is plain (never HTML) and one line; URLs are absolute http(s). Any part may be
    unknown (None). `url` is the URL that was asked for.
    """

    url: str
    name: str | None = None
    author_name: str | None = None
    author_url: str | None = None
    author_photo: str | None = None
    snippet: str | None = None
    published: str | None = None


def snippet_of(text: Any, limit: int = MAX_SNIPPET) -> str | None:
    """`text` on one line, cut at a word to at most `limit` characters (an ellipsis ends a cut)."""
    if not isinstance(text, str):
        return None
    collapsed = _SPACE.sub(" ", text).strip()
    if len(collapsed) <= limit:
        return collapsed or None
    cut = collapsed[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def _candidates(mf2: Mapping[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(item, its parent h-feed or None) for every entry-like item, top level first."""
    top: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    nested: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for item in mf2.get("items") or []:
        types = item_types(item)
        if any(t in types for t in ENTRY_TYPES):
            top.append((item, None))
        elif "h-feed" in types and isinstance(item.get("children"), list):
            nested += [(c, item) for c in item["children"] if set(item_types(c)) & {*ENTRY_TYPES}]
    return top + nested


def pick_entry(
    mf2: Mapping[str, Any], url: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the item the page `url` is about, its h-feed): the one whose u-url is the page, else
    the first top-level h-entry, h-cite or h-event. A feed's entries only count by URL: a
    page that lists posts is not about its first one."""
    candidates = _candidates(mf2)
    page = normalize_url(url)
    for item, feed in candidates:
        if page in url_values(properties(item).get("url"), url):
            return item, feed
    top = [(item, feed) for item, feed in candidates if feed is None]
    return top[0] if top else (None, None)


def _name(props: Mapping[str, list[Any]]) -> str | None:
    """The entry's name, unless it merely repeats (or wraps) its content."""
    name = plain(post_types.first_text(props, "name"), MAX_NAME)
    if name is None or not post_types.has_title(props):
        return None
    content = plain(post_types.first_text(props, "content"), 10_000)
    return None if content and content in name else name


def _snippet(props: Mapping[str, list[Any]]) -> str | None:
    for prop in ("summary", "content"):
        if found := snippet_of(post_types.first_text(props, prop)):
            return found
    return None


def context_from_mf2(mf2: Mapping[str, Any], url: str, asked: str) -> LinkContext | None:
    """The context of the page `url` (after redirects; `asked` is the URL asked for)."""
    entry, feed = pick_entry(mf2, url)
    if entry is None:
        return None
    props = properties(entry)
    author = find_author(mf2, entry, feed, url)
    published = first_value(props.get("published"))
    return LinkContext(
        url=asked,
        name=_name(props),
        author_name=author.name,
        author_url=author.url,
        author_photo=author.photo,
        snippet=_snippet(props),
        published=plain(published, MAX_PUBLISHED),
    )


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", property=name)
        content = tag.get("content") if tag is not None else None
        if isinstance(content, str) and content.strip():
            return content
    return None


def _from_html(body: bytes | str, url: str, asked: str) -> LinkContext | None:
    soup = BeautifulSoup(body, "html5lib")
    found = context_from_mf2(mf2py.parse(doc=soup, url=url), url, asked)
    if found is not None:
        return found
    title = soup.title.get_text() if soup.title is not None else _meta(soup, "og:title")
    description = _meta(soup, "description", "og:description")
    if not plain(title) and not description:
        return None
    return LinkContext(url=asked, name=plain(title, MAX_NAME), snippet=snippet_of(description))


def _from_json(body: bytes, url: str, asked: str) -> LinkContext | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return None
    return context_from_mf2(data, url, asked)


def read_context(
    body: bytes, content_type: str, url: str, charset: str | None, asked: str
) -> LinkContext | None:
    """The context in a fetched body (HTML or mf2 JSON, by `content_type`), or None.

    `url` is where the body came from (after redirects: relative URLs resolve against it).
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in HTML_TYPES:
        try:
            markup: bytes | str = body.decode(charset, errors="replace") if charset else body
        except LookupError:
            markup = body
        return _from_html(markup, url, asked)
    if kind in JSON_TYPES:
        return _from_json(body, url, asked)
    return None
