"""The site's feeds: Atom, RSS 2.0 and JSON Feed, each with the latest public posts.

Specs: Atom https://www.rfc-editor.org/rfc/rfc4287, RSS 2.0
https://www.rssboard.org/rss-specification, JSON Feed 1.1 https://www.jsonfeed.org/version/1.1/,
paging https://www.rfc-editor.org/rfc/rfc5005#section-3, WebSub discovery
https://www.w3.org/TR/websub/#discovery.

All three are built from the same `EntryView`s the HTML pages show, so a feed item says what
the permalink says. XML is built with ElementTree (never by string pasting), and every string
goes through `xml_text` first, which drops the characters XML 1.0 cannot carry at all (most
C0 controls, lone surrogates, U+FFFE/U+FFFF): escaping alone cannot make those well-formed.

Atom and JSON Feed page with `?before=<cursor>` (the home page's keyset cursors) and link the
next page with rel=next / `next_url`; RSS has no paging and always shows the latest page.
When a WebSub hub is configured every feed names it (rel=hub) and itself (rel=self), in the
document and in `Link` headers, which is what subscribers and hubs look for.

Every feed page is offered to the page cache (`hearth.server.core.page_cache`) under the
listings' generation, which every post change moves.
"""

from __future__ import annotations

import mimetypes
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hearth.server.core import posts
from hearth.server.core.caching import conditional
from hearth.server.core.features import Feature
from hearth.server.core.media.files import stored_files
from hearth.server.core.models import Media, Post
from hearth.server.core.page_generations import LISTINGS
from hearth.server.core.render import EntryView, OwnerCard, entry_view, owner_card
from hearth.server.core.scheduled import last_shown_change
from hearth.server.core.settings import Settings
from hearth.server.core.site_links import SiteLink, link_header
from hearth.server.core.timestamps import rfc822, rfc3339
from hearth.server.core.web import settings_of

ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
JSON_FEED_TYPE = "application/feed+json"

# Site-relative paths of the feeds; also the WebSub topics besides the home page.
ATOM_PATH = "feed.atom"
RSS_PATH = "feed.rss"
JSON_FEED_PATH = "feed.json"

# `<updated>` is required even in an empty Atom feed; a fixed value keeps its ETag stable.
_EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)

# Everything outside the XML 1.0 `Char` production: C0 controls except tab, LF and CR,
# (lone) surrogates, and U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BLANK_LINES = re.compile(r"\n\s*\n")


def xml_text(text: str) -> str:
    """`text` without the characters that no XML 1.0 document may contain, even escaped."""
    return _XML_ILLEGAL.sub("", text)


def topic_urls(settings: Settings) -> list[str]:
    """The URLs WebSub subscribers may subscribe to: the home page and every feed."""
    return [
        settings.url,
        *(settings.absolute(path) for path in (ATOM_PATH, RSS_PATH, JSON_FEED_PATH)),
    ]


def hub_links(settings: Settings) -> list[SiteLink]:
    """rel=hub and rel=self for the home page, when a WebSub hub is configured."""
    if not settings.websub_hub:
        return []
    return [SiteLink("hub", settings.websub_hub), SiteLink("self", settings.url)]


# --- What every format shows ------------------------------------------------------------


@dataclass(frozen=True)
class FeedPage:
    """One page of a feed, format-independent."""

    settings: Settings
    owner: OwnerCard
    entries: list[EntryView]
    # The feed's own URL (with the cursor for a later page), and the next page's, if any.
    self_url: str
    next_url: str | None
    # Newest change among the shown posts; None for an empty feed.
    last_modified: datetime | None
    # The files of this site's media store that the entries show, by URL: their size and
    # type as stored (enclosures need the length; remote files' is unknown).
    files: Mapping[str, Media] = field(default_factory=dict)

    def enclosure(self, url: str, fallback_type: str) -> tuple[str, int | None]:
        """The media type and byte length of a file an entry shows (None: unknown)."""
        if (stored := self.files.get(url)) is not None:
            return stored.content_type, stored.size
        return _media_type(url, fallback_type), None

    @property
    def home_url(self) -> str:
        return self.settings.url

    @property
    def title(self) -> str:
        return self.owner.name

    @property
    def description(self) -> str:
        return self.owner.note or f"Posts by {self.owner.name}"


def _media_type(url: str, fallback: str) -> str:
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0].split("#", 1)[0])
    return guessed or fallback


def _text_html(text: str) -> Markup:
    """Plain-text content as HTML: paragraphs at blank lines, line breaks kept."""
    paragraphs = [p.strip() for p in _BLANK_LINES.split(text.replace("\r\n", "\n")) if p.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in p.split("\n")))
        for p in paragraphs
    )


