"""The first comment: the permashortcitation of the own-site copy, posted on the Instagram media.

The caption cannot be edited through the API (the only update IG Media takes is
`comment_enabled`:
https://developers.facebook.com/docs/instagram-platform/reference/instagram-media), so the
old trick of re-adding the caption with the permalink
(https://github.com/aaronpk/p3k/issues/29) is out. Instead Hearth comments, as the owner,
text ending with the permashortcitation of the copy (https://indieweb.org/permashortcitation),
e.g. `Also on my website (example.com s/p5my1)`: the citation must be the very last thing, as
granary's original-post-discovery regex (https://github.com/snarfed/granary) anchors it with
`$`. Creating and deleting comments: the media's `comments` edge and
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment.

Job `instagram.first_comment` `{media_id}`, queued by `schedule_first_comment` with the key
(media id, short code). Exactly once per media across retries, restarts and workers:

* `InstagramMedia.comment_id` is claimed with a compare-and-set before any Graph API write, set
  to `posting:<unix time>`; a second worker finds it taken and retries once it would expire.
  The claim lasts the worker's job lease (`HEARTH_JOB_LEASE_SECONDS`), so a worker killed
  mid-post holds the comment up exactly as long as the queue holds up its job; then the claim
  may be taken over. It is renewed (compare-and-set again) right before the POST, so a worker
  whose claim was taken over meanwhile stops instead of posting a second comment.
* Before posting, the media's comments are listed; a comment of ours that already cites
  the current short code (the stored id, or by the account's username) is adopted, not posted
  again. Ours citing another code (the short link changed), and extra copies, are deleted. So
  a worker that died after its POST but before saving the id leaves no duplicate: the next
  run finds that comment and adopts it.
* The new comment's id and the short code it cites are saved right after the POST.

Settings (`silo_settings`): `first_comment` (env `HEARTH_INSTAGRAM_FIRST_COMMENT`, default
on) and `comment_template` (env `HEARTH_INSTAGRAM_COMMENT_TEMPLATE`, default
`DEFAULT_TEMPLATE`; `{citation}` is replaced). `take_claim` and `swap_comment_id` are also how
`hearth.syndication.instagram.retract` takes the comment back without racing this job.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.models import Job, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account as accounts
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.graph import with_replies
from hearth.syndication.instagram.silo_settings import instagram
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia

log = logging.getLogger(__name__)

KIND = "instagram.first_comment"
DEFAULT_TEMPLATE = "Also on my website {citation}"
CLAIM_PREFIX = "posting:"
# The shortest wait before a second worker looks again at a claim another one holds.
BUSY_RETRY_SECONDS = 1.0


def enabled(settings: Settings) -> bool:
    return instagram(settings).first_comment


def site_host(settings: Settings) -> str:
    """The citation's domain part: the site's host plus its path, if Hearth runs under one."""
    parts = urlsplit(settings.url)
    return (parts.netloc.rpartition("@")[2] + parts.path.rstrip("/")).lower()


def citation(settings: Settings, short_code: str) -> str:
    """The permashortcitation `(example.com s/XXXX)` of a short code."""
    return f"({site_host(settings)} s/{short_code})"


def comment_text(settings: Settings, short_code: str) -> str:
    template = instagram(settings).comment_template or DEFAULT_TEMPLATE
    cite = citation(settings, short_code)
    text = template.replace("{citation}", cite).rstrip()
    return text if text.endswith(cite) else f"{text} {cite}".lstrip()


def cited_code(settings: Settings, text: str) -> str | None:
    """The short code a text ending with one of our citations cites, else None."""
    pattern = rf"\({re.escape(site_host(settings))} s/([^\s)]+)\)\s*$"
    match = re.search(pattern, text, flags=re.IGNORECASE)
    return match.group(1) if match else None


def is_ours(settings: Settings, account: InstagramAccount, media: InstagramMedia, c: Any) -> bool:
    """Hearth's own citation comment: never backfed."""
    if media.comment_id is not None and c.id == media.comment_id:
        return True
    author = (getattr(c, "username", None) or "").lower()
    return author == account.username.lower() and cited_code(settings, c.text or "") is not None


async def schedule_first_comment(
    settings: Settings, media: InstagramMedia, *, run_at: datetime | None = None
) -> Job | None:
    """Queue the first comment for `media` once its copy exists (the poller calls this).

    Idempotent: keyed by (media id, short code), so calling it on every poll is fine, and a
    changed short code queues a job that replaces the old comment. None when the setting is
    off, the media has no post, or the comment already cites the current code. `run_at`
    delays it (spreading many comments out).
    """
    post_id = media.post_id  # type: ignore[attr-defined]
    post = await Post.get_or_none(id=post_id) if post_id is not None else None
    if not enabled(settings) or post is None:
        return None
    if media.comment_short_code == post.short_code and media.comment_id is not None:
        return None
    key = f"{KIND}:{media.media_id}:{post.short_code}"
    return await job_queue.enqueue(KIND, {"media_id": media.media_id}, key=key, run_at=run_at)


