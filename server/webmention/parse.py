"""Reading a webmention source: does it link to the target, and what does it say?

Spec: https://www.w3.org/TR/webmention/#webmention-verification. A source is HTML (the link
must be an `<a href>`, `<img src>`, `<video src>`, `<audio src>` or `<source src>` of the
parsed document: not inside a comment, not escaped text), mf2 JSON (a property whose value
is the target, exactly) or plain text (the target as a substring). URLs are compared after
`normalize_url`: absolute, fragment dropped, scheme and host lower-cased, default port gone.

What the source says is then read from its primary h-entry by `response_fields`: the
response type (https://www.w3.org/TR/post-type-discovery/, for the properties that name the
target), the author (https://indieweb.org/authorship-spec), content sanitized with nh3,
published, URL and the identities that find the same response relayed by a bridge.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import mf2py
import nh3
from bs4 import BeautifulSoup

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
JSON_TYPES = frozenset({"application/mf2+json", "application/json"})
TEXT_TYPES = frozenset({"text/plain"})
# Elements and the attribute that makes each a link to the target (the spec's list).
LINK_ATTRIBUTES = {"a": "href", "img": "src", "video": "src", "audio": "src", "source": "src"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
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
MAX_NAME = 120
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def normalize_url(
    value: str, base: str | None = None, *, keep_fragment: bool = False
) -> str | None:
    """`value` as an absolute http(s) URL in one canonical spelling, or None.

    Relative values are resolved against `base`. The scheme and host are lower-cased, a
    default port and any user info are dropped, an empty path becomes "/" and, unless
    `keep_fragment`, the fragment is removed. Anything else is kept as it is.
    """
    try:
        parts = urlsplit(urljoin(base, value.strip()) if base else value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, fragment))


@dataclass
class Document:
    """A fetched source: the URLs it links to (normalized) and its microformats."""

    url: str
    links: set[str] = field(default_factory=set)
    # The whole mf2 parse ({"items": [...], "rels": {...}}); empty for plain text.
    mf2: dict[str, Any] = field(default_factory=dict)
    text: str | None = None

    def links_to(self, targets: set[str]) -> bool:
        """Whether the document mentions any of `targets` (normalized URLs)."""
        if self.text is not None:
            # The URL as a string (the spec's rule), not as the start of a longer path.
            return any(re.search(re.escape(t) + r"(?![\w/%-])", self.text) for t in targets)
        return not self.links.isdisjoint(targets)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def read_document(body: bytes, content_type: str, url: str, charset: str | None) -> Document | None:
    """Parse a source body by its media type; None if the type is not one we read.

    CPU-bound (html5lib and mf2py): call it in a thread.
    """
    kind = media_type(content_type)
    if kind in HTML_TYPES:
        return _read_html(body, url, charset)
    if kind in JSON_TYPES:
        return _read_mf2_json(body, url)
    if kind in TEXT_TYPES:
        return Document(url=url, text=_decoded(body, charset) or body.decode(errors="replace"))
    return None


def _decoded(body: bytes, charset: str | None) -> str | None:
    """`body` in its declared charset; None without one (or with one Python lacks)."""
    try:
        return body.decode(charset, errors="replace") if charset else None
    except LookupError:
        return None


def _read_html(body: bytes, url: str, charset: str | None) -> Document:
    # Without a usable declared charset, BeautifulSoup sniffs <meta charset> and the bytes.
    markup = _decoded(body, charset) or body
    soup = BeautifulSoup(markup, "html5lib")
    base_tag = soup.find("base", href=True)
    base = urljoin(url, str(base_tag["href"])) if base_tag is not None else url
    links = set()
    for tag, attribute in LINK_ATTRIBUTES.items():
        for element in soup.find_all(tag):
            value = element.get(attribute)
            normalized = normalize_url(value, base) if isinstance(value, str) else None
            if normalized:
                links.add(normalized)
    return Document(url=url, links=links, mf2=mf2py.parse(doc=soup, url=url))


def _read_mf2_json(body: bytes, url: str) -> Document | None:
    """mf2 JSON (`{"items": [...]}`); other JSON is not a source we understand."""
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return None
        values = list(property_strings(data["items"]))
    except (ValueError, RecursionError):  # not JSON, or nested too deep to be mf2
        return None
    links = {u for u in (normalize_url(v, url) for v in values) if u}
    return Document(url=url, links=links, mf2=data)


def _walk(items: Any) -> Iterator[Any]:
    """Every property value of `items` and of their nested items and children."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        properties = item.get("properties")
        for values in properties.values() if isinstance(properties, Mapping) else []:
            for value in values if isinstance(values, list) else []:
                yield value
                if isinstance(value, Mapping) and "type" in value:
                    yield from _walk([value])
        yield from _walk(item.get("children"))


