"""Scheduled posts as a feature: the job that announces a post at its time, and its note.

A post whose `published` time is still to come is hidden and its changes are held
(`hearth.server.core.scheduled`, `hearth.server.core.events`); each held change queues one
`post.announce` job for the post's time (idempotent per post and time). This feature runs
that job: when it is due it tells the post-change listeners of the post as of a creation,
so they queue their webmentions, WebSub pings and silo work then, through the same code
path as any other change.

Why a feature of its own rather than part of the core or of Micropub: the core never runs a
job handler (the worker gets handlers from features), and posts are scheduled from every
way a post is made (Micropub clients, the editor, imports), so it belongs to none of them.

The job stays right whatever happens to the post before its time:

- moved to a later time: the job finds the post still scheduled and queues the job of the
  new time (the same one the edit queued, by its key), announcing nothing early;
- moved to an earlier time, or published now: that time's job, or the edit itself,
  announced it; this one finds it announced already;
- deleted or made a draft: nothing to announce (an undelete or a publish is a change told
  as any other).

Announcing is a compare-and-set on the post's `modified_at`: it is raised to the post's
`published` time only if it is older, in the transaction that tells the listeners. So a
post is announced once however many jobs (or repeated runs after a crash) reach it, and the
announcement is a stored change of its own (`PostChange.key` names it), distinct from any
change told before, such as a public post's move into the future.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from tortoise.transactions import in_transaction

from hearth.server.core import job_queue
from hearth.server.core.events import post_changed
from hearth.server.core.features import Feature, PermalinkNote
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.models import Post
from hearth.server.core.publication import Status
from hearth.server.core.scheduled import ANNOUNCE_KIND, queue_announcement

__all__ = ["FEATURE", "announce", "scheduled_note"]


async def announce(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Job handler: announce the post if its time has come and nobody announced it yet."""
    post_id = payload.get("post_id")
    if not isinstance(post_id, int):
        raise job_queue.PermanentFailure("post.announce needs a post_id")
    async with in_transaction():
        post = await Post.get_or_none(id=post_id)
        if post is None or post.deleted_at is not None or post.status != Status.PUBLISHED:
            return  # gone, deleted or a draft: whatever brings it back is told then
        if post.is_scheduled():
            # Moved later since this job was queued: wait for the new time instead.
            await queue_announcement(post)
            return
        # Compare-and-set: only the first to get here announces (see the module docstring).
        claimed = await Post.filter(id=post.id, modified_at__lt=post.published).update(
            modified_at=post.published
        )
        if not claimed:
            return
        await post.refresh_from_db()
        await post_changed(ctx.settings, post)


async def scheduled_note(post: Post) -> list[PermalinkNote]:
    """The note "Scheduled for ..." under a scheduled post's permalink.

    Only the owner can see such a page (`hearth.server.core.post_access`), so only the owner
    reads it; it links to the post's editor (`hearth.micropub.editor`), where the time is
    changed. The time is in UTC with its zone named, as the page's own time is written.
    """
    if not post.is_scheduled():
        return []
    when = post.published.astimezone(UTC)
    text = f"Scheduled for {when:%Y-%m-%d %H:%M} UTC: hidden from everyone else until then"
    return [PermalinkNote(text, f"/admin/posts/{post.id}/edit")]


HANDLERS: dict[str, Handler] = {ANNOUNCE_KIND: announce}

FEATURE = Feature("scheduling", job_handlers=HANDLERS, permalink_notes=scheduled_note)
