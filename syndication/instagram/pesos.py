"""Instagram media → own-site post properties (PESOS), pure: no I/O, no database.

PESOS: https://indieweb.org/PESOS. The fields are IG Media's and its carousel children's
(https://developers.facebook.com/docs/instagram-platform/reference/instagram-media), mapped
after OwnYourGram (https://github.com/aaronpk/OwnYourGram) and granary
(https://github.com/snarfed/granary):

* `content` = the caption as HTML with `#tags` linked to Instagram's tag page and `@mentions`
  to the profile, plus the plain caption as `value`; no caption, no content.
* `category` = the hashtags, then person tags (h-cards, `@user` and its profile URL) for the
  mentions: Instagram does not give user tags back, so mentions stand in.
* IMAGE → `photo`; CAROUSEL_ALBUM → its children's `photo`/`video` in order; VIDEO (reels are
  VIDEO too) → `video` with the thumbnail as `poster`; `alt_text` is kept as `alt`.
* `syndication` = the permalink; `published` = the Instagram `timestamp`.

Media URLs in the result are the local copies: `files` maps each remote URL that
`remote_urls` listed to the URL of its copy in Hearth's media store (Instagram's CDN URLs
expire: https://developers.facebook.com/docs/instagram-platform/overview).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hearth.syndication.instagram.graph import Media

TAG_URL = "https://www.instagram.com/explore/tags/{}/"
PROFILE_URL = "https://www.instagram.com/{}/"
# A hashtag or an @mention not glued to a preceding word (so e-mail addresses stay text).
# Usernames: letters, digits, "_" and "." (not at the end), at most 30 characters.
_USER = r"[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?"
_TOKEN = re.compile(rf"(?<![\w@#&/])(?:#(?P<tag>\w+)|@(?P<user>{_USER}))")


def hashtags(caption: str) -> list[str]:
    """The caption's hashtags in order, each once (compared without case)."""
    seen: dict[str, str] = {}
    for match in _TOKEN.finditer(caption):
        if match["tag"]:
            seen.setdefault(match["tag"].lower(), match["tag"])
    return list(seen.values())


def mentions(caption: str) -> list[str]:
    """The `@usernames` of the caption in order, each once, lower-cased (as Instagram does)."""
    found = [m["user"].lower() for m in _TOKEN.finditer(caption) if m["user"]]
    return list(dict.fromkeys(found))


def person_tag(username: str) -> dict[str, Any]:
    return {
        "type": ["h-card"],
        "properties": {"name": [f"@{username}"], "url": [PROFILE_URL.format(username)]},
    }


def caption_html(caption: str) -> str:
    """The caption escaped, with tags and mentions linked and line breaks kept."""
    parts: list[str] = []
    last = 0
    for match in _TOKEN.finditer(caption):
        parts.append(html.escape(caption[last : match.start()]))
        if match["tag"]:
            url = TAG_URL.format(match["tag"].lower())
        else:
            url = PROFILE_URL.format(match["user"].lower())
        parts.append(f'<a href="{html.escape(url)}">{html.escape(match[0])}</a>')
        last = match.end()
    parts.append(html.escape(caption[last:]))
    return "".join(parts).replace("\n", "<br>\n")


def caption_properties(caption: str | None) -> dict[str, list[Any]]:
    """`content` and `category` for a caption; both absent (empty) without one."""
    if not caption or not caption.strip():
        return {}
    properties: dict[str, list[Any]] = {
        "content": [{"html": caption_html(caption), "value": caption}]
    }
    category: list[Any] = [*hashtags(caption), *map(person_tag, mentions(caption))]
    if category:
        properties["category"] = category
    return properties


def _items(media: Media) -> tuple[Media, ...]:
    return media.children if media.media_type == "CAROUSEL_ALBUM" else (media,)


def remote_urls(media: Media) -> list[str]:
    """Every file the copy needs, in order: each item's media and each video's thumbnail."""
    urls: list[str] = []
    for item in _items(media):
        urls += [u for u in (item.media_url, item.thumbnail_url) if u and u not in urls]
    return urls


def missing_files(media: Media) -> list[str]:
    """Items Instagram gave no `media_url` for (copyright-flagged): nothing to copy."""
    items = _items(media)
    return [item.id for item in items if not item.media_url] or ([] if items else [media.id])


def to_post(media: Media, files: Mapping[str, str]) -> tuple[dict[str, list[Any]], datetime | None]:
    """(properties, published) of the own-site copy of `media`.

    `files` must hold a local URL for every URL of `remote_urls(media)`; a missing one raises
    KeyError, so a post is never made that hotlinks Instagram.
    """
    properties = caption_properties(media.caption)
    photos: list[Any] = []
    videos: list[Any] = []
    for item in _items(media):
        if not item.media_url:
            continue
        url = files[item.media_url]
        if item.media_type == "VIDEO":
            poster = files[item.thumbnail_url] if item.thumbnail_url else None
            videos.append({"value": url, "poster": poster} if poster else url)
        else:
            alt = item.alt_text or (media.alt_text if item is media else None)
            photos.append({"value": url, "alt": alt} if alt else url)
    if photos:
        properties["photo"] = photos
    if videos:
        properties["video"] = videos
    if media.permalink:
        properties["syndication"] = [media.permalink]
    return properties, media.timestamp