def property_strings(items: Any) -> Iterator[str]:
    """The plain values in mf2 `items`: strings, and `value` of objects."""
    for value in _walk(items):
        if isinstance(value, str):
            yield value
        elif isinstance(value, Mapping) and isinstance(value.get("value"), str):
            yield value["value"]


def clean_html(html: str) -> str:
    """Received HTML made safe to show: see CONTENT_TAGS. Applied on storage and on output."""
    return nh3.clean(
        html[:MAX_HTML],
        tags=CONTENT_TAGS,
        attributes=CONTENT_ATTRIBUTES,
        url_schemes={"http", "https"},
        url_relative="deny",
        link_rel="nofollow ugc noopener",
    )


def plain(value: Any, limit: int = MAX_NAME) -> str | None:
    """A one-line text: whitespace and control characters collapsed, cut to `limit`."""
    text = _SPACE.sub(" ", value).strip()[:limit] if isinstance(value, str) else ""
    return text or None


@dataclass
class Author:
    name: str | None = None
    url: str | None = None
    # The remote photo URL; verification replaces it with a locally cached copy.
    photo: str | None = None


@dataclass
class Fields:
    """What a response says, ready for the `Response` row."""

    url: str
    kind: str = "mention"
    rsvp: str | None = None
    author: Author = field(default_factory=Author)
    content_html: str | None = None
    content_text: str | None = None
    published: datetime | None = None
    # u-url, u-syndication and uid values and the source itself (fragments kept).
    identities: list[str] = field(default_factory=list)
    # What else the response replies to (e.g. another comment): threading.
    in_reply_to: list[str] = field(default_factory=list)
    entry: dict[str, Any] | None = None


def _props(item: Mapping[str, Any] | None) -> Mapping[str, list[Any]]:
    properties = item.get("properties") if item else None
    return properties if isinstance(properties, Mapping) else {}


def _types(item: Any) -> list[str]:
    return item.get("type", []) if isinstance(item, Mapping) else []


def url_values(values: Any, base: str, *, keep_fragment: bool = False) -> list[str]:
    """The URLs in property values: strings, an object's `value` and its `url`s."""
    found = []
    for value in values if isinstance(values, list) else []:
        raw: list[Any] = [value]
        if isinstance(value, Mapping):
            raw = [value.get("value"), *_props(value).get("url", [])]
        for candidate in raw:
            url = (
                normalize_url(candidate, base, keep_fragment=keep_fragment)
                if isinstance(candidate, str)
                else None
            )
            if url and url not in found:
                found.append(url)
    return found


def _text(values: Any) -> str | None:
    first = values[0] if isinstance(values, list) and values else None
    return first.get("value") if isinstance(first, Mapping) else first


