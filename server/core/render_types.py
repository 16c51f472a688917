"""The pieces a post is shown with: one view per kind of mf2 property value.

`hearth.server.core.render.entry_view` turns a stored post into an `EntryView` out of these.
Each piece holds plain, already-checked values (absolute http(s) URLs, sanitized HTML,
numbers as text), so the templates only decide markup and microformats classes.

Microformats2 vocabularies: https://microformats.org/wiki/h-entry, h-event, h-card, h-cite,
h-adr, h-geo. Post types: https://www.w3.org/TR/post-type-discovery/ and
https://indieweb.org/posts#Types_of_Posts.

What the markup guarantees, checked by tests/server/core/test_render_golden.py: mf2py parsing a
permalink gives back the properties the client sent, with these known differences:

- numbers (latitude, longitude, altitude) come back as strings: HTML has no numbers;
- dt-* values come back as mf2py normalises them: no colon in the offset
  (`+02:00` -> `+0200`) and no fractional seconds; the `datetime` attribute keeps the
  client's string exactly;
- nested objects (h-card, h-cite, h-adr ...) gain a `value` (and `lang`), and mf2py implies
  a `name` for one sent without any;
- HTML content comes back re-serialised by html5lib (`<br/>`, attributes in another
  order, relative URLs absolute): the same tree as `sanitize_html` gave;
- a nested card's photo without alt text comes back with `"alt": ""` (it is decorative
  next to the card's name), and a video's poster is not parsed back at all;
- properties Hearth does not know stay unrendered (`q=source` still returns them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urljoin

import nh3
from markupsafe import Markup

from hearth.server.core.hrefs import valid_href

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "Content",
    "Embedded",
    "Field",
    "Moment",
    "Photo",
    "TimeField",
    "Value",
    "Video",
    "as_list",
    "contents",
    "embedded",
    "moment",
    "person_tag",
    "photos",
    "safe_url",
    "safe_urls",
    "sanitize_html",
    "scalar_text",
    "texts",
    "value_view",
    "videos",
]

# Tags and attributes kept in HTML content; everything else (script, style, event
# handlers, javascript: URLs) is removed on output. `time` goes too (its text stays): a
# datetime it names could only be kept if valid, and without one its text must be a date.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "del", "dd", "dl", "dt", "em",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title", "width", "height", "class"},
    "span": {"class"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
_SAFE_PREFIXES = ("http://", "https://")
# mf2 property classes (p-name, u-url, dt-published, e-content): inside content they would
# become properties of the post itself. Root classes (h-card) only add child items.
_PROPERTY_CLASS = re.compile(r"(?:p|u|dt|e)-[a-z0-9]+(?:-[a-z0-9]+)*")
# RFC 5870 geo URI: latitude, longitude, optional altitude and parameters.
_NUMBER = r"-?\d+(?:\.\d+)?"
GEO_URI = re.compile(rf"geo:({_NUMBER}),({_NUMBER})(?:,({_NUMBER}))?(?:;[A-Za-z0-9\-=.;%]*)?")
# How deep nested objects are shown (an h-cite's author's h-card is depth 2).
_MAX_DEPTH = 4
# An img tag as nh3 writes it: every attribute double-quoted, `"` inside escaped.
_IMG_TAG = re.compile(r'<img((?:\s[a-z][a-z0-9-]*="[^"]*")*)\s*/?>')


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [token for token in value.split() if not _PROPERTY_CLASS.fullmatch(token)]
        return " ".join(kept) or None
    if attribute == "cite" and not value.startswith(_SAFE_PREFIXES):
        # nh3 checks the schemes of href and src only.
        return None
    if attribute in ("href", "src", "cite"):
        return valid_href(value)
    return value


def _img_with_alt(match: re.Match[str]) -> str:
    attributes = match.group(1)
    return match.group(0) if ' alt="' in attributes else f'<img{attributes} alt="">'


def sanitize_html(html: str, base: str | None = None) -> Markup:
    """HTML safe to put in a page: only harmless tags, attributes and URL schemes.

    With `base`, relative URLs are made absolute against it (the post's permalink), so
    the page, the feeds and an mf2 parser all see the same links. mf2 property classes
    are removed so pasted markup cannot change what the post says it is.
    """
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener nofollow ugc",
        url_relative=("rewrite_with_base", base) if base else None,
    )
    # HTML requires alt on every img; one the author left without is taken as decorative.
    cleaned = _IMG_TAG.sub(_img_with_alt, cleaned)
    return Markup(cleaned)  # noqa: S704 - nh3 output holds only allowed markup


# --- Plain values -----------------------------------------------------------------------


def as_list(properties: Mapping[str, Any], name: str) -> list[Any]:
    """A property's values; a stray single value counts as a list of one."""
    values = properties.get(name)
    if values is None:
        return []
    return list(values) if isinstance(values, list) else [values]


def scalar_text(value: Any) -> str | None:
    """A value shown as text: strings as they are, numbers as JSON writes them."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        inner = value.get("value")
        return scalar_text(inner) if isinstance(inner, str | int | float) else None
    return None


def texts(values: Iterable[Any]) -> list[str]:
    """The non-empty text of each value, in order."""
    return [text for value in values if (text := scalar_text(value)) and text.strip()]


def safe_url(value: Any, base: str) -> str | None:
    """An absolute http(s) URL for a value (a URL, `{"value": url}` or an h-* with a url)."""
    if isinstance(value, Mapping):
        props = value.get("properties")
        if isinstance(props, Mapping) and "type" in value:
            found = safe_urls(as_list(props, "url"), base)
            return found[0] if found else None
        value = value.get("value")
    if not isinstance(value, str) or not value.strip():
        return None
    url = urljoin(base, value.strip())
    return valid_href(url) if url.startswith(_SAFE_PREFIXES) else None


def safe_urls(values: Iterable[Any], base: str) -> list[str]:
    return [url for value in values if (url := safe_url(value, base))]


@dataclass(frozen=True)
class Moment:
    """A date and time: the machine-readable string and a label for people.

    `datetime` is the client's own string (its offset kept) when it is one; None when the
    value is not a date, and then the label is the value itself.
    """

    datetime: str | None
    label: str


_LOOSE_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
# What HTML's `datetime` attribute accepts of those: a second's fraction of one to three
# digits, and an offset with its minutes (https://html.spec.whatwg.org/#dates-and-times).
_HTML_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


def moment(raw: str) -> Moment:
    """A date or date-time as written, with a `datetime` attribute HTML accepts.

    The text a client sent is kept as the attribute when HTML allows it; otherwise (more
    than three digits of a second, an offset without minutes) the same moment, in the
    same zone, is written the way HTML allows.
    """
    text = raw.strip()
    if not _LOOSE_DATETIME.fullmatch(text):
        return Moment(None, raw)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return Moment(text, text)
    if len(text) == 10:  # a date alone
        return Moment(text, f"{parsed:%Y-%m-%d}")
    label = f"{parsed:%Y-%m-%d %H:%M}"
    if parsed.tzinfo is not None:
        offset = parsed.strftime("%z")
        label += " UTC" if offset == "+0000" else f" {offset[:3]}:{offset[3:]}"
    if not _HTML_DATETIME.fullmatch(text):
        text = parsed.isoformat(timespec="milliseconds" if parsed.microsecond else "seconds")
    return Moment(text, label)


@dataclass(frozen=True)
class Photo:
    url: str
    # The alt text; "" when none was given (then `described` is False).
    alt: str
    # Whether the client gave alt text (possibly "" for a decorative image).
    described: bool = True


def photos(values: Iterable[Any], base: str) -> list[Photo]:
    """Photos in the client's order: a URL, or `{"value": url, "alt": text}`."""
    found = []
    for value in values:
        url = safe_url(value, base)
        if url is None:
            continue
        alt = value.get("alt") if isinstance(value, Mapping) else None
        if isinstance(alt, str):
            found.append(Photo(url=url, alt=alt))
        else:
            found.append(Photo(url=url, alt="", described=False))
    return found


@dataclass(frozen=True)
class Video:
    url: str
    # A still shown before playing: `{"value": url, "poster": url}`.
    poster: str | None = None


def videos(values: Iterable[Any], base: str) -> list[Video]:
    found = []
    for value in values:
        url = safe_url(value, base)
        if url is None:
            continue
        poster = safe_url(value.get("poster"), base) if isinstance(value, Mapping) else None
        found.append(Video(url=url, poster=poster))
    return found


@dataclass(frozen=True)
class Content:
    """Content as sanitized HTML (`html`), or as plain text when `html` is None."""

    text: str
    html: Markup | None = None


def _html_text(html: str) -> str:
    return re.sub(r"<[^>]*>", "", html)


def contents(values: Iterable[Any], base: str) -> list[Content]:
    found = []
    for value in values:
        if isinstance(value, Mapping) and isinstance(value.get("html"), str):
            text = value.get("value")
            plain = text if isinstance(text, str) else _html_text(value["html"])
            found.append(Content(text=plain, html=sanitize_html(value["html"], base)))
        elif (text := scalar_text(value)) is not None and text.strip():
            found.append(Content(text=text))
    return found


# --- Nested objects ---------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A p-* text property of a nested object, e.g. ("locality", "Portland")."""

    prop: str
    text: str


@dataclass(frozen=True)
class TimeField:
    prop: str
    moment: Moment


# Text properties shown for nested objects, in display order: address, then coordinates.
NESTED_TEXT_PROPERTIES = (
    "street-address", "extended-address", "post-office-box", "locality", "region",
    "postal-code", "country-name", "label", "latitude", "longitude", "altitude", "summary",
)  # fmt: skip
NESTED_TIME_PROPERTIES = ("start", "end", "published", "updated")


@dataclass(frozen=True)
class Embedded:
    """A nested mf2 object: an h-card (person, venue), h-cite, h-adr, h-geo or h-event."""

    h_type: str
    names: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)
    authors: list[Value] = field(default_factory=list)
    contents: list[Content] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    times: list[TimeField] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.names:
            return self.names[0]
        if self.urls:
            return self.urls[0]
        return ", ".join(f.text for f in self.fields)

    @property
    def block(self) -> bool:
        """Whether it holds block content (a quote), so must not sit inside a <span>."""
        return bool(self.contents) or any(a.item and a.item.block for a in self.authors)


