"""One Instagram post, two ways home: the zip import and the API copy find each other by time.

The data export has no media ids or permalinks, so the only thing an exported post shares
with its API media is when it was posted. Both directions use the rule below, so "the same
post" means the same thing whichever came home first:

* the API's `timestamp` and one of the export post's times (the post's `creation_timestamp`
  and its files'; the post's is often 1-2 s after the files') are at most `TOLERANCE` apart;
* of several candidates, the closest wins;
* one partner each: a post already linked to another `InstagramMedia` (or an API copy that
  already answered another export post) is never taken again.

    zip first, then poll:  `imported_post`  finds the imported post for a media being copied,
                           `adopt` links it and adds the permalink (u-syndication) to it
    poll first, then zip:  `api_copy`       finds the COPIED media for a post being imported
    both at once:          each checks again under `hold_home_lock` in its transaction
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from tortoise.transactions import in_transaction

from hearth.server.core import timestamps
from hearth.server.core.events import post_changed
from hearth.server.core.models import Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.tables import (
    CopyState,
    InstagramAccount,
    InstagramImport,
    InstagramMedia,
)

# Two posts by one person within this of each other are treated as one: far wider than the
# export's 1-2 s drift, far narrower than anyone posts twice.
TOLERANCE = timedelta(seconds=3)
# `InstagramImport.source` of a post made from the zip (beside "api": its copy was home).
IMPORTED = "imported"

_T = TypeVar("_T")


def distance(times: Sequence[datetime], when: datetime) -> timedelta:
    """How far `when` is from the nearest of `times`."""
    return min(abs(when - t) for t in times)


def closest(times: Sequence[datetime], candidates: Iterable[tuple[datetime, _T]]) -> _T | None:
    """The candidate whose time is nearest one of `times`, if within TOLERANCE; else None."""
    best: tuple[timedelta, _T] | None = None
    for when, candidate in candidates:
        gap = distance(times, when)
        if gap <= TOLERANCE and (best is None or gap < best[0]):
            best = (gap, candidate)
    return best[1] if best else None


async def _ids(
    model: type[InstagramMedia] | type[InstagramImport], post_ids: list[int]
) -> set[int]:
    """Which of `post_ids` already have a row in `model` (they are someone's partner)."""
    if not post_ids:
        return set()
    found = await model.filter(post_id__in=post_ids).values_list("post_id", flat=True)
    return {int(post_id) for post_id in found}  # type: ignore[call-overload]


def _window(times: Sequence[datetime]) -> tuple[datetime, datetime]:
    return min(times) - TOLERANCE, max(times) + TOLERANCE


async def imported_post(timestamp: datetime | None) -> InstagramImport | None:
    """The zip-imported post (its marker) for a media posted at `timestamp`, not yet linked."""
    if timestamp is None:
        return None
    start, end = _window([timestamp])
    markers = await InstagramImport.filter(
        source=IMPORTED, post_id__isnull=False, published__gte=start, published__lte=end
    )
    linked = await _ids(InstagramMedia, [m.post_id for m in markers])  # type: ignore[attr-defined]
    free = [m for m in markers if m.post_id not in linked]  # type: ignore[attr-defined]
    return closest([timestamp], [(m.published, m) for m in free])


async def api_copy(unix_times: Sequence[int]) -> InstagramMedia | None:
    """The media copied through the API (COPIED, with its post) at one of the export's times."""
    if not unix_times:
        return None
    times = [datetime.fromtimestamp(seconds, UTC) for seconds in unix_times]
    start, end = _window(times)
    rows = await InstagramMedia.filter(
        copy_state=CopyState.COPIED, post_id__isnull=False, timestamp__gte=start, timestamp__lte=end
    )
    taken = await _ids(InstagramImport, [r.post_id for r in rows])  # type: ignore[attr-defined]
    free = [r for r in rows if r.post_id not in taken]  # type: ignore[attr-defined]
    return closest(times, [(r.timestamp, r) for r in free if r.timestamp is not None])


async def hold_home_lock() -> None:
    """Inside the transaction that brings a post home (either way): wait for the other way's.

    Each way checks for the other before it downloads or reads files, but the other may finish
    meanwhile. So each checks again inside its transaction after taking this lock (the account
    row, `SELECT ... FOR UPDATE` on PostgreSQL): the second to commit sees the first's row and
    links instead. SQLite lets one writer at a time anyway (a second raises "database is
    locked" and its job is retried, then sees the first).
    """
    await InstagramAccount.select_for_update().order_by("id").first()


class _Taken(Exception):
    """The imported post was linked to another media meanwhile."""


async def adopt(
    settings: Settings,
    imported: InstagramImport,
    permalink: str | None,
    link: Callable[[Post], Awaitable[None]],
) -> bool:
    """Make the imported post the media's copy: `link` it, and add `permalink` to its
    `syndication` so the page shows where it is on Instagram. One transaction.

    False, with nothing changed, if another media took the post meanwhile; whatever `link`
    raises (a lost claim) rolls it all back and goes on to the caller. A post deleted on the
    site is linked (it is home, and must not come back as a copy) but left as it is.
    """
    try:
        async with in_transaction():
            post_id = imported.post_id  # type: ignore[attr-defined]
            post = await Post.select_for_update().get(id=post_id)
            # Checked again under the post's lock: one post, one media, even when two race.
            if await InstagramMedia.filter(post_id=post.id).exists():
                raise _Taken(post.id)
            await link(post)
            syndication = list(post.properties.get("syndication", []))
            if post.deleted_at is not None or not permalink or permalink in syndication:
                return True
            previous = dict(post.properties)
            post.properties = post.properties | {"syndication": [*syndication, permalink]}
            post.updated = timestamps.now()
            await post.save()
            await post_changed(settings, post, previous_properties=previous)
    except _Taken:
        return False
    return True
