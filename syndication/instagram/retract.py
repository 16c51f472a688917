"""The citation comment follows its copy: taken back on delete, posted again on undelete.

When the own-site copy is deleted, its citation comment is deleted too: the owner of a media
may delete any comment on it, and a deletion answers `{"success": true}`
(https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment;
errors: https://developers.facebook.com/docs/graph-api/guides/error-handling).

`follow_deletion(settings, post)` runs on every stored change (the silo's post-change
listener, told by `hearth.server.core.events.post_changed`) and acts only on the copy of an
Instagram media that is meant to carry the citation comment (one is stored or being posted,
or a first-comment job was ever queued for it; history imports never comment, so they have
nothing to take back or restore):

* deleted: queue `instagram.delete_comment` `{media_id}`, keyed by media and deletion time, so
  a deleted post announced again (e.g. a caption edit from a poll) queues nothing more;
* live again after a retraction: queue `instagram.first_comment` with a key naming that
  retraction job. `schedule_first_comment`'s key (media, short code) is DONE already, so this
  is what makes an undelete comment again; later edits reuse the key and queue nothing.

The `instagram.delete_comment` job, exactly once in effect:

* It acts only while the copy is still deleted, checked again once it holds the claim on
  `comment_id` (the first comment's compare-and-set, `comments.take_claim`): a first comment
  being posted makes it retry later and vice versa, and an undelete either comes before the
  check (the comment stays) or after it (its first-comment job waits, then posts anew).
* It deletes the stored comment. A comment gone already (deleted in the app) is done: the
  Graph API refuses the DELETE with code 100, subcode 33 ("does not exist"; the fake answers
  another error), so a refused DELETE is checked against the media's comments, and only a
  comment still listed fails the job. Without a stored id (a first comment died before
  storing it) it lists the media's comments and deletes ours (`comments.is_ours`). A media
  deleted on Instagram (its comments listing answers 100/33) has nothing left to delete.
* Then `comment_id` and `comment_short_code` are cleared (if the claim is still ours); on any
  error, or when the copy was undeleted meanwhile, the claim is released.
* The account gate and error mapping are those of every Instagram job: a bad token stops it
  and marks the account, a rate limit pauses (`account.active_account`, `account.api_errors`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.models import Job, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account as accounts
from hearth.syndication.instagram import comments
from hearth.syndication.instagram.api_errors import (
    InstagramError,
    RateLimited,
    TemporaryError,
    TokenInvalid,
)
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.graph import Comment, with_replies
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia

log = logging.getLogger(__name__)

KIND = "instagram.delete_comment"


async def follow_deletion(settings: Settings, post: Post) -> Job | None:
    """Queue taking back or restoring the citation of `post` if it is an Instagram copy."""
    media = await InstagramMedia.get_or_none(post_id=post.id)
    if media is None:
        return None
    if post.deleted_at is not None:
        return await _schedule_retraction(media, post.deleted_at)
    return await _schedule_restore(settings, media, post)


def _key_prefix(kind: str, media: InstagramMedia) -> str:
    return f"{kind}:{media.media_id}:"


async def _schedule_retraction(media: InstagramMedia, deleted_at: datetime) -> Job | None:
    first_comment_queued = await Job.filter(
        kind=comments.KIND, idempotency_key__startswith=_key_prefix(comments.KIND, media)
    ).exists()
    if media.comment_id is None and not first_comment_queued:
        return None  # never meant to carry a citation: nothing to take back
    key = f"{_key_prefix(KIND, media)}{deleted_at.timestamp():.6f}"
    return await job_queue.enqueue(KIND, {"media_id": media.media_id}, key=key)


async def _schedule_restore(settings: Settings, media: InstagramMedia, post: Post) -> Job | None:
    retraction = (
        await Job.filter(kind=KIND, idempotency_key__startswith=_key_prefix(KIND, media))
        .order_by("-id")
        .first()
    )
    if retraction is None or not comments.enabled(settings):
        return None  # never deleted: an ordinary edit, the first comment is none of our business
    # Even if the retraction has not run yet: the first-comment job sees a live comment and
    # stops, or waits for the retraction's claim and then posts a new one.
    key = f"{_key_prefix(comments.KIND, media)}{post.short_code}:undelete:{retraction.id}"
    return await job_queue.enqueue(comments.KIND, {"media_id": media.media_id}, key=key)


async def _copy_deleted(media_id: str) -> bool:
    """The copy is deleted (or gone altogether: then the citation points at nothing)."""
    media = await InstagramMedia.get_or_none(media_id=media_id)
    post_id = media.post_id if media else None  # type: ignore[attr-defined]
    post = await Post.get_or_none(id=post_id) if post_id is not None else None
    return post is None or post.deleted_at is not None


async def _listed(client: InstagramClient, media: InstagramMedia) -> list[Comment]:
    """Every comment and reply on the media; none if the media is gone from Instagram."""
    try:
        top = await client.comments(media.media_id)
    except InstagramError as exc:
        if exc.missing:
            return []  # deleted in the app: its comments went with it
        raise
    return with_replies(top)


async def _delete(client: InstagramClient, media: InstagramMedia, comment_id: str) -> None:
    """Delete a comment; one that is not there any more counts as deleted."""
    try:
        await client.delete_comment(comment_id)
    except (TokenInvalid, RateLimited, TemporaryError):
        raise
    except InstagramError:
        # A refusal: if the comment is gone (the Graph API answers 100/33 "does not exist",
        # the fake another error), the deletion is done; the listing says which.
        if comment_id in {c.id for c in await _listed(client, media)}:
            raise
        log.info("instagram: comment %s was already deleted", comment_id)


async def _delete_ours(
    settings: Settings,
    account: InstagramAccount,
    client: InstagramClient,
    media: InstagramMedia,
    stored: str | None,
) -> None:
    """Delete the stored comment, or (none stored) every comment of ours on the media."""
    if stored is not None:
        await _delete(client, media, stored)
        return
    for c in await _listed(client, media):
        if comments.is_ours(settings, account, media, c):
            await _delete(client, media, c.id)


async def delete_comment(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `instagram.delete_comment` job (see the module docstring)."""
    media = await InstagramMedia.get_or_none(media_id=str(payload.get("media_id")))
    if media is None or not await _copy_deleted(media.media_id):
        return  # undeleted before we ran: the comment stays
    account, client = await comments.client_for(ctx)
    stored, claim = await comments.take_claim(ctx.settings, media)
    try:
        # Checked again under the claim: an undelete from here on waits for us, then re-posts.
        retract = await _copy_deleted(media.media_id)
        if retract:
            async with accounts.api_errors(account):
                await _delete_ours(ctx.settings, account, client, media, stored)
    except BaseException:
        # Release the claim, if it is still ours.
        await comments.swap_comment_id(media.media_id, claim, stored)
        raise
    if not retract:
        await comments.swap_comment_id(media.media_id, claim, stored)
        return
    # Only while the claim is ours: one that took it over meanwhile writes its own outcome.
    await InstagramMedia.filter(media_id=media.media_id, comment_id=claim).update(
        comment_id=None, comment_short_code=None
    )
    log.info("instagram: citation comment on media %s deleted", media.media_id)


HANDLERS: dict[str, Handler] = {KIND: delete_comment}