async def client_for(ctx: JobContext) -> tuple[InstagramAccount, InstagramClient]:
    """The connected account and a client with its token.

    The same gate as polling (`account.active_account`): waits out a rate-limit pause and
    stops while the token is expired or revoked.
    """
    account = await accounts.active_account()
    if account is None:
        raise job_queue.PermanentFailure("no Instagram account is connected")
    if ctx.http is None:
        raise job_queue.PermanentFailure("the worker has no HTTP client")
    return account, accounts.client_for(ctx.settings, ctx.http, account)


def _busy(retry_after: float) -> job_queue.Retry:
    return job_queue.Retry(
        "another worker is posting this comment", retry_after=max(retry_after, BUSY_RETRY_SECONDS)
    )


async def swap_comment_id(media_id: str, current: str | None, new: str | None) -> bool:
    """Compare-and-set `comment_id` from `current` to `new`; False if it changed meanwhile."""
    rows = InstagramMedia.filter(media_id=media_id)
    rows = rows.filter(comment_id=current) if current else rows.filter(comment_id__isnull=True)
    return bool(await rows.update(comment_id=new))


async def take_claim(settings: Settings, media: InstagramMedia) -> tuple[str | None, str]:
    """Take the claim: (the comment id it replaces, the claim), or raise Retry if it is held."""
    current = media.comment_id
    lease = float(settings.job_lease_seconds)
    if current and current.startswith(CLAIM_PREFIX):
        left = float(current.removeprefix(CLAIM_PREFIX) or 0) + lease - time.time()
        if left > 0:
            raise _busy(left)
    claim = f"{CLAIM_PREFIX}{time.time():.0f}"
    if not await swap_comment_id(media.media_id, current, claim):
        raise _busy(BUSY_RETRY_SECONDS)  # taken just now: look again soon, then wait its rest
    previous = None if current is None or current.startswith(CLAIM_PREFIX) else current
    return previous, claim


async def _renew(media_id: str, claim: str) -> str:
    """Restart the claim's lease; raise Retry if another worker took the claim over."""
    renewed = f"{CLAIM_PREFIX}{time.time():.0f}"
    if not await swap_comment_id(media_id, claim, renewed):
        raise job_queue.Retry("the claim on this comment was taken over by another worker")
    return renewed


async def _adopt(
    ctx: JobContext,
    account: InstagramAccount,
    client: InstagramClient,
    media: InstagramMedia,
    short_code: str,
    previous: str | None,
) -> str | None:
    """The id of our listed comment citing `short_code`, if any; our other ones are deleted."""
    keep: str | None = None
    for c in with_replies(await client.comments(media.media_id)):
        mine = c.id == previous or (
            (c.username or "").lower() == account.username.lower()
            and cited_code(ctx.settings, c.text) is not None
        )
        if not mine:
            continue
        if keep is None and cited_code(ctx.settings, c.text) == short_code:
            keep = c.id
        else:
            await client.delete_comment(c.id)
    return keep


async def first_comment(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `instagram.first_comment` job (see the module docstring)."""
    media = await InstagramMedia.get_or_none(media_id=str(payload.get("media_id")))
    post = await Post.get_or_none(id=media.post_id) if media else None  # type: ignore[attr-defined]
    if media is None or post is None or not enabled(ctx.settings):
        return
    if post.deleted_at is not None:
        return  # no citation of a deleted copy; its undelete queues this job anew (retract.py)
    done = media.comment_id and not media.comment_id.startswith(CLAIM_PREFIX)
    if done and media.comment_short_code == post.short_code:
        return
    account, client = await client_for(ctx)
    previous, claim = await take_claim(ctx.settings, media)
    try:
        # api_errors: a bad token or a rate limit also marks the account, as for polling.
        async with accounts.api_errors(account):
            comment_id = await _adopt(ctx, account, client, media, post.short_code, previous)
            if comment_id is None:
                claim = await _renew(media.media_id, claim)
                text = comment_text(ctx.settings, post.short_code)
                comment_id = await client.create_comment(media.media_id, text)
    except BaseException:
        # Release the claim if it is still ours. The old comment may be gone already; the next
        # run lists again.
        await swap_comment_id(media.media_id, claim, previous)
        raise
    stored = await InstagramMedia.filter(media_id=media.media_id, comment_id=claim).update(
        comment_id=comment_id, comment_short_code=post.short_code
    )
    if not stored:
        await _claim_lost_after_posting(account, client, media, comment_id)
        return
    log.info("instagram: first comment %s on media %s", comment_id, media.media_id)


async def _claim_lost_after_posting(
    account: InstagramAccount, client: InstagramClient, media: InstagramMedia, comment_id: str
) -> None:
    """Instagram answered after our claim ran out, and another job took it over meanwhile.

    That job could not see the comment we were posting. If it took the copy's citation back
    (the copy was deleted), ours must go too; otherwise the next run finds and adopts it.
    """
    post = await Post.get_or_none(instagram_media__media_id=media.media_id)
    if post is not None and post.deleted_at is None:
        raise job_queue.Retry("the claim ran out while posting; the next run adopts the comment")
    async with accounts.api_errors(account):
        await client.delete_comment(comment_id)
    log.info("instagram: comment %s posted after its copy was deleted: deleted", comment_id)


HANDLERS: dict[str, Handler] = {KIND: first_comment}
