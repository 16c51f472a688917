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
  to `posting:<unix time>:<nonce>` (the nonce makes each claim its own fencing token), and
  `comment_holder` records the process holding it (`job_queue.ProcessId`). It is renewed
  (compare-and-set again) right before the POST, as `posting:<unix time>:<nonce>:sent`, so a
  worker whose claim was taken over meanwhile stops instead of posting a second comment, and
  the marker tells whether the POST may have gone out.
* A second worker finds the claim taken and retries once it may take it over (`claim_wait`):
  when the claim is older than the job lease (`HEARTH_JOB_LEASE_SECONDS`), or at once when its
  holder is provably gone (`job_queue.holder_gone`: same host, its pid free, a zombie or
  another process's; `kill -9`, the OOM killer), logged as a warning. A holder that died
  after sending its POST may still have its comment land, so that claim waits until the POST
  could have been answered (`post_settle_seconds`: as long as a living worker waits for
  Instagram's answer, 20 s by default) and then lists the comments like any run. A living
  holder however slow, one on another host, and a claim stored before holders were recorded
  keep the lease rule: never a second comment while the first may still be posted.
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
import secrets
import time
from dataclasses import dataclass
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
# The last part of a claim renewed right before the POST: the comment may be on Instagram.
SENT = "sent"
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


@dataclass(frozen=True)
class Claim:
    """What a `posting:` marker in `comment_id` says: when it was taken or last renewed,
    and whether its holder may have sent the comment's POST since."""

    taken_at: float
    sent: bool


def parse_claim(marker: str | None) -> Claim | None:
    """The claim in a `comment_id`, or None for a comment id (or no value).

    Also reads `posting:<time>`, the form stored before claims had a nonce.
    """
    if not marker or not marker.startswith(CLAIM_PREFIX):
        return None
    parts = marker.removeprefix(CLAIM_PREFIX).split(":")
    try:
        taken_at = float(parts[0] or 0)
    except ValueError:
        taken_at = 0.0  # unreadable: as old as can be, so the lease has run out
    return Claim(taken_at, len(parts) > 1 and parts[-1] == SENT)


def new_claim(*, sent: bool = False) -> str:
    """A fresh marker: never equal to another claim's, even within the same second."""
    marker = f"{CLAIM_PREFIX}{time.time():.0f}:{secrets.token_hex(4)}"
    return f"{marker}:{SENT}" if sent else marker


def post_settle_seconds(settings: Settings) -> float:
    """How long after its POST began a dead holder's comment may still land on Instagram.

    The POST's connect and read timeouts (`Settings.http_timeout` each): as long as a living
    worker would wait for the answer before giving up on it.
    """
    return 2 * settings.http_timeout


def claim_wait(
    settings: Settings, marker: str, *, holder_gone: bool, now: float | None = None
) -> float:
    """Seconds until the claim `marker` may be taken over; 0: now. `holder_gone`: its
    holder is provably gone (`job_queue.holder_gone`)."""
    claim = parse_claim(marker)
    if claim is None:
        return 0.0
    now = time.time() if now is None else now
    lease_left = claim.taken_at + settings.job_lease_seconds - now
    if lease_left <= 0:
        return 0.0
    if not holder_gone:
        return lease_left  # alive however slow, elsewhere, or unknown: the lease stands
    if not claim.sent:
        return 0.0  # gone before its POST: nothing of it can reach Instagram any more
    # Gone after its POST began: wait until it could have been answered, then list the
    # comments (and adopt the one it posted, if it landed).
    return max(min(lease_left, claim.taken_at + post_settle_seconds(settings) - now), 0.0)


async def swap_comment_id(
    media_id: str, current: str | None, new: str | None, *, holder: str | None = None
) -> bool:
    """Compare-and-set `comment_id` from `current` to `new`; False if it changed meanwhile.

    `holder` is the process holding `new` when it is a claim (`job_queue.ProcessId`); the
    holder is cleared otherwise.
    """
    rows = InstagramMedia.filter(media_id=media_id)
    rows = rows.filter(comment_id=current) if current else rows.filter(comment_id__isnull=True)
    return bool(await rows.update(comment_id=new, comment_holder=holder))


async def take_claim(settings: Settings, media: InstagramMedia) -> tuple[str | None, str]:
    """Take the claim: (the comment id it replaces, the claim), or raise Retry if it is held.

    `media` is the row as read just before: its `comment_id` and `comment_holder` are judged
    together, and the compare-and-set on that `comment_id` fails if either changed since.
    """
    current, holder = media.comment_id, media.comment_holder
    held = current is not None and current.startswith(CLAIM_PREFIX)
    gone = held and job_queue.holder_gone(holder)
    if held and (left := claim_wait(settings, str(current), holder_gone=gone)) > 0:
        raise _busy(left)
    claim = new_claim()
    if not await swap_comment_id(
        media.media_id, current, claim, holder=str(job_queue.this_process())
    ):
        raise _busy(BUSY_RETRY_SECONDS)  # taken just now: look again soon, then wait its rest
    if gone:  # a warning, like the job queue's taking back: the trace of a crash
        log.warning(
            "instagram: media %s: the comment claim's holder %s is gone; taken over",
            media.media_id,
            holder,
        )
    return (None if held else current), claim


async def _renew(media_id: str, claim: str) -> str:
    """Restart the claim's lease and mark it sent, right before the POST; raise Retry if
    another worker took the claim over."""
    renewed = new_claim(sent=True)
    if not await swap_comment_id(media_id, claim, renewed, holder=str(job_queue.this_process())):
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
        comment_id=comment_id, comment_short_code=post.short_code, comment_holder=None
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
