"""What a webmention source's h-entry is: which entry, its response type, content and date.

Spec: https://www.w3.org/TR/webmention/#webmention-verification (the source, once it links to
the target); the response type follows https://www.w3.org/TR/post-type-discovery/ for the
properties that name the target (https://indieweb.org/reply, https://indieweb.org/rsvp,
https://indieweb.org/repost, https://indieweb.org/like, https://indieweb.org/bookmark), and
the content is shown as https://indieweb.org/comments describes, sanitized with nh3.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import nh3

from hearth.server.core.hrefs import valid_href
from hearth.server.core.mf2 import (
    first_value,
    item_types,
    normalize_url,
    plain,
    properties,
    property_strings,
    url_values,
    values_of,
)

# Received HTML keeps text formatting and links only: no images (pages never hotlink
# strangers), no class (a stranger's microformats must not become this page's), no
# relative URLs (they would point into this site).
CONTENT_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "del", "em", "i", "ins", "li",
    "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup", "u", "ul",
}  # fmt: skip
CONTENT_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
RSVP_VALUES = frozenset({"yes", "no", "maybe", "interested"})
# Response properties in Post Type Discovery order, after in-reply-to (reply or RSVP).
KIND_PROPERTIES = (("repost-of", "repost"), ("like-of", "like"), ("bookmark-of", "bookmark"))
MAX_HTML = 64 * 1024
MAX_TEXT = 10_000


def _attribute_filter(element: str, attribute: str, value: str) -> str:
    """Links spelled as HTML requires (a space or `|` left in a stranger's href)."""
    return valid_href(value) if attribute == "href" else value


def clean_html(html: str) -> str:
    """Received HTML made safe to show: see CONTENT_TAGS. Applied on storage and on output."""
    return nh3.clean(
        html[:MAX_HTML],
        tags=CONTENT_TAGS,
        attributes=CONTENT_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https"},
        url_relative="deny",
        link_rel="nofollow ugc noopener",
    )


def primary_entry(
    mf2: Mapping[str, Any], url: str, targets: set[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the h-entry the page is about, its parent h-feed or None).

    The entry whose u-url is the page; else the first top-level h-entry; else the first
    h-entry of a top-level h-feed that names a target; else that feed's first entry.
    """
    candidates: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    # `values_of`: a stranger's `items` or `children` may be any JSON, not a list.
    for item in values_of(mf2, "items"):
        if "h-entry" in item_types(item):
            candidates.append((item, None))
        elif "h-feed" in item_types(item):
            entries = [c for c in values_of(item, "children") if "h-entry" in item_types(c)]
            candidates.extend((entry, item) for entry in entries)
    page = normalize_url(url)
    for entry, feed in candidates:
        if page in url_values(properties(entry).get("url"), url):
            return entry, feed
    top = [c for c in candidates if c[1] is None]
    naming = [
        c for c in candidates if targets & {normalize_url(s, url) for s in property_strings([c[0]])}
    ]
    chosen = top or naming or candidates
    return chosen[0] if chosen else (None, None)


def published_at(values: Any) -> datetime | None:
    """The first `published` value as an aware datetime (UTC if it names no zone)."""
    text = first_value(values)
    try:
        when = datetime.fromisoformat(text.strip()) if isinstance(text, str) else None
    except ValueError:
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def response_kind(
    props: Mapping[str, list[Any]], base: str, targets: set[str]
) -> tuple[str, str | None]:
    """(reply | rsvp | repost | like | bookmark | mention, the RSVP value)."""
    if targets.intersection(url_values(props.get("in-reply-to"), base)):
        rsvp = plain(first_value(props.get("rsvp")))
        rsvp = rsvp.lower() if rsvp else None
        return ("rsvp", rsvp) if rsvp in RSVP_VALUES else ("reply", None)
    for prop, kind in KIND_PROPERTIES:
        if targets.intersection(url_values(props.get(prop), base)):
            return kind, None
    return "mention", None


def entry_content(props: Mapping[str, list[Any]]) -> tuple[str | None, str | None]:
    """(sanitized HTML, text): e-content, else p-content, summary or name as text."""
    first = (values_of(props, "content") or [None])[0]  # content may be any JSON
    if isinstance(first, Mapping) and isinstance(first.get("html"), str):
        text = first.get("value")
        return clean_html(first["html"]), text[:MAX_TEXT] if isinstance(text, str) else None
    for prop in ("content", "summary", "name"):
        text = first_value(props.get(prop))
        if isinstance(text, str) and text.strip():
            return None, text.strip()[:MAX_TEXT]
    return None, None
