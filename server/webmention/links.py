"""Which URLs a post mentions: the targets of its webmentions.

Spec: https://www.w3.org/TR/webmention/#sending-webmentions (the sender notifies each URL
its post links to). A receiver verifies that the source page links the target, and strict
ones (webmention.rocks) compare the raw `<a href>` value with the target string; so targets
are read from the same view the permalink is rendered from (`hearth.server.core.render.entry_view`),
exactly as its links show them: in-reply-to, like-of, repost-of and bookmark-of (URLs or
h-cites), quotation-of, person tags (h-card or URL categories) and the `<a href>`s of the
sanitized HTML content. Plain-text content is not autolinked on the page, so its URLs are
not sent to; nor are links to this site, or to silos known to have no endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from hearth.server.core.features import installed
from hearth.server.core.models import Post
from hearth.server.core.render import EntryView, entry_view
from hearth.server.core.settings import Settings

# The OutgoingWebmention.target column; longer URLs cannot be recorded, so are not sent.
MAX_TARGET = 2048


def _hosts_without_endpoint() -> frozenset[str]:
    """Hosts the installed features (silos) say take no webmentions: a silo's copies link
    every #tag and @person there, and discovery would fetch a login wall for each."""
    return frozenset().union(*(f.hosts_without_webmention for f in installed()))


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href is not None:
            self.hrefs.append(href)


def anchor_hrefs(html: str) -> list[str]:
    """The `<a href>` values of an HTML fragment, entities decoded, in document order."""
    parser = _Anchors()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def is_own(url: str, settings: Settings) -> bool:
    """Whether `url` is a page of this site (scheme ignored: http and https are one site)."""
    ours, theirs = urlsplit(settings.url), urlsplit(url)
    return (
        theirs.hostname == ours.hostname
        and theirs.port == ours.port
        and (theirs.path or "/").startswith(ours.path)
    )


def _sendable(url: str, settings: Settings) -> bool:
    try:
        parts = urlsplit(url)
        return (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and len(url) <= MAX_TARGET
            and (parts.hostname or "").lower() not in _hosts_without_endpoint()
            and not is_own(url, settings)
        )
    except ValueError:  # a malformed port or IPv6 address
        return False


def linked_urls(view: EntryView) -> list[str]:
    """Every URL the rendered entry links as something it responds to, quotes, tags or cites."""
    urls = [link.url for link in view.context]
    for quote in view.quotations:
        if quote.kind == "url":
            urls.append(quote.text)
        elif quote.item is not None and quote.item.urls:
            urls.append(quote.item.urls[0])
    urls += [tag.urls[0] for tag in view.person_tags if tag.urls]
    if view.content_html is not None:
        urls += anchor_hrefs(str(view.content_html))
    return urls


def outgoing_targets(
    post: Post, settings: Settings, properties: Mapping[str, list[Any]] | None = None
) -> set[str]:
    """The URLs `post`'s page links to (with `properties` instead of its own, if given)."""
    if properties is not None:
        post = Post(
            path=post.path,
            short_code=post.short_code,
            h_type=post.h_type,
            post_type=post.post_type,
            published=post.published,
            updated=post.updated,
            properties=dict(properties),
        )
    return {url for url in linked_urls(entry_view(post, settings)) if _sendable(url, settings)}