def item_html(e: EntryView) -> str:
    """The HTML body of a feed item: context links, content, photos, videos and audio.

    `content_html` is already sanitized; everything else is escaped here.
    """
    parts: list[Markup] = [
        Markup('<p>{} <a href="{}">{}</a></p>').format(c.label, c.url, c.url) for c in e.context
    ]
    if e.content_html is not None:
        parts.append(e.content_html)
    elif e.content_text:
        parts.append(_text_html(e.content_text))
    parts += [Markup('<p><img src="{}" alt="{}"></p>').format(p.url, p.alt) for p in e.photos]
    parts += [
        Markup('<p><video src="{}" controls><a href="{}">Video</a></video></p>').format(v, v)
        for v in e.videos
    ]
    parts += [
        Markup('<p><audio src="{}" controls><a href="{}">Audio</a></audio></p>').format(a, a)
        for a in e.audios
    ]
    return xml_text(str(Markup("\n").join(parts)))


def _entry_updated(e: EntryView) -> datetime:
    return e.updated or e.published


# --- XML helpers ------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _xml_bytes(root: ET.Element) -> bytes:
    body = ET.tostring(root, encoding="unicode")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body.encode("utf-8")


# --- Atom -------------------------------------------------------------------------------


def render_atom(page: FeedPage) -> bytes:
    settings = page.settings
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _sub(feed, "id", settings.absolute(ATOM_PATH))
    _sub(feed, "title", page.title, type="text")
    if page.owner.note:
        _sub(feed, "subtitle", page.owner.note, type="text")
    _sub(feed, "updated", rfc3339(page.last_modified or _EMPTY_FEED_UPDATED))
    author = _sub(feed, "author")
    _sub(author, "name", page.owner.name)
    _sub(author, "uri", page.owner.url)
    if page.owner.photo:
        _sub(feed, "icon", page.owner.photo)
    _sub(feed, "link", rel="alternate", type="text/html", href=page.home_url)
    _sub(feed, "link", rel="self", type=ATOM_TYPE, href=page.self_url)
    if settings.websub_hub:
        _sub(feed, "link", rel="hub", href=settings.websub_hub)
    if page.next_url:
        _sub(feed, "link", rel="next", type=ATOM_TYPE, href=page.next_url)
    _sub(feed, "generator", "Hearth")
    for e in page.entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", e.url)
        _sub(entry, "title", e.title, type="text")
        _sub(entry, "link", rel="alternate", type="text/html", href=e.url)
        _sub(entry, "published", rfc3339(e.published))
        _sub(entry, "updated", rfc3339(_entry_updated(e)))
        for category in e.categories:
            _sub(entry, "category", term=category)
        for photo in e.photos:
            kind, length = page.enclosure(photo.url, "image/jpeg")
            sized = {"length": str(length)} if length is not None else {}
            _sub(entry, "link", rel="enclosure", type=kind, href=photo.url, **sized)
        for url in e.syndication:
            _sub(entry, "link", rel="syndication", href=url)
        if e.summary:
            _sub(entry, "summary", e.summary, type="text")
        _sub(entry, "content", item_html(e), type="html")
    return _xml_bytes(feed)


# --- RSS 2.0 ----------------------------------------------------------------------------


def render_rss(page: FeedPage) -> bytes:
    settings = page.settings
    rss = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS, "xmlns:dc": DC_NS})
    channel = _sub(rss, "channel")
    _sub(channel, "title", page.title)
    _sub(channel, "link", page.home_url)
    _sub(channel, "description", page.description)
    _sub(channel, "atom:link", rel="self", type=RSS_TYPE, href=page.self_url)
    if settings.websub_hub:
        _sub(channel, "atom:link", rel="hub", href=settings.websub_hub)
    if page.last_modified is not None:
        _sub(channel, "lastBuildDate", rfc822(page.last_modified))
    _sub(channel, "generator", "Hearth")
    if page.owner.photo:
        image = _sub(channel, "image")
        _sub(image, "url", page.owner.photo)
        _sub(image, "title", page.title)
        _sub(image, "link", page.home_url)
    for e in page.entries:
        item = _sub(channel, "item")
        # Notes have no title in RSS (readers show the description), articles do.
        description = item_html(e)
        if e.name or not description:
            _sub(item, "title", e.title)
        _sub(item, "link", e.url)
        _sub(item, "guid", e.url, isPermaLink="true")
        _sub(item, "pubDate", rfc822(e.published))
        _sub(item, "dc:creator", page.owner.name)
        for category in e.categories:
            _sub(item, "category", category)
        if description:
            _sub(item, "description", description)
        # RSS allows one enclosure per item, and requires its length: the stored file's, or
        # for a file elsewhere 0, the RSS Advisory Board's value for an unknown length.
        if e.photos:
            photo = e.photos[0].url
            kind, length = page.enclosure(photo, "image/jpeg")
            _sub(item, "enclosure", url=photo, length=str(length or 0), type=kind)
    return _xml_bytes(rss)


# --- JSON Feed 1.1 ----------------------------------------------------------------------


def _json_clean(value: Any) -> Any:
    """Every string in `value` without characters UTF-8 (and XML) cannot carry."""
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, list):
        return [_json_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_clean(v) for k, v in value.items()}
    return value


