"""Scheduled posts: a published post whose `published` time is still to come.

The one rule every public query, page check and post-change announcement shares, so they
cannot drift: a post is *scheduled* while its status is published and its `published` time
is later than now (`Post.is_scheduled`, and `has_appeared` below for queries; the clock is
`timestamps.instant`). Until then it is hidden (off the home page, tag pages, feeds, its
permalink and short link for everyone but the owner, off Micropub `q=source` for tokens
that cannot read drafts) and its changes are not told to the post-change listeners
(`hearth.server.core.events`): no webmention, WebSub ping or silo copy goes out. Instead
one durable `ANNOUNCE_KIND` job waits for its time (`queue_announcement`); the scheduling
feature (`hearth.server.scheduling`) handles it, and announces the post as a creation then.

Queries filter with `has_appeared()` (`published <= now`): a range on `published`, which
every listing query already orders by and the posts index ends with, so it costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q

from hearth.server.core import job_queue, timestamps
from hearth.server.core.models import Job, Post

__all__ = [
    "ANNOUNCE_KIND",
    "announcement_key",
    "announcement_statement",
    "has_appeared",
    "last_shown_change",
    "queue_announcement",
]

# The job that announces a scheduled post at its time; its handler is a feature's
# (`hearth.server.scheduling`), since the core runs no listener of its own accord.
ANNOUNCE_KIND = "post.announce"


def has_appeared(at: datetime | None = None) -> Q:
    """The filter for posts whose time has come (`published <= at`, default now): the
    query form of `Post.is_scheduled`, which every listing of visible posts applies."""
    return Q(published__lte=at or timestamps.instant())


def last_shown_change(items: Iterable[Post]) -> datetime | None:
    """Last-Modified for a page showing `items` (visible posts): the newest of their
    `modified_at` and `published`.

    A scheduled post that appears was stored long before; with `modified_at` alone, a
    conditional GET right after its time would get a 304 for the page without it.
    """
    return max((max(p.modified_at, p.published) for p in items), default=None)


def announcement_key(post_id: int, published: datetime) -> str:
    """One announcement per post and time: re-queuing for the same time finds the job."""
    return f"announce:{post_id}:{published.astimezone(UTC).timestamp():.6f}"


async def queue_announcement(post: Post) -> Job:
    """Queue the job that announces `post` at its `published` time (once per time).

    A post moved to another time gets a second job; the first one, when it runs, finds the
    post's time is not its own and does nothing (`hearth.server.scheduling`).
    """
    published = post.published.astimezone(UTC)
    return await job_queue.enqueue(
        ANNOUNCE_KIND,
        _announcement_payload(post.id, published),
        key=announcement_key(post.id, published),
        run_at=published,
    )


def announcement_statement(post: Post, now: datetime) -> tuple[str, tuple[Any, ...]]:
    """`queue_announcement` of a post just made, as a statement of a `core.one_trip` unit."""
    published = post.published.astimezone(UTC)
    return job_queue.insert_statement(
        ANNOUNCE_KIND,
        _announcement_payload(post.id, published),
        key=announcement_key(post.id, published),
        now=now,
        run_at=published,
    )


def _announcement_payload(post_id: int, published: datetime) -> dict[str, Any]:
    return {"post_id": post_id, "published": published.isoformat()}
