"""Stored post changes, told to whoever listens: the one place follow-up work starts from.

Micropub creates, updates, deletes and undeletes, imports and the admin all call
`post_changed` once the change is stored, inside its transaction. Listeners only enqueue
durable jobs (WebSub pings, webmentions, remote photo copies, a silo's follow-up), so the
request that made the change never waits on another server.

Who listens is decided by the composition root (`hearth.wiring`), which calls
`set_listeners` when the app, a worker or a command starts; the core knows no feature.

A scheduled post (published, its time still to come: `Post.is_scheduled`) is not announced
yet: its changes are held, and one durable job (`hearth.server.core.scheduled`) tells the
listeners at its time, as a creation. Held means nobody hears of it: a webmention listener
would otherwise send the links of a post nobody may see yet (even of one deleted before its
time). The one exception is a post that was public until this change (moved into the
future): the feeds it left must learn so now, and its appearance is announced again later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hearth.server.core import page_changes
from hearth.server.core.models import Post
from hearth.server.core.scheduled import queue_announcement
from hearth.server.core.settings import Settings

__all__ = ["PostChange", "PostListener", "listeners", "post_changed", "set_listeners"]


@dataclass(frozen=True)
class PostChange:
    """A stored change to a post, as listeners are told of it.

    `was_public`: the post was public before this change (so a post that just left view,
    by deletion or a visibility change, still updates feeds). `previous_properties`: its
    properties before an update, so links it no longer has can be told too.
    """

    settings: Settings
    post: Post
    was_public: bool = False
    previous_properties: Mapping[str, list[Any]] | None = None

    @property
    def key(self) -> str:
        """Names this stored change: the same change is never announced twice by a job."""
        return f"post:{self.post.id}:{self.post.modified_at.timestamp():.6f}"


PostListener = Callable[[PostChange], Awaitable[None]]

_listeners: tuple[PostListener, ...] = ()


def set_listeners(new: Iterable[PostListener]) -> None:
    """Who hears of post changes from now on (the composition root calls this at start)."""
    global _listeners
    _listeners = tuple(new)


def listeners() -> tuple[PostListener, ...]:
    return _listeners


async def post_changed(
    settings: Settings,
    post: Post,
    *,
    was_public: bool = False,
    previous_properties: Mapping[str, list[Any]] | None = None,
) -> None:
    """Tell every listener of a stored change to `post`, in the order they were set; for a
    scheduled post, queue its announcement instead (see the module docstring)."""
    # Its pages and every listing change (bumped after the commit: core.page_changes).
    page_changes.changed(post.id)
    if post.is_scheduled():
        if post.deleted_at is None:
            # Idempotent per post and time: every edit of a scheduled post finds the job.
            await queue_announcement(post)
        if not was_public:
            return
    change = PostChange(settings, post, was_public, previous_properties)
    for listener in _listeners:
        await listener(change)