def primary_entry(
    mf2: Mapping[str, Any], url: str, targets: set[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the h-entry the page is about, its parent h-feed or None).

    The entry whose u-url is the page; else the first top-level h-entry; else the first
    h-entry of a top-level h-feed that names a target; else that feed's first entry.
    """
    candidates: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for item in mf2.get("items") or []:
        if "h-entry" in _types(item):
            candidates.append((item, None))
        elif "h-feed" in _types(item):
            entries = [c for c in item.get("children") or [] if "h-entry" in _types(c)]
            candidates.extend((entry, item) for entry in entries)
    page = normalize_url(url)
    for entry, feed in candidates:
        if page in url_values(_props(entry).get("url"), url):
            return entry, feed
    top = [c for c in candidates if c[1] is None]
    naming = [
        c for c in candidates if targets & {normalize_url(s, url) for s in property_strings([c[0]])}
    ]
    chosen = top or naming or candidates
    return chosen[0] if chosen else (None, None)


def _card(card: Mapping[str, Any], base: str) -> Author:
    """Name, URL and photo of an h-card."""
    props = _props(card)
    name = plain(_text(props.get("name")))
    urls = url_values(props.get("url"), base, keep_fragment=True)
    photos = url_values(props.get("photo"), base, keep_fragment=True)
    if name is None and not urls:
        name = plain(card.get("value"))
    return Author(name=name, url=urls[0] if urls else None, photo=photos[0] if photos else None)


def _top_cards(mf2: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [item for item in mf2.get("items") or [] if "h-card" in _types(item)]


def find_author(
    mf2: Mapping[str, Any],
    entry: Mapping[str, Any] | None,
    feed: Mapping[str, Any] | None,
    url: str,
) -> Author:
    """The authorship algorithm (https://indieweb.org/authorship-spec), without fetching.

    The entry's `author` (else its feed's): an h-card is the author, a URL names the
    author page, anything else is the name. With no author, the page's rel-author names
    the author page. An author page becomes the h-card on this page whose url is that page,
    else the bare URL (the author page itself is not fetched). Hearth's fallback for a page
    with no authorship at all is its own h-card: the one whose url is the page, else the
    only one.
    """
    values = _props(entry).get("author") or _props(feed).get("author") or []
    author_page = None
    if values:
        first = values[0]
        if "h-card" in _types(first):
            return _card(first, url)
        text = _text(values)
        if not isinstance(text, str) or not text.strip().startswith(("http://", "https://")):
            return Author(name=plain(text))
        author_page = normalize_url(text, url, keep_fragment=True)
    if author_page is None:
        rel_author = (mf2.get("rels") or {}).get("author") or []
        author_page = normalize_url(rel_author[0], url) if rel_author else None
    cards = _top_cards(mf2)
    if author_page is not None:
        for card in cards:
            if author_page in url_values(_props(card).get("url"), url, keep_fragment=True):
                return _card(card, url)
        return Author(url=author_page)
    page = normalize_url(url)
    own = [c for c in cards if page in url_values(_props(c).get("url"), url)]
    if own or len(cards) == 1:
        return _card((own or cards)[0], url)
    return Author()


def _published(values: Any) -> datetime | None:
    text = _text(values)
    try:
        when = datetime.fromisoformat(text.strip()) if isinstance(text, str) else None
    except ValueError:
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _kind(props: Mapping[str, list[Any]], base: str, targets: set[str]) -> tuple[str, str | None]:
    """(reply | rsvp | repost | like | bookmark | mention, the RSVP value)."""
    if targets.intersection(url_values(props.get("in-reply-to"), base)):
        rsvp = plain(_text(props.get("rsvp")))
        rsvp = rsvp.lower() if rsvp else None
        return ("rsvp", rsvp) if rsvp in RSVP_VALUES else ("reply", None)
    for prop, kind in KIND_PROPERTIES:
        if targets.intersection(url_values(props.get(prop), base)):
            return kind, None
    return "mention", None


def _content(props: Mapping[str, list[Any]]) -> tuple[str | None, str | None]:
    """(sanitized HTML, text): e-content, else p-content, summary or name as text."""
    first = (props.get("content") or [None])[0]
    if isinstance(first, Mapping) and isinstance(first.get("html"), str):
        text = first.get("value")
        return clean_html(first["html"]), text[:MAX_TEXT] if isinstance(text, str) else None
    for prop in ("content", "summary", "name"):
        text = _text(props.get(prop))
        if isinstance(text, str) and text.strip():
            return None, text.strip()[:MAX_TEXT]
    return None, None


def response_fields(document: Document, source: str, targets: set[str], site_url: str) -> Fields:
    """Read the response from `document` (fetched from `source`) to one of `targets`.

    Identities and threading links on this site (`site_url`) are left out: mf2 implies a
    u-url from a lone link, which would make every such mention look like one response.
    """
    url = document.url
    entry, feed = primary_entry(document.mf2, url, targets)
    props = _props(entry)
    kind, rsvp = _kind(props, url, targets)
    content_html, content_text = _content(props)
    own_urls = [
        u
        for u in url_values(props.get("url"), url, keep_fragment=True)
        if not u.startswith(site_url)
    ]
    uids = [u.strip() for u in props.get("uid", []) if isinstance(u, str) and u.strip()]
    syndication = url_values(props.get("syndication"), url, keep_fragment=True)
    identities = []
    for identity in [
        normalize_url(source, keep_fragment=True) or source,
        *own_urls,
        *syndication,
        *uids,
    ]:
        if identity not in identities and not identity.startswith(site_url):
            identities.append(identity)
    replies_to = url_values(props.get("in-reply-to"), url, keep_fragment=True)
    return Fields(
        url=own_urls[0] if own_urls else source,
        kind=kind,
        rsvp=rsvp,
        author=find_author(document.mf2, entry, feed, url),
        content_html=content_html,
        content_text=content_text,
        published=_published(props.get("published")),
        identities=identities,
        in_reply_to=[u for u in replies_to if normalize_url(u) not in targets],
        entry=entry,
    )
