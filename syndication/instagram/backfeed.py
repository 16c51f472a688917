"""Backfeed: Instagram comments and replies become responses on the own-site post.

Comments are read from the media's `comments` edge, their replies by field expansion
(https://developers.facebook.com/docs/instagram-platform/reference/instagram-media,
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment).
Likes can only be counted: Instagram lists no likers and sends no like webhook. Hearth's own
citation comment is never backfed. Comment webhooks may never arrive (Meta sends them only to
Live apps with Advanced Access, for public accounts:
https://developers.facebook.com/docs/instagram-platform/webhooks), so polling each media's
comments on a decaying schedule is the baseline; webhooks only make it faster.

Each comment is one `Interaction` (the table received webmentions use, so moderation and display
are shared): origin `instagram`, source and url `{permalink}#comment-{id}`, kind `reply`,
`external_id` the comment id, `parent` the response of the comment it replies to. Moderation
uses `hearth.server.webmention.moderation` with the domain `instagram.com/{username}`: under
`HEARTH_MODERATION=known` an Instagram user the owner approved once is shown at once next time;
a `DomainRule` for `instagram.com/{username}` or for all of `instagram.com` allows or blocks.

Jobs: `instagram.comment_changed` (from the webhook) stores the one comment it names, or polls
the media when it cannot (no text, parent not stored yet). `instagram.poll_comments`
`{media_id}` reads every comment (a full listing: rows missing from it become DELETED), stores
`like_count`, and queues itself for the next slot of `interval_for(age)`; in a media's first
day that is every `HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS` (default 10 minutes).
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from hearth.server.core import job_queue, page_changes
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.models import Approval, Interaction, InteractionState, Job, Post
from hearth.server.core.render import sanitize_html
from hearth.server.core.settings import Settings
from hearth.server.webmention import moderation
from hearth.syndication.instagram import account as accounts
from hearth.syndication.instagram.api_errors import InstagramError
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.comments import client_for, is_ours
from hearth.syndication.instagram.graph import with_replies
from hearth.syndication.instagram.silo_settings import instagram
from hearth.syndication.instagram.tables import CopyState, InstagramAccount, InstagramMedia

log = logging.getLogger(__name__)

COMMENT_CHANGED = "instagram.comment_changed"
POLL_COMMENTS = "instagram.poll_comments"
ORIGIN = "instagram"
# Decaying schedule: (age below, poll every). Older than the last row: no more polling.
SCHEDULE = (
    (timedelta(days=1), timedelta(minutes=10)),
    (timedelta(days=7), timedelta(hours=1)),
    (timedelta(days=30), timedelta(days=1)),
    (timedelta(days=365), timedelta(days=7)),
)
_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")


@dataclass(frozen=True)
class Incoming:
    """One comment as the poll (`graph.Comment`) or the webhook payload gives it."""

    id: str
    text: str
    username: str | None
    timestamp: datetime | None
    parent_id: str | None
    # Hidden by the owner in the Instagram app: kept hidden here (only a poll says so).
    hidden: bool = False


def interval_for(age: timedelta) -> timedelta | None:
    """How often to poll the comments of a media this old; None: not any more."""
    return next((every for limit, every in SCHEDULE if age < limit), None)


def _born(media: InstagramMedia) -> datetime:
    return media.timestamp or media.created_at


async def _schedule(settings: Settings, media: InstagramMedia, now: datetime) -> Job | None:
    """Queue the poll at the next slot boundary; the key is the slot, so repeats are no-ops."""
    every = interval_for(now - _born(media))
    if now - _born(media) < SCHEDULE[0][0]:
        every = timedelta(seconds=instagram(settings).comment_poll_seconds)
    if every is None or media.post_id is None:  # type: ignore[attr-defined]
        return None
    seconds = int(every.total_seconds())
    slot, run_at = job_queue.next_slot(now, seconds)
    key = f"{POLL_COMMENTS}:{media.media_id}:{seconds}:{slot}"
    return await job_queue.enqueue(
        POLL_COMMENTS, {"media_id": media.media_id}, key=key, run_at=run_at
    )


async def schedule_comment_polls(settings: Settings) -> int:
    """Make sure every recent copied media has its next comment poll queued; how many.

    Idempotent (slot keys): the poller may call it after every media poll. It also restarts a
    media's chain of polls that ended in a DEAD job, or stopped while its copy was deleted.
    """
    now = job_queue.utcnow()
    oldest = now - SCHEDULE[-1][0]
    recent = Q(timestamp__gte=oldest) | Q(timestamp__isnull=True, created_at__gte=oldest)
    count = 0
    live = InstagramMedia.filter(recent, post_id__isnull=False, post__deleted_at__isnull=True)
    for media in await live.exclude(copy_state=CopyState.GONE):
        count += await _schedule(settings, media, now) is not None
    return count


async def instagram_likes(post: Post) -> tuple[int, str] | None:
    """(like count, Instagram permalink) for "N likes on Instagram", or None."""
    media = await InstagramMedia.filter(post_id=post.id).first()
    if media is None or not media.like_count or not media.permalink:
        return None
    return media.like_count, media.permalink


def _source(media: InstagramMedia, comment_id: str) -> str:
    return f"{media.permalink}#comment-{comment_id}"


async def _store(
    settings: Settings, media: InstagramMedia, post: Post, c: Incoming
) -> Interaction | None:
    """Create or update the response for one comment; None if it cannot be threaded yet."""
    parent = None
    if c.parent_id:
        parent = await Interaction.get_or_none(
            origin=ORIGIN, post_id=post.id, external_id=c.parent_id
        )
        if parent is None and c.parent_id != media.comment_id:  # a reply to ours: top level
            return None
    source, target = _source(media, c.id), settings.absolute(post.path)
    digest = hashlib.sha256(f"{source}\n{target}".encode()).hexdigest()
    username = (c.username or "").lower()
    valid = bool(_USERNAME.match(username))
    values: dict[str, Any] = {
        "origin": ORIGIN, "source": source, "target": target, "post_id": post.id,
        "kind": "reply", "url": source, "external_id": c.id, "parent_id": parent and parent.id,
        "author_name": c.username, "domain": f"instagram.com/{username}",
        "author_url": f"https://www.instagram.com/{username}/" if valid else None,
        "content_text": c.text, "state": InteractionState.ACCEPTED, "reason": None,
        "content_html": str(sanitize_html(html.escape(c.text).replace("\n", "<br>\n"))),
        "verified_at": job_queue.utcnow(),
    }  # fmt: skip
    row = await Interaction.get_or_none(source_target_hash=digest)
    if row is None:
        values |= {"published": c.timestamp or job_queue.utcnow(), "status_token": _token()}
        row = Interaction(source_target_hash=digest, **values)
    else:
        values |= {"published": c.timestamp} if c.timestamp else {}
        row.update_from_dict(values)
    rules = {await moderation.domain_rule(d) for d in (row.domain, "instagram.com")}
    if moderation.BLOCK in rules:
        row.state, row.reason = InteractionState.REJECTED, moderation.BLOCKED_REASON
    rule = moderation.ALLOW if moderation.ALLOW in rules else None
    row.approval = await moderation.approval_for(row, settings.moderation, rule)
    if c.hidden:  # the owner hid it on Instagram: not shown here either
        row.approval = Approval.HIDDEN
    try:
        await row.save()
    except IntegrityError:  # a webhook and a poll stored the same new comment at once
        raise job_queue.Retry("stored concurrently; updating next time", retry_after=5) from None
    return row


def _token() -> str:
    return secrets.token_urlsafe(24)


async def _load(payload: dict[str, Any]) -> tuple[InstagramMedia, Post] | None:
    """The media and its copy; None when there is no copy or it is deleted.

    Like a received webmention for a deleted post, a comment on the Instagram copy of one is
    not stored (nor shown in the moderation queue); polling resumes if it is undeleted.
    """
    media = await InstagramMedia.get_or_none(media_id=str(payload.get("media_id")))
    post_id = media.post_id if media else None  # type: ignore[attr-defined]
    post = await Post.get_or_none(id=post_id) if post_id is not None else None
    if media is None or post is None or post.deleted_at is not None:
        return None
    if media.copy_state == CopyState.GONE:
        return None
    return media, post


async def _poll(
    ctx: JobContext,
    account: InstagramAccount,
    ig: InstagramClient,
    media: InstagramMedia,
    post: Post,
) -> None:
    """Read every comment of `media`, store them, mark the missing ones DELETED.

    A media deleted on Instagram (Graph error 100/33 for it) is marked GONE: its responses
    stay (they were said), and its comment polls stop.
    """
    try:
        found = await ig.media(media.media_id)
    except InstagramError as exc:
        if not exc.missing:
            raise
        media.copy_state = CopyState.GONE
        media.last_error = f"deleted on Instagram: {exc}"[:4000]
        await media.save(update_fields=["copy_state", "last_error", "updated_at"])
        return
    media.like_count = found.like_count
    page_changes.changed(post.id)  # the permalink shows the like count
    media.permalink = found.permalink or media.permalink
    seen: set[str] = set()
    for c in with_replies(await ig.comments(media.media_id)):
        seen.add(c.id)
        if is_ours(ctx.settings, account, media, c):
            continue
        incoming = Incoming(c.id, c.text, c.username, c.timestamp, c.parent_id, c.hidden)
        await _store(ctx.settings, media, post, incoming)
    gone = Interaction.filter(origin=ORIGIN, post_id=post.id, state=InteractionState.ACCEPTED)
    await gone.exclude(external_id__in=seen).update(
        state=InteractionState.DELETED, content_html=None, content_text=None, mf2=None
    )
    media.comments_polled_at = job_queue.utcnow()
    await media.save(update_fields=["like_count", "permalink", "comments_polled_at"])
    await moderation.regroup(post.id)


async def poll_comments(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `instagram.poll_comments` job: poll now, then queue the next slot."""
    loaded = await _load(payload)
    if loaded is None:
        return
    media, post = loaded
    account, ig = await client_for(ctx)
    async with accounts.api_errors(account):
        await _poll(ctx, account, ig, media, post)
    await _schedule(ctx.settings, media, job_queue.utcnow())


async def comment_changed(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `instagram.comment_changed` job, queued by the webhook."""
    loaded = await _load(payload)
    if loaded is None:
        return
    media, post = loaded
    account, ig = await client_for(ctx)
    author = payload.get("from") if isinstance(payload.get("from"), dict) else {}
    incoming = Incoming(
        id=str(payload.get("comment_id")),
        text=payload.get("text") or "",
        username=(author or {}).get("username"),
        timestamp=None,
        parent_id=payload.get("parent_id"),
    )
    if is_ours(ctx.settings, account, media, incoming):
        return
    stored = None
    if payload.get("text") is not None and incoming.username and media.permalink:
        stored = await _store(ctx.settings, media, post, incoming)
    if stored is None:  # too little to go on, or the parent is not stored yet: read them all
        async with accounts.api_errors(account):
            await _poll(ctx, account, ig, media, post)
        return
    await moderation.regroup(post.id)


# Every Instagram comment job, the first comment's too: one entry in `hearth.wiring`.
HANDLERS: dict[str, Handler] = {COMMENT_CHANGED: comment_changed, POLL_COMMENTS: poll_comments}
