"""Turning stored posts into what templates and feeds show.

Templates get an `EntryView`: plain values already resolved to absolute URLs and sanitized
HTML, so the markup in `templates/` only decides which microformats class goes where.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import nh3
from markupsafe import Markup

from server import post_types
from server.models import Post, SiteSetting
from server.settings import Settings

# Tags and attributes kept in HTML content; everything else (script, style, event
# handlers, javascript: URLs) is removed on output.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "del", "dd", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title", "width", "height", "class"},
    "time": {"datetime", "class"},
    "span": {"class"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Response properties shown as context links, with the mf2 class and a human label.
RESPONSE_PROPERTIES = (
    ("in-reply-to", "u-in-reply-to", "In reply to"),
    ("like-of", "u-like-of", "Liked"),
    ("repost-of", "u-repost-of", "Reposted"),
    ("bookmark-of", "u-bookmark-of", "Bookmarked"),
)


def sanitize_html(html: str) -> Markup:
    """HTML safe to put in a page: only harmless tags, attributes and URL schemes."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener nofollow ugc",
    )
    return Markup(cleaned)  # noqa: S704 - nh3 output holds only allowed markup


@dataclass(frozen=True)
class Photo:
    url: str
    alt: str


@dataclass(frozen=True)
class ContextLink:
    property: str
    css_class: str
    label: str
    url: str


@dataclass(frozen=True)
class OwnerCard:
    url: str
    name: str
    photo: str | None
    note: str | None


@dataclass(frozen=True)
class EntryView:
    post: Post
    url: str
    short_url: str
    h_type: str
    post_type: str
    name: str | None
    content_html: Markup | None
    content_text: str
    summary: str | None
    published: datetime
    updated: datetime | None
    photos: list[Photo] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    audios: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    syndication: list[str] = field(default_factory=list)
    context: list[ContextLink] = field(default_factory=list)

    @property
    def title(self) -> str:
        """A label for page titles and feed items, also for untitled notes."""
        if self.name:
            return self.name
        text = " ".join(self.content_text.split())
        return text[:70] + ("…" if len(text) > 70 else "") or self.post_type.capitalize()


def _url_of(value: Any, base: str) -> str:
    raw = str(value.get("value", "")) if isinstance(value, Mapping) else str(value)
    return urljoin(base, raw)


def _safe_urls(values: list[Any], base: str) -> list[str]:
    urls = [_url_of(v, base) for v in values]
    return [u for u in urls if u.startswith(("http://", "https://"))]


def _photos(values: list[Any], base: str) -> list[Photo]:
    photos = []
    for value in values:
        url = _url_of(value, base)
        if url.startswith(("http://", "https://")):
            alt = value.get("alt", "") if isinstance(value, Mapping) else ""
            photos.append(Photo(url=url, alt=str(alt)))
    return photos


def _content(properties: Mapping[str, list[Any]]) -> tuple[Markup | None, str]:
    values = properties.get("content") or []
    if not values:
        return None, ""
    first = values[0]
    if isinstance(first, Mapping) and isinstance(first.get("html"), str):
        html = sanitize_html(first["html"])
        return html, post_types.text_of(first)
    text = post_types.text_of(first)
    return None, text


def entry_view(post: Post, settings: Settings) -> EntryView:
    props = post.properties
    url = settings.absolute(post.path)
    titled = post_types.is_titled(post.h_type, props)
    content_html, content_text = _content(props)
    summary = post_types.first_text(props, "summary") or None
    context = [
        ContextLink(prop, css, label, target)
        for prop, css, label in RESPONSE_PROPERTIES
        for target in _safe_urls(props.get(prop, []), url)
    ]
    return EntryView(
        post=post,
        url=url,
        short_url=settings.absolute(f"s/{post.short_code}"),
        h_type=post.h_type,
        post_type=post.post_type,
        name=post_types.first_text(props, "name") if titled else None,
        content_html=content_html,
        content_text=content_text,
        summary=summary,
        published=post.published,
        updated=post.updated,
        photos=_photos(props.get("photo", []), url),
        videos=_safe_urls(props.get("video", []), url),
        audios=_safe_urls(props.get("audio", []), url),
        categories=[c for c in props.get("category", []) if isinstance(c, str)],
        syndication=_safe_urls(props.get("syndication", []), url),
        context=context,
    )


async def owner_card(settings: Settings) -> OwnerCard:
    """The owner's h-card: settings from the environment, overridden in the admin."""
    stored = await SiteSetting.get_or_none(key="hcard")
    overrides: Mapping[str, Any] = stored.value if stored and isinstance(stored.value, dict) else {}
    return OwnerCard(
        url=settings.url,
        name=overrides.get("name") or settings.name,
        photo=overrides.get("photo") or settings.photo,
        note=overrides.get("note") or settings.note,
    )
