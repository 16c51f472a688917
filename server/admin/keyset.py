"""Keyset paging for the admin's lists of posts, newest first, in both directions.

A cursor names the (published, id) of a post at the edge of a page, so a page costs one
indexed range scan however deep it is, and posts added or removed meanwhile shift nothing.
`before` walks to older posts (the page's `rel=next`), `after` back to newer ones
(`rel=prev`). The same idea as `hearth.server.core.posts.page_of`, kept apart so the admin
lists every post (drafts, deleted, scheduled) whatever the public pages come to filter.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from hearth.server.core.models import Post

__all__ = ["CursorError", "KeysetPage", "decode_cursor", "encode_cursor", "newest_first"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CursorError(ValueError):
    """A cursor the admin did not make (or a mangled one)."""


def encode_cursor(post: Post) -> str:
    """An opaque, URL-safe cursor for `post`'s place in the list."""
    micros = (post.published - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{post.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (published, id) a cursor names; `CursorError` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        micros, post_id = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split(".")
        return _EPOCH + timedelta(microseconds=int(micros)), int(post_id)
    except (ValueError, UnicodeError, binascii.Error, OverflowError) as exc:
        raise CursorError(f"malformed cursor {cursor!r}") from exc


@dataclass(frozen=True)
class KeysetPage:
    posts: list[Post]
    # Cursor of the page of older posts (rel=next) and of newer ones (rel=prev); None at the ends.
    older: str | None
    newer: str | None


async def newest_first(
    query: QuerySet[Post], *, limit: int, before: str | None = None, after: str | None = None
) -> KeysetPage:
    """One page of `query`, newest first: the first page, or the one past a cursor.

    Raises `CursorError` for a malformed cursor, or for both directions at once.
    """
    if before and after:
        raise CursorError("give either before or after, not both")
    if after:
        when, post_id = decode_cursor(after)
        newer = (
            await query.filter(_newer_than(when, post_id))
            .order_by("published", "id")
            .limit(limit + 1)
        )
        posts = list(reversed(newer[:limit]))
        return KeysetPage(
            posts=posts,
            older=encode_cursor(posts[-1]) if posts else None,
            newer=encode_cursor(posts[0]) if len(newer) > limit else None,
        )
    if before:
        when, post_id = decode_cursor(before)
        query = query.filter(_older_than(when, post_id))
    rows = await query.order_by("-published", "-id").limit(limit + 1)
    posts = rows[:limit]
    return KeysetPage(
        posts=posts,
        older=encode_cursor(posts[-1]) if len(rows) > limit else None,
        newer=encode_cursor(posts[0]) if before and posts else None,
    )


# (published, id) < (when, post_id), with the bound on `published` standing alone so that
# SQLite's planner keeps the index range (see posts.py).


def _older_than(when: datetime, post_id: int) -> Q:
    return Q(published__lte=when) & (Q(published__lt=when) | Q(id__lt=post_id))


def _newer_than(when: datetime, post_id: int) -> Q:
    return Q(published__gte=when) & (Q(published__gt=when) | Q(id__gt=post_id))