def _attachment(page: FeedPage, url: str, fallback_type: str, title: str = "") -> dict[str, Any]:
    kind, length = page.enclosure(url, fallback_type)
    attachment: dict[str, Any] = {"url": url, "mime_type": kind}
    if title:
        attachment["title"] = title
    if length is not None:
        attachment["size_in_bytes"] = length
    return attachment


def _json_item(page: FeedPage, e: EntryView) -> dict[str, Any]:
    item: dict[str, Any] = {"id": e.url, "url": e.url}
    # JSON Feed readers show content for items without a title, which is right for notes.
    if e.name:
        item["title"] = e.name
    item["content_html"] = item_html(e)
    # Plain-text posts also give their text as such; for HTML posts `content_html` says it.
    if e.content_html is None and e.content_text:
        item["content_text"] = e.content_text
    if e.summary:
        item["summary"] = e.summary
    if e.photos:
        item["image"] = e.photos[0].url
    item["date_published"] = rfc3339(e.published)
    if e.updated:
        item["date_modified"] = rfc3339(e.updated)
    if e.categories:
        item["tags"] = e.categories
    attachments = [_attachment(page, p.url, "image/jpeg", p.alt) for p in e.photos]
    attachments += [_attachment(page, v, "video/mp4") for v in e.videos]
    attachments += [_attachment(page, a, "audio/mpeg") for a in e.audios]
    if attachments:
        item["attachments"] = attachments
    return item


def render_json_feed(page: FeedPage) -> bytes:
    settings = page.settings
    author: dict[str, Any] = {"name": page.owner.name, "url": page.owner.url}
    if page.owner.photo:
        author["avatar"] = page.owner.photo
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": page.title,
        "home_page_url": page.home_url,
        "feed_url": page.self_url,
        "description": page.description,
        "authors": [author],
    }
    if page.next_url:
        feed["next_url"] = page.next_url
    if settings.websub_hub:
        feed["hubs"] = [{"type": "WebSub", "url": settings.websub_hub}]
    feed["items"] = [_json_item(page, e) for e in page.entries]
    return orjson.dumps(_json_clean(feed))


# --- Serving ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedFormat:
    path: str
    media_type: str
    render: Callable[[FeedPage], bytes]
    # Whether `?before=` pages exist (and rel=next points to them).
    paged: bool
    title: str


ATOM = FeedFormat(ATOM_PATH, ATOM_TYPE, render_atom, paged=True, title="Atom feed")
RSS = FeedFormat(RSS_PATH, RSS_TYPE, render_rss, paged=False, title="RSS feed")
JSON_FEED = FeedFormat(
    JSON_FEED_PATH, JSON_FEED_TYPE, render_json_feed, paged=True, title="JSON Feed"
)
FORMATS = (ATOM, RSS, JSON_FEED)


def _newest(items: Iterable[Post]) -> datetime | None:
    # Also each post's `published`: a scheduled post appearing changes the feed, not its row.
    return last_shown_change(items)


async def feed_page(settings: Settings, fmt: FeedFormat, before: str | None) -> FeedPage:
    """The page of `fmt` starting after cursor `before` (None: the latest posts)."""
    page = await posts.page_of(posts.public_posts(), limit=settings.page_size, before=before)
    feed_url = settings.absolute(fmt.path)
    entries = [entry_view(post, settings) for post in page.posts]
    shown = [url for e in entries for url in (*(p.url for p in e.photos), *e.videos, *e.audios)]
    return FeedPage(
        settings=settings,
        owner=await owner_card(settings),
        entries=entries,
        self_url=f"{feed_url}?before={before}" if before else feed_url,
        next_url=f"{feed_url}?before={page.before}" if fmt.paged and page.before else None,
        last_modified=_newest(page.posts),
        files=await stored_files(settings, shown),
    )


def _serve(fmt: FeedFormat) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        settings = settings_of(request)
        before = request.query_params.get("before") if fmt.paged else None
        try:
            page = await feed_page(settings, fmt, before or None)
        except posts.CursorError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        links: list[SiteLink] = []
        if settings.websub_hub:
            links += [
                SiteLink("hub", settings.websub_hub),
                SiteLink("self", page.self_url, fmt.media_type),
            ]
        if page.next_url:
            links.append(SiteLink("next", page.next_url, fmt.media_type))
        headers = {"X-Content-Type-Options": "nosniff"}
        if links:
            headers["Link"] = link_header(settings, links)
        response = Response(
            fmt.render(page), media_type=f"{fmt.media_type}; charset=utf-8", headers=headers
        )
        return conditional(request, response, page.last_modified, shared_as=LISTINGS)

    endpoint.__name__ = f"feed_{fmt.path.replace('.', '_')}"
    return endpoint


routes = [Route(f"/{fmt.path}", _serve(fmt), name=fmt.path.replace(".", "_")) for fmt in FORMATS]

links: list[SiteLink] = [
    SiteLink("alternate", fmt.path, type=fmt.media_type, title=fmt.title) for fmt in FORMATS
]

FEATURE = Feature("feeds", routes=routes, site_links=links)