def embedded(value: Mapping[str, Any], base: str, depth: int = 0) -> Embedded | None:
    """The view of a nested `{"type": ["h-..."], "properties": {...}}`.

    None for something that is not an mf2 object, or one whose every URL is unsafe
    (javascript:, data: ...): such an object is dropped whole.
    """
    types = value.get("type")
    props = value.get("properties")
    if not isinstance(types, list) or not isinstance(props, Mapping) or depth > _MAX_DEPTH:
        return None
    h_type = next((t for t in types if isinstance(t, str) and re.fullmatch(r"h-[a-z-]+", t)), None)
    if h_type is None:
        return None
    raw_urls = as_list(props, "url")
    urls = safe_urls(raw_urls, base)
    if raw_urls and not urls:
        return None
    authors = [
        view
        for author in as_list(props, "author")
        if (view := value_view(author, base, depth + 1)) is not None
    ]
    return Embedded(
        h_type=h_type,
        names=texts(as_list(props, "name")),
        urls=urls,
        photos=photos(as_list(props, "photo"), base),
        authors=authors,
        contents=contents(as_list(props, "content"), base),
        fields=[
            Field(prop, text)
            for prop in NESTED_TEXT_PROPERTIES
            for text in texts(as_list(props, prop))
        ],
        times=[
            TimeField(prop, moment(text))
            for prop in NESTED_TIME_PROPERTIES
            for text in texts(as_list(props, prop))
        ],
    )


