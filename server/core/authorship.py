"""Who wrote an entry on another site: the author's name, URL and photo.

Spec: https://indieweb.org/authorship-spec (the authorship algorithm), applied to the source
of a webmention (https://www.w3.org/TR/webmention/#webmention-verification, shown with the
response as https://indieweb.org/comments describes) and to the target of a reply, like,
repost or bookmark (its context, https://indieweb.org/reply-context). The algorithm's last
step (fetching the author page) is left out: one page is fetched and nothing it points to
(webmention verification then copies the photo to this site).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hearth.server.core.mf2 import (
    first_value,
    item_types,
    normalize_url,
    plain,
    properties,
    url_values,
    values_of,
)


@dataclass
class Author:
    """Who wrote a response; any part may be unknown."""

    name: str | None = None
    url: str | None = None
    # The remote photo URL; verification replaces it with a locally cached copy.
    photo: str | None = None


def _card(card: Mapping[str, Any], base: str) -> Author:
    """Name, URL and photo of an h-card."""
    props = properties(card)
    name = plain(first_value(props.get("name")))
    urls = url_values(props.get("url"), base, keep_fragment=True)
    photos = url_values(props.get("photo"), base, keep_fragment=True)
    if name is None and not urls:
        name = plain(card.get("value"))
    return Author(name=name, url=urls[0] if urls else None, photo=photos[0] if photos else None)


def _top_cards(mf2: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [item for item in values_of(mf2, "items") if "h-card" in item_types(item)]


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
    # A stranger's mf2 may hold any JSON where a list should be: such values are skipped.
    values = values_of(properties(entry), "author") or values_of(properties(feed), "author")
    author_page = None
    if values:
        first = values[0]
        if "h-card" in item_types(first):
            return _card(first, url)
        text = first_value(values)
        if not isinstance(text, str) or not text.strip().startswith(("http://", "https://")):
            return Author(name=plain(text))
        author_page = normalize_url(text, url, keep_fragment=True)
    if author_page is None:
        rel_author = values_of(mf2.get("rels"), "author")
        first_rel = rel_author[0] if rel_author else None
        author_page = normalize_url(first_rel, url) if isinstance(first_rel, str) else None
    cards = _top_cards(mf2)
    if author_page is not None:
        for card in cards:
            if author_page in url_values(properties(card).get("url"), url, keep_fragment=True):
                return _card(card, url)
        return Author(url=author_page)
    page = normalize_url(url)
    own = [c for c in cards if page in url_values(properties(c).get("url"), url)]
    if own or len(cards) == 1:
        return _card((own or cards)[0], url)
    return Author()
