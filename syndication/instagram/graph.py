"""The Instagram Graph API's shapes: what `InstagramClient` returns, read from its JSON.

Meta's docs: https://developers.facebook.com/docs/instagram-platform. Media fields and
carousel children:
https://developers.facebook.com/docs/instagram-platform/reference/instagram-media; comments:
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment;
cursor paging: https://developers.facebook.com/docs/graph-api/results; tokens:
https://developers.facebook.com/docs/instagram-platform/reference/access_token.

Pure: frozen dataclasses and the `read_*` functions that build them from decoded response
bodies, with no HTTP. Instagram leaves optional fields out (hidden like counts, copyright-flagged
media, carousel children): those become None or an empty tuple; only a missing `id` (or
`access_token`) is an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from starlette.datastructures import Secret


@dataclass(frozen=True)
class Account:
    """The connected professional account (`GET /me`)."""

    id: str
    username: str


@dataclass(frozen=True)
class Media:
    """An IG Media or a carousel child (which has no caption or permalink)."""

    id: str
    media_type: str  # IMAGE, VIDEO or CAROUSEL_ALBUM; reels are VIDEO with product REELS
    media_product_type: str | None = None
    caption: str | None = None
    media_url: str | None = None  # absent for copyright-flagged media; expires
    thumbnail_url: str | None = None  # VIDEO only
    permalink: str | None = None
    shortcode: str | None = None
    timestamp: datetime | None = None
    like_count: int | None = None  # absent when the owner hides like counts
    comments_count: int | None = None
    alt_text: str | None = None
    children: tuple[Media, ...] = ()


@dataclass(frozen=True)
class Comment:
    """An IG Comment; `replies` is filled for top-level comments listed with replies."""

    id: str
    text: str
    username: str | None = None
    from_id: str | None = None
    timestamp: datetime | None = None
    parent_id: str | None = None
    like_count: int | None = None
    hidden: bool = False
    replies: tuple[Comment, ...] = ()


@dataclass(frozen=True)
class MediaPage:
    """One page of `/me/media`: pass `after` to the next call while `has_next`."""

    items: tuple[Media, ...]
    after: str | None
    has_next: bool


@dataclass(frozen=True)
class Token:
    """An access token from the OAuth endpoints; `expires_in` is in seconds."""

    access_token: Secret
    expires_in: int | None = None
    user_id: str | None = None


def read_paging(data: dict[str, Any]) -> tuple[str | None, bool]:
    paging = data.get("paging") or {}
    after = (paging.get("cursors") or {}).get("after")
    # "If [next is] not included, this is the last page of data" (Meta's paging docs).
    return (str(after) if after else None), bool(paging.get("next"))


def _time(value: Any) -> datetime | None:
    # "2019-09-26T22:36:43+0000": fromisoformat reads this on Python 3.11+.
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def read_media(item: dict[str, Any]) -> Media:
    children = (item.get("children") or {}).get("data") or []
    return Media(
        id=str(item["id"]),
        media_type=str(item.get("media_type") or ""),
        media_product_type=item.get("media_product_type"),
        caption=item.get("caption"),
        media_url=item.get("media_url"),
        thumbnail_url=item.get("thumbnail_url"),
        permalink=item.get("permalink"),
        shortcode=item.get("shortcode"),
        timestamp=_time(item.get("timestamp")),
        like_count=item.get("like_count"),
        comments_count=item.get("comments_count"),
        alt_text=item.get("alt_text"),
        children=tuple(read_media(child) for child in children),
    )


def read_comment(item: dict[str, Any]) -> Comment:
    author = item.get("from") or {}
    replies = (item.get("replies") or {}).get("data") or []
    return Comment(
        id=str(item["id"]),
        text=str(item.get("text") or ""),
        username=item.get("username") or author.get("username"),
        from_id=author.get("id"),
        timestamp=_time(item.get("timestamp")),
        parent_id=item.get("parent_id"),
        like_count=item.get("like_count"),
        hidden=bool(item.get("hidden")),
        replies=tuple(read_comment(reply) for reply in replies),
    )


def with_replies(comments: Iterable[Comment]) -> list[Comment]:
    """Top-level comments each followed by its replies, every reply naming its parent."""
    return [
        c
        for top in comments
        for c in (top, *(replace(r, parent_id=r.parent_id or top.id) for r in top.replies))
    ]


def read_token(data: dict[str, Any]) -> Token:
    expires_in = data.get("expires_in")
    user_id = data.get("user_id")
    return Token(
        access_token=Secret(str(data["access_token"])),
        expires_in=int(expires_in) if isinstance(expires_in, int | float) else None,
        user_id=str(user_id) if user_id is not None else None,
    )