@dataclass(frozen=True)
class Value:
    """One value of a property that may be text, a URL, a geo: URI or a nested object.

    `kind` decides the markup: "text" p-*, "url" u-* link, "geo" u-* link to the geo: URI,
    "item" a nested microformat (`item` set, `text` its label).
    """

    kind: Literal["text", "url", "geo", "item"]
    text: str
    item: Embedded | None = None

    @property
    def label(self) -> str:
        """For a geo: URI, its coordinates as people write them."""
        match = GEO_URI.fullmatch(self.text) if self.kind == "geo" else None
        if match is None:
            return self.text
        return ", ".join(part for part in match.groups() if part is not None)


def value_view(value: Any, base: str, depth: int = 0) -> Value | None:
    if isinstance(value, Mapping) and "type" in value:
        item = embedded(value, base, depth)
        return Value("item", item.label, item) if item else None
    text = scalar_text(value)
    if text is None or not text.strip():
        return None
    stripped = text.strip()
    if GEO_URI.fullmatch(stripped):
        return Value("geo", stripped)
    if stripped.startswith(_SAFE_PREFIXES):
        return Value("url", stripped)
    return Value("text", text)


def person_tag(value: Any, base: str) -> Embedded | None:
    """A category naming a person: an h-card, or a URL (shown as an h-card of that URL)."""
    if isinstance(value, Mapping) and "type" in value:
        item = embedded(value, base)
        return item if item and item.h_type == "h-card" else None
    text = scalar_text(value)
    if text and text.strip().startswith(_SAFE_PREFIXES):
        return Embedded(h_type="h-card", urls=[text.strip()])
    return None
