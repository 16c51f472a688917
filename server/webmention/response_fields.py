"""Reading a webmention source: does it link to the target, and what does it say?

Spec: https://www.w3.org/TR/webmention/#webmention-verification. A source is HTML (the link
must be an `<a href>`, `<img src>`, `<video src>`, `<audio src>` or `<source src>` of the
parsed document: not inside a comment, not escaped text), mf2 JSON (a property whose value
is the target, exactly) or plain text (the target as a substring). URLs are compared after
`normalize_url`: absolute, fragment dropped, scheme and host lower-cased, default port gone.

What the source says is then read from its primary h-entry by `response_fields`: the
response type, content and published date (`entry`: https://www.w3.org/TR/post-type-discovery/,
https://indieweb.org/comments), the author (`authorship`: https://indieweb.org/authorship-spec),
URL and the identities that find the same response relayed by a bridge.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import mf2py
from bs4 import BeautifulSoup

from hearth.server.core.authorship import Author, find_author
from hearth.server.core.mf2 import (
    MAX_NAME,
    normalize_url,
    properties,
    property_strings,
    url_values,
    values_of,
)
from hearth.server.webmention.entry import (
    entry_content,
    primary_entry,
    published_at,
    response_kind,
)

# The interface: reading a source, and what `response_fields` gives back (an `Author`, names
# cut to `MAX_NAME`, URLs in `normalize_url`'s spelling).
__all__ = [
    "MAX_NAME",
    "Author",
    "Document",
    "Fields",
    "media_type",
    "normalize_url",
    "read_document",
    "response_fields",
]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
JSON_TYPES = frozenset({"application/mf2+json", "application/json"})
TEXT_TYPES = frozenset({"text/plain"})
# Elements and the attribute that makes each a link to the target (the spec's list).
LINK_ATTRIBUTES = {"a": "href", "img": "src", "video": "src", "audio": "src", "source": "src"}
LINK_NAMES = list(LINK_ATTRIBUTES)


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
    for element in soup.find_all(LINK_NAMES):  # one walk of the tree for every kind of link
        value = element.get(LINK_ATTRIBUTES[element.name])
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


@dataclass
class Fields:
    """What a response says, ready for the `Interaction` row."""

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


def response_fields(document: Document, source: str, targets: set[str], site_url: str) -> Fields:
    """Read the response from `document` (fetched from `source`) to one of `targets`.

    Identities and threading links on this site (`site_url`) are left out: mf2 implies a
    u-url from a lone link, which would make every such mention look like one response.
    """
    url = document.url
    entry, feed = primary_entry(document.mf2, url, targets)
    props = properties(entry)
    kind, rsvp = response_kind(props, url, targets)
    content_html, content_text = entry_content(props)
    own_urls = [
        u
        for u in url_values(props.get("url"), url, keep_fragment=True)
        if not u.startswith(site_url)
    ]
    # `values_of`: in mf2 JSON a stranger's `uid` may be any value, not a list.
    uids = [u.strip() for u in values_of(props, "uid") if isinstance(u, str) and u.strip()]
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
        published=published_at(props.get("published")),
        identities=identities,
        in_reply_to=[u for u in replies_to if normalize_url(u) not in targets],
        entry=entry,
    )
